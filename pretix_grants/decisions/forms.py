from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from . import programme, rules


class ProposalForm(forms.Form):
    """How the proposal is made: read from the Decide page's query string, the API's body, or the defaults."""
    strategy = forms.ChoiceField(label=_('Strategy'), choices=programme.STRATEGIES, initial=rules.BY_RANK)
    basis = forms.ChoiceField(label=_('Rank by'), choices=programme.BASES, initial=rules.RAW)
    part = forms.DecimalField(
        label=_('Part of the requested amounts offered'), min_value=Decimal('0.01'), max_value=Decimal('1'),
        max_digits=3, decimal_places=2, initial=Decimal('1'), required=False,
        help_text=_('1 offers what was asked for; 0.8 offers 0.8 times that (to the cent, down), within the caps.'))
    min_score = forms.DecimalField(label=_('Minimum score'), min_value=Decimal('1'), max_value=Decimal('5'),
                                   max_digits=4, decimal_places=2, required=False)

    def options(self):
        d = self.cleaned_data
        return programme.Options(strategy=d['strategy'], basis=d['basis'], part=d.get('part') or Decimal('1'),
                                 min_score=float(d['min_score']) if d.get('min_score') is not None else None)


def options_from(data, event):
    """The options in ``data`` (a QueryDict or dict); ``None`` and the form with its errors if they are invalid."""
    initial = {'strategy': rules.BY_RANK, 'basis': event.settings.get('grants_ranking_basis', as_type=str) or rules.RAW,
               'part': Decimal('1')}
    form = ProposalForm(data={**initial, **{k: v for k, v in data.items() if k in ProposalForm.base_fields}})
    if not form.is_valid():
        return None, form
    return form.options(), form


class DrawForm(forms.Form):
    reason = forms.CharField(label=_('Reason for a new draw'), max_length=2000, required=False,
                             widget=forms.Textarea(attrs={'rows': 2}),
                             help_text=_('Only needed if lots have already been drawn for this line; it is logged.'))


class ConflictForm(forms.Form):
    grant = forms.IntegerField(label=_('Application (grant id)'), min_value=1, max_value=2 ** 31 - 1)
    email = forms.EmailField(label=_('Team member\'s e-mail'), max_length=254, required=False,
                             help_text=_('Leave empty to declare your own conflict.'))
