"""
The organizer's day in a real browser: log in, open Grants, run every bulk action through pretix's own
async-task dialog to its result page, import a CSV, change the settings and preview a mail, review blind, and
use every button of a grant's page.

Debian's chromium with Playwright against pytest-django's live server, pretix's JavaScript running, 1280 px wide
(tests/browser.py). Each test fails on a console error, a page error or any request answered 4xx/5xx; every step
leaves a screenshot in the test's tmp_path (and in $GRANTS_SCREENSHOTS if set).
"""
import io
import re
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect
from pretix.base.models import Event, Voucher

from pretix_grants import reviews
from pretix_grants.models import Grant, Review
from pretix_grants.permissions import REVIEW, VIEW

from ..browser import log_in, needs_chromium, scroll_width

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def control(site, admin_team, user, event, grant_settings):
    """The live server's address, with pretix's styles compiled as in production and mails linking to it."""
    return site


def open_grants(page, base, event):
    page.goto(f'{base}/control/event/{event.organizer.slug}/{event.slug}/')
    page.wait_for_load_state('networkidle')
    page.locator('#side-menu a', has_text='Grants').first.click()
    page.wait_for_url(re.compile(r'/grants/$'))
    expect(page.get_by_role('heading', name=re.compile('^Grants'))).to_be_visible()


def fits_1280(page):
    width, viewport = scroll_width(page)
    assert (width, viewport) == (1280, 1280), f'the page is {width} px wide in a {viewport} px window'


def row(page, grant):
    return page.locator('table.grants-list tbody tr', has=page.locator(f'input[name="grant"][value="{grant.pk}"]'))


def run_bulk(page, shoot, name, grants, operation, decision=None, expect_counts=None):
    """Select ``grants`` on the list, choose ``operation`` and run it through pretix's progress dialog."""
    for g in grants:
        row(page, g).locator('input[name="grant"]').check()
    page.locator('.grants-bulk select[name="operation"]').select_option(operation)
    if decision:
        page.locator('.grants-bulk select[name="decision"]').select_option(decision)
    page.get_by_role('button', name='Run', exact=True).click()
    # pretix's async-task script posts the form to its action URL and follows the task to its result page
    page.wait_for_url(re.compile(r'/grants/bulk/[0-9a-f-]{36}/$'))
    expect(page.get_by_role('heading', name=re.compile('^Bulk action'))).to_be_visible()
    if expect_counts:
        expect(page.locator('.grants-bulk-counts')).to_contain_text(expect_counts)
    shoot(f'bulk-{name}')
    page.get_by_role('link', name='Back to the grants').click()
    page.wait_for_url(re.compile(r'/grants/$'))


