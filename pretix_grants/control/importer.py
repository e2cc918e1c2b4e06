"""
CSV import of applications, usually a form tool's export: upload, map the columns, preview, import.

Every row is checked the way the create form checks one grant; only valid rows are imported, each through
``workflow.create_grant``. A row whose email already has a grant is a duplicate and is skipped, so importing the
same file twice creates nothing new.
"""
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _, gettext_lazy, override
from pretix.control.views.modelimport import ENCODINGS

from .. import workflow
from ..models import Grant

# target field, label, header names that map to it without asking. Amounts in an application export are what the
# applicant asked for: a plain "Travel" column is the *requested* amount; only a column that says "granted" fills
# the granted amounts, which otherwise stay at 0.00 until a decision, as for an application made in the shop.
FIELDS = (
    ('name', gettext_lazy('Name'), ('name', 'full name', 'fullname', 'your name')),
    ('email', gettext_lazy('Email'), ('email', 'e-mail', 'email address', 'mail')),
    ('locale', gettext_lazy('Language'), ('locale', 'language', 'lang')),
    ('grant_type', gettext_lazy('Type'), ('type', 'grant type', 'grant_type')),
    ('requested_ticket', gettext_lazy('Requested: free ticket'),
     ('ticket', 'free ticket', 'requested ticket', 'requested_ticket')),
    ('requested_travel', gettext_lazy('Requested: travel'),
     ('travel', 'travel amount', 'requested travel', 'requested_travel')),
    ('requested_accommodation', gettext_lazy('Requested: accommodation'),
     ('accommodation', 'accommodation amount', 'requested accommodation', 'requested_accommodation', 'hotel')),
    ('requested_other', gettext_lazy('Requested: other'),
     ('other', 'other amount', 'requested other', 'requested_other')),
    ('ticket', gettext_lazy('Granted: free ticket'), ('granted ticket', 'granted_ticket')),
    ('travel_amount', gettext_lazy('Granted: travel'), ('granted travel', 'granted_travel')),
    ('accommodation_amount', gettext_lazy('Granted: accommodation'),
     ('granted accommodation', 'granted_accommodation')),
    ('other_amount', gettext_lazy('Granted: other'), ('granted other', 'granted_other')),
    ('justification', gettext_lazy('What the amounts are for'), ('justification', 'what for')),
    ('motivation', gettext_lazy('Why they want to attend'), ('motivation', 'why')),
    ('internal_note', gettext_lazy('Internal note'), ('note', 'notes', 'internal note', 'comment')),
)
AMOUNTS = ('requested_travel', 'requested_accommodation', 'requested_other',
           'travel_amount', 'accommodation_amount', 'other_amount')
REQUIRED = ('name', 'email')
YES = {'1', 'yes', 'y', 'true', 'x', 'ja', 'oui'}
NO = {'0', 'no', 'n', 'false', 'nein', 'non', ''}


# the character sets pretix's own order and voucher import offers; UTF-8 first, as most exports are in it today
CHARSETS = ('utf8',) + tuple(e for e in ENCODINGS if e != 'utf8')


def python_charset(charset):
    """The codec to read a file in ``charset`` with: UTF-8 read as ``utf-8-sig`` accepts a leading byte order mark."""
    return 'utf-8-sig' if charset == 'utf8' else charset


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy('CSV file'))
    charset = forms.ChoiceField(
        label=gettext_lazy('Character set'), choices=[(c, c) for c in CHARSETS], initial='utf8', required=False,
        help_text=gettext_lazy('Most programs export UTF-8. If names look garbled in the preview, go back and choose '
                               'the character set the file was saved in.'),
    )


