"""
The speaker sync: read pretalx over its REST API (v2), then give, upgrade or release vouchers.

Reading is all or nothing: every page of the talks in the chosen states is read and checked before anything in pretix
changes, so pretalx being unreachable, slow, answering 5xx or malformed data changes nothing; the error is kept
for the settings page and the next cron run tries again.

Voucher rules: the main speaker (the first speaker of a talk in pretalx) gets a free ticket, further speakers a free
ticket or a discount (percent or amount). A speaker with several talks gets one voucher, the best one: a co-speaker
who becomes a main speaker has their unused voucher upgraded in place. The voucher is recorded as pretix records a
voucher it sent (``pretix.voucher.sent`` with the recipient), so the grant core finds it: a grantee holding a free
speaker voucher gets no second free ticket (the grant links it), a co-speaker's discount voucher is upgraded in
place when their grant is confirmed. A voucher a grant holds is the grant's from then on: the sync never changes or
ends it. A person whose grant holds a free ticket gets no speaker voucher. A speaker who leaves the chosen states:
an unused voucher is ended (as ``issuance.release_voucher`` ends a grant's), a used one is flagged, nothing taken back.

Travel support: a speaker can be offered a grant of type "speaker" (``offer_support``), by the organizers' button or
by the sync for every speaker who answered "yes" to the pretalx event's travel-support question. It is an ordinary
grant from then on (pending, with the configured travel and accommodation as its request, no ticket: the speaker
voucher is their ticket), decided, offered and counted in the budget like every other.
"""
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import requests
import urllib3
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext as _
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import language
from pretix.base.models import Voucher
from pretix.base.models.vouchers import generate_codes
from pretix.base.services.locking import lock_objects
from pretix.base.services.mail import mail
from pretix.helpers import OF_SELF

from .. import issuance, mails, workflow
from ..models import Grant, Speaker

logger = logging.getLogger(__name__)
ZERO = Decimal('0.00')
TIMEOUT = 10
PAGE_SIZE = 250
API_VERSION = 'v2'
TAG = 'speaker'
TALK_FIELDS = 'code,title,state,speakers.code,speakers.name,speakers.email,speakers.locale'
CO_FREE, CO_PERCENT, CO_AMOUNT = 'free', 'percent', 'amount'
# how pretalx stores a yes/no answer ('True'), and what a text answer of yes looks like
YES = {'true', 'yes', '1'}


class PretalxError(Exception):
    """pretalx could not be read; the message says what failed, for the organizer."""