def test_organizer_runs_every_bulk_action_through_pretixs_dialog(desktop_page, control, event, make_grant, item):
    page, errors, shoot = desktop_page
    with scopes_disabled():
        ada = make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org')
        grace = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
        kath = make_grant(Grant.STATUS_PENDING, name='Katherine Johnson', email='katherine@example.org',
                          travel_amount=Decimal('0.00'), requested_travel=Decimal('470.50'),
                          requested_accommodation=Decimal('120.00'))
        linus = make_grant(Grant.STATUS_PENDING, name='Linus Meyer', email='linus@example.org')
        frances = make_grant(Grant.STATUS_APPROVED, name='Frances Allen', email='frances@example.org')

    log_in(page, control)
    open_grants(page, control, event)
    expect(page.locator('.grants-status-confirmed')).to_have_text('Confirmed')
    fits_1280(page)
    shoot('list')

    run_bulk(page, shoot, 'stage', [ada], 'stage', 'approved', '1 done')
    run_bulk(page, shoot, 'publish', [ada], 'publish', expect_counts='1 done')
    run_bulk(page, shoot, 'remind', [ada], 'remind', expect_counts='1 done')
    run_bulk(page, shoot, 'issue', [grace], 'issue', expect_counts='1 done')
    run_bulk(page, shoot, 'resend', [grace], 'resend', expect_counts='1 done')
    run_bulk(page, shoot, 'approve-requested', [kath], 'approve_requested', expect_counts='1 done')
    run_bulk(page, shoot, 'cancel', [frances], 'cancel', expect_counts='1 done')
    # "the rest": every grant the filter shows that is not selected; only Linus is still open
    run_bulk(page, shoot, 'waitlist-rest', [kath], 'waitlist_rest', expect_counts='1 done')

    with scopes_disabled():
        for g in (ada, grace, kath, linus, frances):
            g.refresh_from_db()
        assert (ada.status, ada.decision) == (Grant.STATUS_APPROVED, None)
        assert grace.voucher and Voucher.objects.filter(event=event).count() == 1
        # approve as requested: the granted amounts are what Katherine asked for
        assert (kath.decision, kath.travel_amount, kath.accommodation_amount) == (
            Grant.STATUS_APPROVED, Decimal('470.50'), Decimal('120.00'))
        assert linus.decision == Grant.STATUS_WAITING_LIST
        assert frances.status == Grant.STATUS_CANCELLED
    subjects = [m.subject for m in djmail.outbox]
    assert subjects.count('Your grant for PyConf 2027: please confirm') == 1
    assert subjects.count('Reminder: please reply to your grant offer for PyConf 2027') == 1
    assert subjects.count('Your free ticket for PyConf 2027') == 2  # issued and sent again
    expect(row(page, kath)).to_contain_text('€590.50')
    shoot('list-after')
    # search, filter and sort
    page.get_by_placeholder('Search name or email').fill('katherine')
    page.get_by_role('button', name='Filter').click()
    expect(page.locator('table.grants-list tbody tr')).to_have_count(1)
    page.locator('.grants-filter select[name="status"]').select_option('')
    page.get_by_placeholder('Search name or email').fill('')
    page.get_by_role('button', name='Filter').click()
    expect(page.locator('table.grants-list tbody tr')).to_have_count(5)
    page.get_by_title('Sort descending').nth(3).click()  # by the requested amounts, largest first
    expect(page.locator('table.grants-list tbody tr').first).to_contain_text('Katherine Johnson')
    # a smaller screen: still no horizontal scroll
    page.set_viewport_size({'width': 1024, 'height': 800})
    width, viewport = scroll_width(page)
    assert width == viewport == 1024, f'the list is {width} px wide in a 1024 px window'
    shoot('list-1024')
    assert errors == []


def test_organizer_imports_a_csv_of_applications(desktop_page, control, event, tmp_path):
    page, errors, shoot = desktop_page
    csv = tmp_path / 'applications.csv'
    csv.write_text('Full name,Email,Language,Type,Travel,Hotel,Ticket,Motivation\n'
                   'Ada Lovelace,ada@example.org,English,Application,470.50,120,yes,First program\n'
                   'Jonas Becker,jonas@example.org,de,Speaker support,80,0,no,\n'
                   'Broken,not-an-address,en,,10,0,yes,\n')
    log_in(page, control)
    open_grants(page, control, event)
    page.locator('h1 a', has_text='Import').click()
    page.locator('input[type="file"]').set_input_files(str(csv))
    shoot('upload')
    page.locator('form button[type="submit"]').last.click()
    expect(page.get_by_role('heading', name='Import applications')).to_be_visible()
    # the amounts of an application export are what was asked for
    expect(page.locator('select[name="col_requested_travel"]')).to_have_value('Travel')
    expect(page.locator('select[name="col_travel_amount"]')).to_have_value('')
    page.get_by_role('button', name='Preview').click()
    expect(page.locator('.grants-import-summary')).to_contain_text('2 rows will be imported')
    expect(page.locator('tr[data-line="2"] .grants-import-requested')).to_contain_text('€470.50')
    expect(page.locator('tr[data-line="2"] .grants-import-granted')).to_contain_text('€0.00')
    expect(page.locator('tr[data-line="3"]')).to_contain_text('Speaker support')
    fits_1280(page)
    shoot('preview')
    page.get_by_role('button', name='Import 2 applications').click()
    page.wait_for_url(re.compile(r'/grants/$'))
    expect(page.locator('.alert-success')).to_contain_text('2 grants have been imported, 1 rows were skipped.')
    shoot('imported')

    with scopes_disabled():
        ada = Grant.objects.get(event=event, email='ada@example.org')
        jonas = Grant.objects.get(event=event, email='jonas@example.org')
    assert (ada.requested_travel, ada.requested_accommodation, ada.requested_ticket, ada.motivation) == (
        Decimal('470.50'), Decimal('120.00'), True, 'First program')
    assert (ada.travel_amount, ada.accommodation_amount) == (Decimal('0.00'), Decimal('0.00'))
    assert (ada.grant_type, jonas.grant_type) == (Grant.TYPE_APPLICATION, Grant.TYPE_SPEAKER)
    assert (jonas.locale, jonas.requested_travel, jonas.requested_ticket) == ('de', Decimal('80.00'), False)
    assert errors == []


