import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core import mail as djmail
from django.core.cache import cache
from django_scopes import scopes_disabled
from freezegun import freeze_time

from pretix_grants import applications
from pretix_grants.models import Grant

from .conftest import mails_to

OPEN = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
CLOSE = datetime(2027, 4, 1, 9, 0, tzinfo=timezone.utc)
DURING = OPEN + timedelta(days=3)

APPLY = '/pyconf/2027/grants/apply/'


@pytest.fixture
def counting_cache(settings):
    """A cache that keeps counts (the test settings' dummy cache keeps nothing), so the flood limits apply."""
    settings.CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache',
                                   'LOCATION': 'pretix-grants-applications'}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def open_event(event):
    event.settings.grants_applications_open = OPEN
    event.settings.grants_applications_close = CLOSE
    return event


@scopes_disabled()
def grants():
    """The grants pretix holds now (the form's requests set their own scope)."""
    return list(Grant.objects.order_by('pk'))


def application(**kw):
    data = {
        'name': 'Grace Hopper', 'email': 'grace@example.org', 'locale': 'de',
        'motivation': 'I maintain a compiler and want to meet the community.',
        'requested_ticket': 'on', 'requested_travel': '250.00', 'requested_accommodation': '',
        'requested_other': '', 'justification': 'Train from Zurich and back.',
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
@pytest.mark.parametrize('moment, is_open', [
    (OPEN - timedelta(seconds=1), False),
    (OPEN, True),
    (CLOSE - timedelta(seconds=1), True),
    (CLOSE, False),
])
def test_form_and_front_page_link_only_while_open(client, open_event, moment, is_open):
    with freeze_time(moment):
        page = client.get(APPLY).content.decode()
        front = client.get('/pyconf/2027/').content.decode()
        posted = client.post(APPLY, application())
    assert ('id="apply-submit"' in page) is is_open
    assert ('id="applications-closed"' in page) is not is_open
    assert ('Apply for a grant' in front) is is_open
    assert (APPLY in front) is is_open
    if is_open:
        assert posted.status_code == 302
    else:
        assert posted.status_code == 403
        assert grants() == []


@pytest.mark.django_db
def test_no_opening_date_means_closed(client, event):
    assert 'id="applications-closed"' in client.get(APPLY).content.decode()
    assert 'Apply for a grant' not in client.get('/pyconf/2027/').content.decode()


@pytest.mark.django_db
@freeze_time(DURING)
def test_an_application_is_a_pending_grant_with_requested_amounts_and_a_received_mail(client, open_event, settings):
    r = client.post(APPLY, application())
    assert r.status_code == 302
    assert r['Location'] == '/pyconf/2027/grants/apply/thanks/'  # no personal data in the URL
    assert 'grace' not in r['Location']
    thanks = client.get(r['Location']).content.decode()
    assert 'We have sent you an email with a link to your application' in thanks

    [g] = grants()
    assert (g.name, g.email, g.locale, g.status) == ('Grace Hopper', 'grace@example.org', 'de', Grant.STATUS_PENDING)
    assert g.requested_ticket and g.ticket
    assert g.requested_travel == Decimal('250.00') and g.requested_accommodation == Decimal('0.00')
    assert g.travel_amount == Decimal('0.00'), 'nothing is granted before a decision'
    assert g.justification == 'Train from Zurich and back.'
    assert g.motivation.startswith('I maintain a compiler')
    assert g.all_logentries().filter(action_type='pretix_grants.grant.created').exists()

    [mail] = mails_to('grace@example.org')
    link = re.search(r'(http://\S+/grant/\S+/)', mail.body).group(1)
    assert link.endswith(f'/pyconf/2027/grant/{g.secret}/')
    page = client.get(link[link.index('/pyconf'):]).content.decode()
    assert 'Wir haben Ihre Bewerbung erhalten und prüfen sie.' in page  # in the language the applicant chose


@pytest.mark.django_db
@freeze_time(DURING)
@pytest.mark.parametrize('changes, field, message', [
    ({'name': ''}, 'name', 'This field is required.'),
    ({'email': 'not-an-address'}, 'email', 'Enter a valid email address.'),
    ({'email': ''}, 'email', 'This field is required.'),
    ({'locale': 'fr'}, 'locale', 'Select a valid choice.'),
    ({'motivation': ''}, 'motivation', 'This field is required.'),
    ({'motivation': 'x' * 5001}, 'motivation', 'Ensure this value has at most 5000 characters'),
    ({'requested_travel': '-5'}, 'requested_travel', 'greater than or equal to 0'),
    ({'requested_travel': 'lots'}, 'requested_travel', 'Enter a number.'),
    ({'requested_other': '1.234'}, 'requested_other', 'no more than 2 decimal places'),
    ({'justification': ''}, 'justification', 'Please tell us briefly what the amounts are for.'),
    ({'requested_ticket': None, 'requested_travel': '', 'justification': ''}, '__all__',
     'Please tell us what you ask for'),
])
def test_each_validation_error_is_shown_and_nothing_is_saved(client, open_event, changes, field, message):
    r = client.post(APPLY, application(**changes))
    assert r.status_code == 200
    errors = r.context['form'].errors
    assert field in errors and message in ' '.join(errors[field])
    assert message.replace("'", '&#x27;') in r.content.decode()
    assert grants() == []
    assert djmail.outbox == []


@pytest.mark.django_db
@freeze_time(DURING)
def test_ticket_only_needs_no_justification(client, open_event):
    r = client.post(APPLY, application(requested_travel='', justification=''))
    assert r.status_code == 302
    [g] = grants()
    assert g.requested_ticket and g.requested_total == Decimal('0.00')


@pytest.mark.django_db
@freeze_time(DURING)
def test_applying_twice_answers_as_a_new_application_and_mails_the_link_to_the_address_on_file(
        client, open_event, counting_cache):
    first = client.post(APPLY, application())
    assert first.status_code == 302
    [g] = grants()
    djmail.outbox = []
    r = client.post(APPLY, application(email='GRACE@example.org', name='Visit https://evil.example now'))
    # the form tells nobody whether the address applied
    assert (r.status_code, r['Location']) == (first.status_code, first['Location'])
    body = client.get(r['Location']).content.decode()
    assert 'already' not in body and g.secret not in body and '/grant/' not in body
    assert len(grants()) == 1
    [mail] = djmail.outbox
    assert mail.to == ['grace@example.org'] and g.secret in mail.body
    assert 'evil' not in mail.body and 'evil' not in mail.subject and g.name in mail.body, 'only the data on file'
    # asking again at once sends no further mail (no mail bombing through the form)
    client.post(APPLY, application(email='grace@example.org'))
    assert len(djmail.outbox) == 1


@pytest.mark.django_db
@freeze_time(DURING)
def test_flood_of_applications_from_one_address_is_refused(client, open_event, counting_cache):
    for n in range(applications.MAX_APPLICATIONS):
        assert client.post(APPLY, application(email=f'p{n}@example.org')).status_code == 302
    r = client.post(APPLY, application(email='one-too-many@example.org'))
    assert r.status_code == 429
    assert 'Please try again in an hour' in r.content.decode()
    assert len(grants()) == applications.MAX_APPLICATIONS


QUESTIONS = [
    {'id': 'diet', 'type': 'text', 'question': {'en': 'Dietary needs?', 'de': 'Ernährung?'}, 'required': False},
    {'id': 'first', 'type': 'boolean', 'question': {'en': 'Is this your first conference?'}, 'required': True},
    {'id': 'role', 'type': 'choice', 'question': 'Your role', 'choices': [{'en': 'Student'}, {'en': 'Speaker'}],
     'required': True},
]


@pytest.mark.django_db
@freeze_time(DURING)
def test_extra_questions_required_and_optional(client, open_event):
    open_event.settings.grants_application_questions = QUESTIONS
    page = client.get(APPLY).content.decode()
    assert 'Dietary needs?' in page and 'Is this your first conference?' in page and 'Student' in page

    r = client.post(APPLY, application())
    errors = r.context['form'].errors
    assert set(errors) == {'question_first', 'question_role'}, 'optional question may stay empty'
    r = client.post(APPLY, application(question_role='7', question_first='no'))
    assert 'question_role' in r.context['form'].errors
    assert grants() == []

    r = client.post(APPLY, application(question_first='no', question_role='1'))
    assert r.status_code == 302
    [g] = grants()
    assert g.answers == {'first': False, 'role': '1'}, '"no" is an answer to a required yes/no question'


@pytest.mark.django_db
@freeze_time(DURING)
def test_questions_speak_the_visitors_language(client, open_event):
    open_event.settings.grants_application_questions = QUESTIONS
    client.cookies['pretix_language'] = 'de'
    assert 'Ernährung?' in client.get(APPLY).content.decode()


@pytest.mark.django_db
def test_organizers_set_dates_and_questions_on_the_settings_page(manager_client, event):
    from .control.conftest import form_data, url

    data = form_data(manager_client.get(url(event, 'settings/')))
    assert data['questions-TOTAL_FORMS'] == '1'  # one empty question to fill in
    data.update({
        'grants_applications_open_0': '2027-03-01', 'grants_applications_open_1': '10:00:00',
        'grants_applications_close_0': '2027-04-01', 'grants_applications_close_1': '10:00:00',
        'questions-0-question_0': 'Diet?', 'questions-0-type': 'text',
    })
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['form'].errors
    event.settings.flush()
    assert event.settings.grants_applications_open.date().isoformat() == '2027-03-01'
    assert event.settings.grants_application_questions == [
        {'id': 'diet', 'type': 'text', 'question': {'en': 'Diet?'}, 'required': False}]

    # a second question, a choice in two languages, placed first and required
    data = form_data(manager_client.get(url(event, 'settings/')))
    assert data['questions-TOTAL_FORMS'] == '2' and data['questions-0-question_0'] == 'Diet?'
    data.update({'questions-1-question_0': 'Role', 'questions-1-question_1': 'Rolle', 'questions-1-type': 'choice',
                 'questions-1-choices_0': 'Student\nSpeaker', 'questions-1-choices_1': 'Studentin\nSprecherin',
                 'questions-1-required': 'on', 'questions-1-ORDER': '1', 'questions-0-ORDER': '2'})
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302, r.context['questions'].errors
    event.settings.flush()
    assert event.settings.grants_application_questions == [
        {'id': 'role', 'type': 'choice', 'question': {'en': 'Role', 'de': 'Rolle'}, 'required': True,
         'choices': [{'en': 'Student', 'de': 'Studentin'}, {'en': 'Speaker', 'de': 'Sprecherin'}]},
        {'id': 'diet', 'type': 'text', 'question': {'en': 'Diet?'}, 'required': False}]

    # remove one; a choice question with one choice is an error and nothing is saved
    data = form_data(manager_client.get(url(event, 'settings/')))
    data.update({'questions-1-DELETE': 'on', 'questions-2-question_0': 'Size', 'questions-2-type': 'choice',
                 'questions-2-choices_0': 'M'})
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 200
    assert 'at least two choices' in r.content.decode()
    data['questions-2-choices_0'] = 'M\nL'
    r = manager_client.post(url(event, 'settings/'), data)
    assert r.status_code == 302
    event.settings.flush()
    assert [q['id'] for q in event.settings.grants_application_questions] == ['role', 'size']

    data = form_data(manager_client.get(url(event, 'settings/')))
    data['grants_applications_close_0'] = '2027-02-01'
    r = manager_client.post(url(event, 'settings/'), data)
    assert 'Applications must close after they open.' in ' '.join(r.context['form'].errors['grants_applications_close'])