class Pretalx:
    """The pretalx event an event is connected to (its settings), read through pretalx's REST API."""

    def __init__(self, url, event, token, timeout=TIMEOUT):
        self.base = (url or '').rstrip('/')
        self.event = event or ''
        self.token = token or ''
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({'Authorization': f'Token {self.token}', 'Accept': 'application/json',
                                     'Pretalx-Version': API_VERSION})

    @classmethod
    def for_event(cls, event):
        s = event.settings
        if not (s.grants_pretalx_url and s.grants_pretalx_event and s.grants_pretalx_token):
            raise PretalxError(_('Enter the pretalx URL, the event slug and the API token first.'))
        return cls(s.grants_pretalx_url, s.grants_pretalx_event, s.grants_pretalx_token)

    def get(self, url, params=None):
        try:
            r = self.session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise PretalxError(_('pretalx at {url} did not answer within {n} seconds.').format(
                url=self.base, n=self.timeout))
        except requests.RequestException:
            raise PretalxError(_('pretalx at {url} is unreachable.').format(url=self.base))
        except urllib3.exceptions.HTTPError:
            # pretix refuses addresses in private networks unless [pretix] allow_http_to_private_networks is on
            raise PretalxError(_('pretix may not connect to {url}: it is an address in a private network.').format(
                url=self.base))
        if r.status_code == 401:
            raise PretalxError(_('pretalx refused the API token (wrong or expired token).'))
        if r.status_code == 403:
            raise PretalxError(_('The API token has no permission for this pretalx event.'))
        if r.status_code == 404:
            raise PretalxError(_('pretalx has no event "{slug}" (or the token may not see it).').format(
                slug=self.event))
        if r.status_code != 200:
            raise PretalxError(_('pretalx answered with HTTP status {status}.').format(status=r.status_code))
        try:
            return r.json()
        except ValueError:
            raise PretalxError(_('pretalx answered with something that is not JSON.'))

    def event_name(self):
        data = self.get(f'{self.base}/api/events/{self.event}/')
        name = data.get('name') if isinstance(data, dict) else None
        if isinstance(name, dict):
            name = LazyI18nString(name)
        if not name:
            raise PretalxError(_('pretalx answered with data the plugin does not understand.'))
        return str(name)

    def talks(self, states):
        """Every talk in ``states`` with its speakers in pretalx's order, all pages, checked; else PretalxError."""
        url = f'{self.base}/api/events/{self.event}/submissions/'
        # only the fields the sync uses: a sixth of the page pretalx would send, and a third less of its time
        params = [('state', s) for s in states] + [
            ('expand', 'speakers'), ('fields', TALK_FIELDS), ('omit', 'answers,resources,slots,reviews'),
            ('page_size', PAGE_SIZE)]
        talks = []
        while url:
            page = self.get(url, params)
            params = None  # the next page's URL carries them
            try:
                for t in page['results']:
                    talks.append({
                        'code': str(t['code']), 'title': str(t['title'] or '')[:200], 'state': str(t['state']),
                        'speakers': [_speaker(s) for s in t['speakers']],
                    })
                url = page['next']
            except (KeyError, TypeError, ValueError):
                raise PretalxError(_('pretalx answered with data the plugin does not understand.'))
        return talks

    def support_asked(self, question):
        """The codes of the speakers who answered "yes" to the yes/no speaker question ``question``; all pages."""
        url = f'{self.base}/api/events/{self.event}/answers/'
        params = [('question', int(question)), ('page_size', PAGE_SIZE)]
        asked = set()
        while url:
            page = self.get(url, params)
            params = None
            try:
                for a in page['results']:
                    if a.get('person') and str(a.get('answer') or '').strip().lower() in YES:
                        asked.add(str(a['person'])[:64])
                url = page['next']
            except (KeyError, TypeError, ValueError, AttributeError):
                raise PretalxError(_('pretalx answered with data the plugin does not understand.'))
        return asked


def _speaker(s):
    if not isinstance(s, dict):
        raise ValueError(s)
    return {'code': str(s['code'])[:64], 'name': str(s.get('name') or '')[:255],
            'email': (s.get('email') or '').strip()[:254] if 'email' in s else None,
            'locale': str(s.get('locale') or '')[:32]}


def test_connection(event):
    """What an organizer's "Test connection" shows: ``(ok, message)``."""
    try:
        p = Pretalx.for_event(event)
        name = p.event_name()
        talks = p.talks(['accepted', 'confirmed'])
    except PretalxError as e:
        return False, str(e)
    accepted = sum(1 for t in talks if t['state'] == 'accepted')
    confirmed = sum(1 for t in talks if t['state'] == 'confirmed')
    speakers = {s['code']: s for t in talks for s in t['speakers']}
    message = _('Connected to "{name}": {accepted} accepted and {confirmed} confirmed talks, {speakers} speakers.'
                ).format(name=name, accepted=accepted, confirmed=confirmed, speakers=len(speakers))
    if speakers and all(s['email'] is None for s in speakers.values()):
        return False, message + ' ' + _('The token may not see the speakers\' e-mail addresses: give its user a '
                                        'team in pretalx that may change proposals.')
    return True, message


def wanted(talks):
    """Per speaker code: name, email, locale, role and talks, from the talks read."""
    result = {}
    for t in talks:
        for position, s in enumerate(t['speakers']):
            w = result.setdefault(s['code'], {'name': s['name'], 'email': s['email'] or '', 'locale': s['locale'],
                                              'role': Speaker.ROLE_CO, 'talks': []})
            if position == 0:
                w['role'] = Speaker.ROLE_MAIN
            w['talks'].append([t['code'], t['title'], position == 0])
    for w in result.values():
        w['talks'].sort()
    return result


# ---- the sync ---------------------------------------------------------------------------------------------------