class MappingForm(forms.Form):
    notify = forms.BooleanField(label=gettext_lazy('Send the application-received email to each new applicant'),
                                required=False)

    def __init__(self, *args, headers, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [('', _('– not in the file –'))] + [(h, h) for h in headers]
        lower = {h.strip().lower(): h for h in headers}
        for key, label, guesses in FIELDS:
            self.fields[f'col_{key}'] = forms.ChoiceField(
                label=label, choices=choices, required=key in REQUIRED,
                initial=next((lower[g] for g in guesses if g in lower), ''),
            )

    def mapping(self):
        return {key: self.cleaned_data.get(f'col_{key}') or None for key, label, g in FIELDS}


# the amounts' database column is numeric(13,2)
MAX_AMOUNT = Decimal('100000000000')


def _amount(value, label):
    value = (value or '').strip().replace(',', '.') or '0'
    try:
        d = Decimal(value)
        # NaN, infinity and anything numeric(13,2) cannot hold are no amounts
        if not d.is_finite() or abs(d) >= MAX_AMOUNT:
            raise InvalidOperation
        d = d.quantize(Decimal('0.01'))
    except InvalidOperation:
        raise ValidationError(_('{field}: "{value}" is not an amount.').format(field=label, value=value[:40]))
    if d < 0:
        raise ValidationError(_('{field} must not be negative.').format(field=label))
    return d


def _locale(event, value):
    value = (value or '').strip()
    locales = event.settings.locales
    if not value:
        return event.settings.locale
    names = {str(name).lower(): code for code, name in settings.LANGUAGES}
    code = value if value in locales else value.lower() if value.lower() in locales else names.get(value.lower())
    if code not in locales:
        raise ValidationError(_('Unknown language "{value}" (this event has: {locales}).').format(
            value=value, locales=', '.join(locales)))
    return code


def _grant_types(event):
    """What a Type cell may say, lower-cased: the code or its name in English or one of the event's languages."""
    names = {}
    for locale in ['en', *event.settings.locales]:
        with override(locale):
            for code, label in Grant.TYPE_CHOICES:
                names[str(label).lower()] = code
    names.update({code: code for code, label in Grant.TYPE_CHOICES})
    return names


def _grant_type(types, value):
    """The grant type a Type cell names (the grant list's export writes its name); empty is an application."""
    value = (value or '').strip()
    if not value:
        return Grant.TYPE_APPLICATION
    if value.lower() not in types:
        raise ValidationError(_('Unknown type "{value}" (a grant is one of: {types}).').format(
            value=value[:40], types=', '.join(str(label) for code, label in Grant.TYPE_CHOICES)))
    return types[value.lower()]


def check_rows(event, reader, mapping):
    """
    Every row with its values and errors: ``[{'line', 'values', 'errors', 'duplicate', 'type'}]``. A row is imported
    only without errors; an email already in the event or earlier in the file is a duplicate.
    """
    existing = {e.lower() for e in Grant.objects.filter(event=event).values_list('email', flat=True)}
    seen = set()
    rows = []
    labels = {key: label for key, label, g in FIELDS}
    types = _grant_types(event)
    for n, raw in enumerate(reader, start=2):
        def col(key):
            return (raw.get(mapping[key]) or '').strip() if mapping.get(key) else ''

        values, errors, duplicate = {}, [], False
        values['name'] = col('name')
        if not values['name']:
            errors.append(_('The name is missing.'))
        values['email'] = col('email')
        try:
            if not values['email']:
                raise ValidationError('')
            validate_email(values['email'])
        except ValidationError:
            errors.append(_('The email address is missing.') if not values['email'] else
                          _('"{value}" is not a valid email address.').format(value=values['email']))
        else:
            if values['email'].lower() in existing:
                duplicate = True
                errors.append(_('There already is a grant for this email address.'))
            elif values['email'].lower() in seen:
                duplicate = True
                errors.append(_('This email address is in the file more than once.'))
            seen.add(values['email'].lower())
        try:
            values['locale'] = _locale(event, col('locale'))
        except ValidationError as e:
            errors.extend(e.messages)
        try:
            values['grant_type'] = _grant_type(types, col('grant_type'))
        except ValidationError as e:
            errors.extend(e.messages)
        for key in ('requested_ticket', 'ticket'):
            value = col(key).lower()
            if mapping.get(key) and value not in YES | NO:
                errors.append(_('{field}: "{value}" is neither yes nor no.').format(field=labels[key], value=col(key)))
            values[key] = value in YES if mapping.get(key) else None
        if values['requested_ticket'] is None:
            values['requested_ticket'] = True
        if values['ticket'] is None:  # as in the shop: the free ticket follows the request until a decision
            values['ticket'] = values['requested_ticket']
        for key in AMOUNTS:
            try:
                values[key] = _amount(col(key), labels[key])
            except ValidationError as e:
                errors.extend(e.messages)
        for key in ('justification', 'motivation', 'internal_note'):
            values[key] = col(key)
        rows.append({'line': n, 'values': values, 'errors': errors, 'duplicate': duplicate,
                     'type': dict(Grant.TYPE_CHOICES).get(values.get('grant_type'), '')})
    return rows


def import_rows(event, rows, *, user=None, notify=False):
    """Create the grants of the valid rows; returns (created, skipped)."""
    created = skipped = 0
    for row in rows:
        if row['errors']:
            skipped += 1
            continue
        try:
            workflow.create_grant(event, user=user, notify=notify, **row['values'])
        except workflow.DuplicateGrant:
            skipped += 1
        else:
            created += 1
    return created, skipped