def test_organizer_changes_settings_and_previews_a_mail(desktop_page, control, event):
    page, errors, shoot = desktop_page
    log_in(page, control)
    open_grants(page, control, event)
    page.locator('h1 a', has_text='Settings').click()
    expect(page.get_by_role('heading', name='Grant settings')).to_be_visible()
    page.wait_for_load_state('networkidle')  # pretix's scripts bind the tabs and panels once loaded
    fits_1280(page)
    shoot('settings')

    page.get_by_role('tab', name='Deadlines and reminders').click()
    page.get_by_label('Days to reply').fill('10')
    page.get_by_role('tab', name='Applications').click()
    panel = page.locator('.grants-question').last
    panel.locator('input[name="questions-0-question_0"]').fill('Is this your first conference?')
    panel.locator('select[name="questions-0-type"]').select_option('boolean')
    shoot('question')
    page.get_by_role('tab', name='Email templates').click()
    page.locator('a[href="#template-voucher-body"]').click()
    subject = page.locator('input[name="grants_mail_voucher_subject_0"]')
    expect(subject).to_be_visible()
    expect(page.locator('#template-voucher-body label', has_text='Subject')).to_be_visible()
    subject.fill('Your ticket for {event}, {name}')
    fits_1280(page)
    shoot('template')
    page.get_by_role('button', name='Save').click()
    expect(page.locator('.alert-success')).to_contain_text('Your changes have been saved.')
    page.wait_for_load_state('networkidle')  # the page came again: its tabs and panels work once its scripts ran
    with scopes_disabled():
        event.settings.flush()
        assert event.settings.grants_reply_days == 10
        assert event.settings.grants_application_questions == [
            {'id': 'is_this_your_first_conference', 'type': 'boolean',
             'question': {'en': 'Is this your first conference?'}, 'required': False}]

    page.get_by_role('tab', name='Email templates').click()
    page.locator('a[href="#template-voucher-body"]').click()
    # the panel fully open (Bootstrap's collapse has ended), so the click lands on the link, not mid-animation
    expect(page.locator('#template-voucher-body')).to_have_class(re.compile(r'(^|\s)in(\s|$)'))
    with page.context.expect_page() as opened:
        page.locator('#template-voucher-body a.grants-preview-link', has_text='English').click()
    preview = opened.value
    preview.wait_for_load_state()
    expect(preview.locator('.grants-mail-subject')).to_have_text('Your ticket for PyConf 2027, Jane Doe')
    expect(preview.locator('.grants-mail-preview')).to_contain_text('GRANT7QK2M9XR')
    preview.screenshot(path=str(shoot.folder / 'preview.png'), full_page=True)
    assert errors == []


