"""
``{% grant_form form %}`` and ``{% grant_field form.field %}``: a form in pretix's control layout (as
``bootstrap_form … layout="control"``; ``layout="inline"`` and ``"vertical"`` for bootstrap's own), with two things
pretix's control renderer leaves out and its shop renderer does: each field's help text and errors are linked to it
(``aria-describedby`` names elements on the page; pretix's and bootstrap's layouts keep Django's ``…_helptext``
reference, which no element carries), and each language's box of a multi-language field is named by the field's
label and its language (pretix's names it by its title only).
"""
from bootstrap3.renderers import (
    FieldRenderer, FormRenderer, InlineFieldRenderer,
)
from django import template
from django.conf import settings
from django.forms import CheckboxInput
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from i18nfield.forms import I18nWidget
from pretix.control.forms.renderers import ControlFieldRenderer

register = template.Library()


class Described:
    """What both renderers add: the help text and errors as elements with ids, named by aria-describedby."""
    description_class = 'help-block'

    def description_ids(self):
        ids = [f'{self.field.auto_id}_error_{i}' for i in range(len(self.field_errors))]
        if self.field_help:
            ids.append(f'{self.field.auto_id}_helptext')
        return ids

    def add_widget_attrs(self):
        super().add_widget_attrs()
        if isinstance(self.widget, I18nWidget):
            names = dict(settings.LANGUAGES)
            for widget in self.widget.widgets:
                lang = widget.attrs.get('lang')
                widget.attrs['aria-label'] = f'{self.field.label} ({names.get(lang, lang)})'
        ids = ' '.join(self.description_ids())
        if ids:
            # on the field's own widget, where Django looks before it adds a reference of its own, and on each box
            # of a multi-language field
            for widget in [self.widget, *getattr(self.widget, 'widgets', [])]:
                widget.attrs['aria-describedby'] = ids

    def append_to_field(self, html):
        # field_errors are escaped by bootstrap3; field_help is the field's help text, which may hold markup
        texts = self.field_errors + ([self.field_help] if self.field_help else [])
        for text, id_ in zip(texts, self.description_ids()):
            html += format_html('<div class="{}" id="{}">{}</div>', self.description_class, id_, mark_safe(text))
        return html


class DescribedFieldRenderer(Described, ControlFieldRenderer):
    """pretix's control layout."""

    def add_label(self, html):
        if isinstance(self.widget, CheckboxInput):
            # the box sits inside a label of its own: the column beside it stays empty, not a second label of the box
            return format_html('<div class="{}"></div>', self.get_label_class()) + html
        return super().add_label(html)

    def add_help_attrs(self, widget=None):
        # no help text as the title: it is the field's description, read once
        pass


class DescribedVerticalFieldRenderer(Described, FieldRenderer):
    """bootstrap's own layout (label above the field)."""

    def add_help_attrs(self, widget=None):
        pass


class DescribedInlineFieldRenderer(Described, InlineFieldRenderer):
    """bootstrap's inline layout: the help and errors stay in the fields' titles for the eye, and are read out."""
    description_class = 'sr-only'


RENDERERS = {'control': DescribedFieldRenderer, 'inline': DescribedInlineFieldRenderer,
             'vertical': DescribedVerticalFieldRenderer}


class DescribedFormRenderer(FormRenderer):

    def render_fields(self):
        renderer = RENDERERS[self.layout]
        return '\n'.join(renderer(field, layout=self.layout, show_help=self.show_help, exclude=self.exclude).render()
                         for field in self.form)


@register.simple_tag
def grant_form(form, layout='control'):
    return DescribedFormRenderer(form, layout=layout).render()


@register.simple_tag
def grant_field(field, layout='control'):
    return RENDERERS[layout](field, layout=layout).render()