def sync(event, *, user=None, auth=None):
    """
    Read pretalx and apply it. Returns ``(ok, counts_or_message)``; on failure nothing changed and the error is kept
    in ``grants_pretalx_last_error`` (the settings page shows it; the next cron run tries again).
    """
    s = event.settings
    s.grants_pretalx_last_attempt = now()
    question = s.get('grants_speakers_support_question', as_type=int)
    try:
        p = Pretalx.for_event(event)
        # the vouchers' product first: a sync that could not issue a voucher it owes changes nothing
        plan = VoucherPlan(event)
        talks = p.talks(s.get('grants_pretalx_states', as_type=list) or ['accepted', 'confirmed'])
    except (PretalxError, issuance.NeedsAttention) as e:
        s.grants_pretalx_last_error = '{}: {}'.format(now().isoformat(timespec='seconds'), e)
        return False, str(e)
    counts = apply(event, wanted(talks), plan, user=user, auth=auth)
    s.grants_pretalx_last_sync = now()
    s.grants_pretalx_last_error = ''
    if question:
        # the travel-support question is read on its own: a wrong number or a token that may not read answers
        # leaves the vouchers' sync done, and says so
        try:
            asked = p.support_asked(question)
        except PretalxError as e:
            counts['support_error'] = _('The answers to the travel-support question could not be read: {error}'
                                        ).format(error=e)
            s.grants_pretalx_last_error = '{}: {}'.format(now().isoformat(timespec='seconds'), counts['support_error'])
        else:
            counts['support'] = offer_support(
                event, Speaker.objects.filter(event=event, code__in=asked), once=True, user=user, auth=auth
            )['created']
    return True, counts


def _fingerprint(w):
    return [w['name'], w['email'], w['locale'], w['role'], w['talks']]


def apply(event, wanted_speakers, plan, *, user=None, auth=None):
    """Bring the event's speakers to what pretalx says; only speakers whose data or standing changed are touched."""
    counts = {'issued': 0, 'upgraded': 0, 'released': 0, 'unchanged': 0, 'no_email': 0}
    known = {sp.code: sp for sp in Speaker.objects.filter(event=event).select_related('voucher')}
    held = set(Grant.objects.filter(event=event).holding_voucher().values_list('voucher_id', flat=True))
    free_emails = set(Grant.objects.filter(event=event).holding_voucher().annotate(e=Lower('email'))
                      .values_list('e', flat=True))
    gone = {code: {'name': sp.name, 'email': sp.email, 'locale': sp.locale, 'role': Speaker.ROLE_NONE, 'talks': []}
            for code, sp in known.items() if code not in wanted_speakers}
    for code, w in {**wanted_speakers, **gone}.items():
        sp = known.get(code)
        if sp is not None and _fingerprint(w) == [sp.name, sp.email, sp.locale, sp.role, sp.talks] \
                and _settled(sp, w, held, free_emails):
            counts['unchanged'] += 1
            continue
        with transaction.atomic():
            created = False
            if sp is None:
                sp, created = Speaker.objects.get_or_create(event=event, code=code)
            if not created:  # a row this transaction inserted is locked already
                sp = Speaker.objects.select_for_update(of=OF_SELF).get(pk=sp.pk)
            sp.event = event
            outcome = _apply_one(sp, w, held, free_emails, plan, user=user, auth=auth)
        counts[outcome] += 1
    return counts


def _settled(sp, w, held, free_emails):
    """Whether a speaker whose pretalx data did not change needs nothing either (no grant came or went)."""
    if sp.state == Speaker.STATE_GRANT:
        return sp.voucher_id in held or sp.email.lower() in free_emails
    if w['role'] == Speaker.ROLE_NONE or not w['email']:
        return True
    if sp.state == Speaker.STATE_NONE or sp.state == Speaker.STATE_ENDED:
        return sp.email.lower() in free_emails
    return True