def test_a_reviewer_scores_blind_and_moves_on_to_the_next(desktop_page, control, event, make_grant, user,
                                                          team_member):
    page, errors, shoot = desktop_page
    with scopes_disabled():
        other = team_member({VIEW: True, REVIEW: True}, 'other@example.org')
        first = make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', motivation='I teach programming.',
                           requested_travel=Decimal('300.00'))
        second = make_grant(Grant.STATUS_PENDING, name='Alan Turing', motivation='I break codes.')
    with scope(organizer=event.organizer):  # the other reviewer's review page
        reviews.score(first, other, 2, 'Asked for too much')
    log_in(page, control)
    open_grants(page, control, event)
    # the applications with the fewest reviews first: Alan's, then Ada's
    page.locator('#next-unreviewed').first.click()
    expect(page.get_by_role('heading', name='Review: Alan Turing')).to_be_visible()
    fits_1280(page)
    shoot('alan')
    page.get_by_label('3').check()
    page.get_by_role('button', name='Save and review the next').click()
    expect(page.locator('.alert-success')).to_contain_text('Your score has been saved.')
    expect(page.get_by_role('heading', name='Review: Ada Lovelace')).to_be_visible()
    # blind: the other reviewer's score and note stay hidden until this one has scored
    expect(page.get_by_text('Asked for too much')).to_have_count(0)
    shoot('blind')
    page.get_by_label('4').check()
    page.get_by_label('Note').fill('Good community work.')
    page.get_by_role('button', name='Save', exact=True).click()
    expect(page.locator('.alert-success')).to_contain_text('Your score has been saved.')
    expect(page.get_by_text('Asked for too much')).to_be_visible()
    shoot('scored')
    page.locator('#next-unreviewed').first.click()
    expect(page.locator('.alert-info')).to_contain_text('You have scored every pending application')
    shoot('all-scored')
    with scopes_disabled():
        assert dict(Review.objects.filter(user=user).values_list('grant_id', 'score')) == {first.pk: 4, second.pk: 3}
    assert errors == []


def detail(page, base, grant):
    page.goto(f'{base}/control/event/{grant.event.organizer.slug}/{grant.event.slug}/grants/{grant.pk}/')
    expect(page.get_by_role('heading', name=re.compile(re.escape(grant.name)))).to_be_visible()


def saved(page):
    expect(page.locator('.alert-success')).to_contain_text('Your changes have been saved.')


def test_every_button_on_a_grants_page(desktop_page, control, event, make_grant, item):
    page, errors, shoot = desktop_page
    with scopes_disabled():
        ada = make_grant(Grant.STATUS_PENDING, name='Ada Lovelace', email='ada@example.org', locale='de')
        cospeaker = event.vouchers.create(code='COSPEAKER25', item=item, price_mode='percent',
                                          value=Decimal('25.00'), max_usages=1)
        cospeaker.log_action('pretix.voucher.sent', data={'recipient': 'ada@example.org', 'subject': 'x',
                                                          'message': 'x'})
        grace = make_grant(Grant.STATUS_APPROVED, name='Grace Hopper', email='grace@example.org')
        alan = make_grant(Grant.STATUS_APPROVED, name='Alan Turing', email='alan@example.org')
        linus = make_grant(Grant.STATUS_PENDING, name='Linus Meyer', email='linus@example.org')
        own = event.vouchers.create(code='LINUSFREE', item=item, price_mode='set', value=Decimal('0.00'))
    log_in(page, control)

    # a grant added by hand
    open_grants(page, control, event)
    page.locator('h1 a', has_text='Add a grant').click()
    page.get_by_label('Name').fill('Barbara Liskov')
    page.get_by_role('textbox', name='Email').fill('barbara@example.org')
    page.get_by_role('button', name='Save').click()
    expect(page.locator('.alert-success')).to_contain_text('The grant has been created.')
    expect(page.get_by_role('heading', name=re.compile('Barbara Liskov'))).to_be_visible()
    shoot('added')

    detail(page, control, ada)
    expect(page.locator('dd', has_text='German')).to_be_visible()
    page.locator('select[name="decision"]').select_option('approved')
    page.get_by_role('button', name='Stage decision').click()
    saved(page)
    page.get_by_role('button', name='Publish decision and email it').click()
    saved(page)
    page.get_by_role('button', name='Send a reminder').click()
    saved(page)
    # confirming will make Ada's 25 % co-speaker voucher a free ticket: the page says so first
    notice = page.locator('.grant-actions .grants-voucher-upgrade')
    expect(notice).to_contain_text('COSPEAKER25')
    expect(notice).to_contain_text('25% off on Conference ticket')
    fits_1280(page)
    shoot('upgrade-notice')
    page.get_by_placeholder('Reason (recorded in the log)').fill('Told us by phone')
    page.get_by_role('button', name="Confirm on the grantee's behalf").click()
    saved(page)
    page.get_by_role('button', name='Send voucher mail again').click()
    saved(page)
    shoot('confirmed')
    with scopes_disabled():
        ada.refresh_from_db()
        assert (ada.status, ada.voucher.code, ada.voucher_state) == (
            Grant.STATUS_CONFIRMED, 'COSPEAKER25', Grant.VOUCHER_UPGRADED)

    detail(page, control, grace)
    page.get_by_role('button', name="Refuse on the grantee's behalf").click()
    saved(page)
    detail(page, control, alan)
    page.get_by_role('button', name='Cancel grant').click()
    saved(page)
    detail(page, control, linus)
    page.get_by_placeholder('Voucher code').fill('LINUSFREE')
    page.get_by_role('button', name='Link existing voucher').click()
    saved(page)
    shoot('linked')
    with scopes_disabled():
        for g in (grace, alan, linus):
            g.refresh_from_db()
    assert grace.status == Grant.STATUS_REFUSED and alan.status == Grant.STATUS_CANCELLED
    assert linus.voucher == own

    # the edit form, and the way back
    detail(page, control, linus)
    page.get_by_role('link', name='Edit').click()
    page.get_by_label('Travel').fill('123.45')
    page.get_by_role('button', name='Save').click()
    saved(page)
    expect(page.locator('dt:text-is("Travel") + dd')).to_have_text('€123.45')
    assert errors == []


