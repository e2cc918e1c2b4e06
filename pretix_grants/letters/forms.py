"""The data of a visa invitation letter, as the requester gives it and the organizers correct it (letters/rules.py)."""
import re
import unicodedata

from django import forms
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from pretix.base.forms.widgets import DatePickerWidget

from ..models import LetterRequest

PASSPORT_NUMBER = re.compile(r'^[A-Z0-9]{5,20}$')
NAME_PUNCTUATION = set(" -'.,")


def is_latin_name(value):
    """Letters of the Latin script (with their diacritics), spaces and the punctuation names use."""
    for ch in value:
        if ch in NAME_PUNCTUATION:
            continue
        if unicodedata.category(ch) in ('Mn', 'Mc'):
            continue  # a combining accent
        if not ch.isalpha() or not unicodedata.name(ch, '').startswith('LATIN '):
            return False
    return True


class LetterForm(forms.ModelForm):
    class Meta:
        model = LetterRequest
        fields = ['full_name', 'nationality', 'passport_number', 'passport_expiry', 'date_of_birth', 'address',
                  'consulate']
        widgets = {
            'passport_expiry': DatePickerWidget(),
            'date_of_birth': DatePickerWidget(),
            'address': forms.Textarea(attrs={'rows': 3}),
            'consulate': forms.Textarea(attrs={'rows': 3}),
        }
        help_texts = {
            'full_name': _('Exactly as printed in your passport, in Latin letters.'),
            'consulate': _('The consulate or embassy you will hand the letter to, with its address.'),
            'address': _('Where you live.'),
        }

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        for name in self.Meta.fields:
            self.fields[name].required = True
        self.fields['nationality'].widget.attrs['autocomplete'] = 'off'

    def clean_full_name(self):
        value = ' '.join(self.cleaned_data['full_name'].split())
        if not is_latin_name(value):
            raise forms.ValidationError(
                _('Please enter your name as printed in the Latin-script line of your passport.'))
        return value

    def clean_passport_number(self):
        value = re.sub(r'[\s-]', '', self.cleaned_data['passport_number']).upper()
        if not PASSPORT_NUMBER.match(value):
            raise forms.ValidationError(
                _('A passport number has 5 to 20 letters and digits.'))
        return value

    def clean_passport_expiry(self):
        value = self.cleaned_data['passport_expiry']
        end = (self.event.date_to or self.event.date_from).astimezone(self.event.timezone).date()
        if value <= end:
            raise forms.ValidationError(
                _('Your passport must be valid until after the event.'))
        return value

    def clean_date_of_birth(self):
        value = self.cleaned_data['date_of_birth']
        if value >= now().astimezone(self.event.timezone).date():
            raise forms.ValidationError(_('Your date of birth must be in the past.'))
        if value.year < 1900:
            raise forms.ValidationError(_('Please check your date of birth.'))
        return value

    def clean_address(self):
        return self.cleaned_data['address'].strip()

    def clean_consulate(self):
        return self.cleaned_data['consulate'].strip()