def _apply_one(sp, w, held, free_emails, plan, *, user=None, auth=None):
    sp.name, sp.email, sp.locale, sp.role, sp.talks = w['name'], w['email'], w['locale'], w['role'], w['talks']
    outcome = 'unchanged'
    voucher = Voucher.objects.filter(pk=sp.voucher_id).first() if sp.voucher_id else None
    if voucher is not None and voucher.pk in held:
        sp.state, sp.attention = Speaker.STATE_GRANT, ''  # the grant's ticket now: never changed by the sync
    elif w['role'] == Speaker.ROLE_NONE:
        if voucher is not None and sp.state in (Speaker.STATE_ISSUED, Speaker.STATE_GRANT):
            outcome = _release(sp, voucher, user=user, auth=auth)
        elif sp.state == Speaker.STATE_GRANT:
            sp.state = Speaker.STATE_NONE
    elif not w['email']:
        sp.attention = _('pretalx gave no e-mail address for this speaker (the token may lack the permission).')
        if sp.state != Speaker.STATE_ISSUED:
            sp.state = Speaker.STATE_NONE
        outcome = 'no_email'
    elif w['email'].lower() in free_emails and (voucher is None or sp.state != Speaker.STATE_ISSUED):
        sp.state, sp.attention = Speaker.STATE_GRANT, ''  # their grant gives the one free ticket
    elif voucher is not None and sp.state in (Speaker.STATE_ISSUED, Speaker.STATE_ATTENTION, Speaker.STATE_GRANT):
        # their own voucher (a grant that linked or upgraded it and ended gave it back as it was)
        if _upgrade_needed(plan, voucher, w['role']) and not issuance.valid_positions(voucher).exists():
            _set_terms(plan, voucher, w['role'], user=user, auth=auth)
            outcome = 'upgraded'
        sp.state, sp.attention = Speaker.STATE_ISSUED, ''
    else:
        sp.voucher = _create_voucher(sp, w['role'], plan, user=user, auth=auth)
        sp.state, sp.attention = Speaker.STATE_ISSUED, ''
        outcome = 'issued'
    sp.save()
    return outcome


class VoucherPlan:
    """
    What the speaker vouchers of one sync are made of, read once for all of them: the product (the speakers' own,
    else the grant vouchers' product or quota; ``issuance.NeedsAttention`` if neither is set), the end of validity as
    grant vouchers have it, and the terms per role.
    """

    def __init__(self, event):
        self.event = event
        s = event.settings
        item = event.items.filter(pk=s.grants_speakers_item).first() if s.grants_speakers_item else None
        if item is None:
            try:
                target = issuance.voucher_target(event)
            except issuance.NeedsAttention as e:
                raise issuance.NeedsAttention(_('Choose a product for speaker vouchers in these settings (or one '
                                                'for grant vouchers in the grant settings).') + ' ' + str(e))
            self.item, self.variation, self.quota = target.item, target.variation, target.quota
        else:
            self.item, self.variation, self.quota = item, None, None
        self.valid_until = issuance.voucher_valid_until(event)
        co_value = s.get('grants_speakers_co_value', as_type=Decimal) or ZERO
        co = {CO_FREE: ('set', ZERO), CO_PERCENT: ('percent', min(co_value, Decimal('100')))}.get(
            s.grants_speakers_co_mode, ('subtract', co_value))
        self._terms = {Speaker.ROLE_MAIN: ('set', ZERO), Speaker.ROLE_CO: co}

    def terms(self, role):
        """(price_mode, value) of a speaker voucher for ``role``."""
        return self._terms[role]


def _is_free(voucher):
    return voucher.price_mode == 'set' and voucher.value == ZERO or (
        voucher.price_mode == 'percent' and voucher.value >= Decimal('100'))


def _upgrade_needed(plan, voucher, role):
    mode, value = plan.terms(role)
    return mode == 'set' and not _is_free(voucher)


def _set_terms(plan, voucher, role, *, user=None, auth=None):
    voucher = issuance.lock_voucher(voucher, plan.event)
    voucher.price_mode, voucher.value = plan.terms(role)
    voucher.save(update_fields=['price_mode', 'value'])
    voucher.log_action('pretix.voucher.changed', data={
        'price_mode': voucher.price_mode, 'value': str(voucher.value), 'source': 'pretix_grants', 'speaker': True,
    }, user=user, auth=auth)


def _create_voucher(sp, role, plan, *, user=None, auth=None):
    event = sp.event
    mode, value = plan.terms(role)
    lock_objects([], shared_lock_objects=[event])
    voucher = Voucher.objects.create(
        event=event, code=generate_codes(event.organizer, 1)[0], max_usages=1, price_mode=mode, value=value,
        item=plan.item, variation=plan.variation, quota=plan.quota, valid_until=plan.valid_until, block_quota=False,
        show_hidden_items=True, tag=TAG,
    )
    voucher.log_action('pretix.voucher.added', data={
        'code': voucher.code, 'price_mode': mode, 'value': str(value), 'max_usages': 1, 'tag': TAG,
        'source': 'pretix_grants', 'speaker': True,
    }, user=user, auth=auth)
    outgoing = send_mail(sp, voucher)
    # recorded as pretix's own "send by email" records it: the grant core finds this person's voucher by it
    voucher.log_action('pretix.voucher.sent', data={
        'recipient': sp.email, 'name': sp.name,
        'subject': outgoing.subject if outgoing else '', 'message': outgoing.body_plain if outgoing else '',
    }, user=user, auth=auth)
    return voucher


