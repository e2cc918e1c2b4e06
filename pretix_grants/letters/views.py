"""
Visa invitation letters in the event's shop (letters/rules.py): the request form and the download under the grant's
secret URL or the order's own URL, the box on pretix's order page, and the public verification page.

A letter is only ever reached through the secret URL of the grant or order it belongs to: another grant's or
order's secret, or a made-up one, gives a 404. The verification page shows only the name, the event and whether
the letter is valid.
"""
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from pretix.multidomain.urlreverse import eventreverse
from pretix.presale.views import EventViewMixin
from pretix.presale.views.order import OrderDetailMixin

from ..base.grantpage import GrantPageMixin
from ..models import LetterRequest
from . import rules as letters
from .forms import LetterForm


def pdf_response(letter):
    content = letters.pdf_content(letter)
    if content is None:
        raise Http404(_('This letter is not available.'))
    response = HttpResponse(content, content_type='application/pdf')
    response['Content-Disposition'] = f'attachment; filename="{letters.filename(letter)}"'
    response['Cache-Control'] = 'private, no-store'
    response['X-Robots-Tag'] = 'noindex'
    return response


class LetterPageMixin:
    """The letters of one grant or order and the form for one more; ``owner`` is the grant or order filter."""
    template_name = 'pretix_grants/letters/request.html'

    def owner(self):
        raise NotImplementedError

    def may_add(self):
        return letters.can_add(**self.owner())

    def may_see(self):
        raise NotImplementedError

    def page_url(self):
        raise NotImplementedError

    def pdf_url(self, letter):
        raise NotImplementedError

    def back_url(self):
        raise NotImplementedError

    def get_form(self):
        return LetterForm(data=self.request.POST if self.request.method == 'POST' else None, event=self.request.event,
                          prefix='letter')

    def letter_context(self, form=None):
        items = list(letters.letters_of(**self.owner()))
        for letter in items:
            letter.download_url = self.pdf_url(letter) if letter.status == LetterRequest.STATUS_APPROVED else None
        return {
            'letters': items,
            'can_request': self.may_add(),
            'letter_form': form if form is not None else (self.get_form() if self.may_add() else None),
            'letter_page_url': self.page_url(),
            'back_url': self.back_url(),
        }

    def get(self, request, *args, **kwargs):
        if not self.may_see():
            raise Http404(_('Invitation letters are not available here.'))
        return self.render_to_response(self.get_context_data(**self.letter_context()))

    def post(self, request, *args, **kwargs):
        if not self.may_see():
            raise Http404(_('Invitation letters are not available here.'))
        if not self.may_add():
            messages.error(request, _('You cannot request another invitation letter here.'))
            return redirect(self.page_url())
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _('We could not save your request. Please check the fields marked below.'))
            return self.render_to_response(self.get_context_data(**self.letter_context(form)))
        try:
            letters.request_letter(request.event, form.cleaned_data, locale=request.LANGUAGE_CODE, **self.owner())
        except letters.LetterError as e:
            messages.error(request, str(e))
            return redirect(self.page_url())
        messages.success(request, _('Thank you: we have received your request for an invitation letter. We will '
                                    'tell you by email as soon as it is ready.'))
        return redirect(self.page_url())


class GrantLetterView(LetterPageMixin, GrantPageMixin, TemplateView):
    """``grant/<secret>/letter/``: the grant's letters and the request form, found as the reply page finds its grant."""
    template_name = 'pretix_grants/letters/request.html'
    holds_personal_data = True

    def owner(self):
        return {'grant': self.grant}

    def may_see(self):
        return letters.may_request_for_grant(self.grant) or letters.letters_of(grant=self.grant).exists()

    def page_url(self):
        return eventreverse(self.request.event, 'plugins:pretix_grants:letter.grant', kwargs={'secret': self.grant.secret})

    def pdf_url(self, letter):
        return eventreverse(self.request.event, 'plugins:pretix_grants:letter.grant.pdf',
                            kwargs={'secret': self.grant.secret, 'reference': letter.reference})

    def back_url(self):
        return self.url


class GrantLetterPdf(GrantPageMixin, View):
    holds_personal_data = True

    def get(self, request, *args, **kwargs):
        letter = letters.letters_of(grant=self.grant).filter(reference=kwargs['reference']).first()
        if letter is None:
            raise Http404(_('This letter is not available.'))
        return pdf_response(letter)


class OrderLetterMixin(OrderDetailMixin):
    def dispatch(self, request, *args, **kwargs):
        resp = self.verify_order_access()
        if resp:
            return resp
        return super().dispatch(request, *args, **kwargs)


@method_decorator(never_cache, name='dispatch')
class OrderLetterView(LetterPageMixin, EventViewMixin, OrderLetterMixin, TemplateView):
    """``order/<code>/<secret>/letter/``: a ticket holder's letters, under the order's own URL."""

    def owner(self):
        return {'order': self.order}

    def may_see(self):
        return letters.may_request_for_order(self.order) or letters.letters_of(order=self.order).exists()

    def page_url(self):
        return eventreverse(self.request.event, 'plugins:pretix_grants:letter.order',
                            kwargs={'order': self.order.code, 'secret': self.order.secret})

    def pdf_url(self, letter):
        return eventreverse(self.request.event, 'plugins:pretix_grants:letter.order.pdf',
                            kwargs={'order': self.order.code, 'secret': self.order.secret,
                                    'reference': letter.reference})

    def back_url(self):
        return self.get_order_url()


@method_decorator(never_cache, name='dispatch')
class OrderLetterPdf(EventViewMixin, OrderLetterMixin, View):
    def get(self, request, *args, **kwargs):
        letter = letters.letters_of(order=self.order).filter(reference=kwargs['reference']).first()
        if letter is None:
            raise Http404(_('This letter is not available.'))
        return pdf_response(letter)


class VerifyView(EventViewMixin, TemplateView):
    """
    ``letters/verify/<reference>/``, printed on the letter for consulates: the name, the event and whether the
    letter is valid; nothing else about the person. A reference that never became a letter is unknown (404).
    """
    template_name = 'pretix_grants/letters/verify.html'

    def get_context_data(self, **kwargs):
        letter = letters.find_by_reference(self.request.event, self.kwargs['reference'])
        if letter is None or not letters.was_issued(letter):
            raise Http404(_('We do not know a letter with this reference.'))
        ctx = super().get_context_data(**kwargs)
        ctx.update({'letter_name': letter.full_name, 'letter_valid': letters.is_valid(letter),
                    'letter_reference': letter.reference, 'letter_issued_at': letter.issued_at})
        return ctx


def order_info(event, order, request):
    """The box on pretix's order page: the order's letters and a link to request one (if the organizers allow)."""
    items = list(letters.letters_of(order=order))
    if not letters.may_request_for_order(order) and not items:
        return ''
    url = eventreverse(event, 'plugins:pretix_grants:letter.order', kwargs={'order': order.code, 'secret': order.secret})
    for letter in items:
        letter.download_url = eventreverse(
            event, 'plugins:pretix_grants:letter.order.pdf',
            kwargs={'order': order.code, 'secret': order.secret, 'reference': letter.reference},
        ) if letter.status == LetterRequest.STATUS_APPROVED else None
    return render_to_string('pretix_grants/letters/order_info.html', {
        'letters': items, 'letter_page_url': url, 'can_request': letters.can_add(order=order), 'event': event,
    }, request=request)