def test_issue_button_and_retrying_a_failed_mail(desktop_page, control, event, make_grant):
    page, errors, shoot = desktop_page
    with scopes_disabled():
        # confirmed, its voucher not issued yet (as after a failed issuance)
        g = make_grant(Grant.STATUS_CONFIRMED, name='Grace Hopper', email='grace@example.org')
    log_in(page, control)
    detail(page, control, g)
    page.get_by_role('button', name='Issue voucher and email it').click()
    saved(page)
    with scopes_disabled():
        g.refresh_from_db()
        assert g.voucher_state == Grant.VOUCHER_ISSUED
        mail = g.mails.select_related('outgoing_mail').last()
        assert mail.outgoing_mail
        mail.outgoing_mail.status = mail.outgoing_mail.STATUS_FAILED
        mail.outgoing_mail.save()
    page.reload()
    page.locator('.grant-mails').get_by_role('button', name='Retry').click()
    expect(page.locator('.alert-success')).to_contain_text('The email has been queued again.')
    shoot('retried')
    assert errors == []


def test_the_demo_in_the_browser(site, desktop_page, tmp_path):
    """
    `make demo`'s data as a newcomer first sees it: the grant list, a grant and a grantee's page, without an
    error. The README's pictures are these screenshots (`GRANTS_SCREENSHOTS=doc/img-new pytest -k demo_in`).
    """
    page, errors, shoot = desktop_page
    call_command('grants_demo', stdout=io.StringIO())  # a shell's command: no scope
    with scopes_disabled():
        event = Event.objects.get(slug='2027', organizer__slug='democon')
        ada = event.grants.get(email='ada@example.org')
    log_in(page, site, 'admin@localhost', 'admin')
    open_grants(page, site, event)
    fits_1280(page)
    # pretix's notices to a fresh instance's admin (update check, licence, cron) are not the plugin's: start below
    page.evaluate("window.scrollTo(0, document.querySelector('h1').getBoundingClientRect().top + window.scrollY - 15)")
    shoot('list', full_page=False)
    page.get_by_role('link', name='Ada Lovelace').click()
    expect(page.get_by_role('heading', name=re.compile('Ada Lovelace'))).to_be_visible()
    fits_1280(page)
    page.evaluate("window.scrollTo(0, document.querySelector('h1').getBoundingClientRect().top + window.scrollY - 15)")
    shoot('detail', full_page=False)
    page.locator('#side-menu a[href$="?identifier=pretix_grants"]').click()
    expect(page.locator('input[name="exporter"][value="pretix_grants"]')).to_have_count(1)
    shoot('export')
    page.set_viewport_size({'width': 800, 'height': 900})
    page.goto(f'{site}/democon/2027/grant/{ada.secret}/')
    expect(page.get_by_role('heading', name='We are offering you a grant')).to_be_visible()
    shoot('grantee', full_page=False)
    assert errors == []