def send_mail(sp, voucher):
    """The speaker's voucher mail, from its editable template, through pretix's ``mail()``, in their language."""
    event = sp.event
    locale = sp.locale if sp.locale in event.settings.locales else event.settings.locale
    subject, text = mails.template(event, 'speaker_voucher')
    with language(locale, event.settings.region):
        return mail(sp.email, subject, text, {
            'event': str(event.name), 'name': sp.name, 'voucher': voucher.code,
            'talks': '\n'.join(f'- {title}' for _code, title, _main in sp.talks),
            'redeem_url': mails.redeem_url(event, voucher.code, locale),
        }, event, locale)


def _release(sp, voucher, *, user=None, auth=None):
    voucher = issuance.lock_voucher(voucher, sp.event)
    used = issuance.valid_positions(voucher).select_related('order').first()
    if used is not None:
        sp.state = Speaker.STATE_ATTENTION
        sp.attention = _('No talk in the chosen states any more, but voucher {code} was already used in order '
                         '{order}; nothing was taken back.').format(code=voucher.code, order=used.order.code)
        return 'released'
    issuance.end_voucher(voucher, {'speaker': True}, user=user, auth=auth)
    sp.state, sp.attention = Speaker.STATE_ENDED, ''
    return 'released'


# ---- travel support: grants of type "speaker" --------------------------------------------------------------------

def support_grants(event, speakers):
    """Each speaker's grant in ``event`` (any type: one grant per address), by the speaker's pk."""
    emails = {sp.email.lower(): sp.pk for sp in speakers if sp.email}
    found = Grant.objects.annotate(e=Lower('email')).filter(event=event, e__in=list(emails))
    return {emails[g.e]: g for g in found}


def offer_support(event, speakers, *, once=False, user=None, auth=None):
    """
    A pending grant of type "speaker" for each of ``speakers`` who is a speaker (a talk in the chosen states), has
    an e-mail address and no grant yet: the configured travel and accommodation as its request, no ticket (their
    speaker voucher is it). Nobody is mailed now: the speaker hears of it when the offer is published. With
    ``once`` (the sync), a speaker who was offered it before is left alone, even if that grant is gone (deleted, or
    its address shredded). Returns the counts ``created``, ``existing`` (already had a grant or, with ``once``, an
    offer), ``not_speaker`` and ``no_email``.
    """
    s = event.settings
    request = {'requested_travel': s.get('grants_speakers_support_travel', as_type=Decimal) or ZERO,
               'requested_accommodation': s.get('grants_speakers_support_accommodation', as_type=Decimal) or ZERO}
    speakers = list(speakers)
    existing = support_grants(event, speakers)
    counts = {'created': 0, 'existing': 0, 'not_speaker': 0, 'no_email': 0}
    for sp in speakers:
        if sp.role == Speaker.ROLE_NONE:
            counts['not_speaker'] += 1
        elif not sp.email:
            counts['no_email'] += 1
        elif sp.pk in existing or (once and sp.support_offered):
            counts['existing'] += 1
        else:
            try:
                workflow.create_grant(
                    event, name=sp.name or sp.email, email=sp.email,
                    locale=sp.locale if sp.locale in s.locales else s.locale,
                    grant_type=Grant.TYPE_SPEAKER, ticket=False, requested_ticket=False, **request,
                    notify=False, user=user, auth=auth)
            except workflow.DuplicateGrant:
                counts['existing'] += 1  # an application of the same address came in meanwhile
            else:
                Speaker.objects.filter(pk=sp.pk).update(support_offered=now())
                counts['created'] += 1
    return counts


SYNC_EVERY = timedelta(minutes=15)


def due(event):
    """Whether cron syncs ``event`` now: automatic sync on, and 15 minutes since the last try, or it failed."""
    s = event.settings
    if not (s.grants_speakers_auto_sync and s.grants_pretalx_url):
        return False
    last = s.get('grants_pretalx_last_attempt', as_type=datetime)
    return last is None or bool(s.grants_pretalx_last_error) or now() - last >= SYNC_EVERY
