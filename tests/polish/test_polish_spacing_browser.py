"""
Spacing a person sees: the grantee's "Decline the grant" button apart from "Confirm" and from what follows at 360 px;
a mail template's title keeps its place on the settings page when the template has an error.
"""

import pytest

from ..browser import log_in, needs_chromium

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
def test_the_answer_buttons_keep_apart_at_360_px(browser_page, site, approved_grant):
    page, errors, shoot = browser_page
    page.goto(f'{site}/pyconf/2027/grant/{approved_grant.secret}/')
    confirm = page.get_by_role('button', name='Confirm: I accept the grant').bounding_box()
    decline = page.get_by_role('button', name='Decline the grant').bounding_box()
    assert decline['y'] - (confirm['y'] + confirm['height']) >= 10
    # nothing of the page starts within 20 px under the last button
    below = page.evaluate('''(bottom) => Math.min(...[...document.body.querySelectorAll('*')].map(e => {
        const r = e.getBoundingClientRect();
        return r.height > 0 && r.top >= bottom - 1 ? r.top - bottom : Infinity;
    }))''', decline['y'] + decline['height'])
    assert below >= 20
    shoot('answer-buttons')
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_mail_template_title_stays_put_when_it_has_an_error(
        desktop_page, site, admin_team, user, event, grant_settings):
    page, errors, shoot = desktop_page
    log_in(page, site)
    page.goto(f'{site}/control/event/pyconf/2027/grants/settings/')
    page.get_by_role('tab', name='Email templates').click()
    first = page.locator('.grants-mail-template').first
    first.locator('.panel-title a').click()
    first.locator('input[name$="_subject_0"]').fill('Your grant {event')
    page.locator('form button[type="submit"].btn-save, form button[type="submit"].btn-primary').last.click()
    page.wait_for_selector('.grants-mail-template .text-danger')
    assert 'has errors' in first.locator('.panel-title').inner_text()

    starts = page.evaluate('''() => [...document.querySelectorAll('.grants-mail-template .panel-title strong')].map(
        t => Math.round(t.getBoundingClientRect().left))''')
    shoot('template-with-error')
    assert len(starts) > 2 and len(set(starts)) == 1, starts
    # every template has a title in words, none shows its key
    titles = page.locator('.grants-mail-template .panel-title strong').all_inner_texts()
    assert 'Own ticket: refunded' in titles and not [t for t in titles if '_' in t]
    assert errors == []
