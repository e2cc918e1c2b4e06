"""
``{% grant_form form %}`` and ``{% grant_field form.field %}``: a form in pretix's control layout (as
``bootstrap_form … layout="control"``), with two things pretix's control renderer leaves out and its shop renderer
does: each field's help text and errors are linked to it (``aria-describedby`` names elements on the page; pretix's
control layout keeps Django's ``…_helptext`` reference, which no element carries), and each language's box of a
multi-language field is named by the field's label and its language (pretix's names it by its title only).
"""
from bootstrap3.renderers import FormRenderer
from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from i18nfield.forms import I18nWidget
from pretix.control.forms.renderers import ControlFieldRenderer

register = template.Library()


class DescribedFieldRenderer(ControlFieldRenderer):

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

    def add_help_attrs(self, widget=None):
        # no help text as the title: it is the field's description (below), read once
        widget = self.widget if widget is None else widget
        ids = self.description_ids()
        if ids:
            widget.attrs['aria-describedby'] = ' '.join(ids)
        if widget is not self.widget and self.widget.attrs.get('aria-describedby') is None and ids:
            # Django looks for the reference on the field's own widget before it adds one of its own
            self.widget.attrs['aria-describedby'] = ' '.join(ids)

    def append_to_field(self, html):
        ids = self.description_ids()
        # field_errors are escaped by bootstrap3; field_help is the field's help text, which may hold markup
        for text, id_ in zip(self.field_errors + ([self.field_help] if self.field_help else []), ids):
            html += format_html('<div class="help-block" id="{}">{}</div>', id_, mark_safe(text))
        return html


class DescribedFormRenderer(FormRenderer):

    def render_fields(self):
        return '\n'.join(DescribedFieldRenderer(field, layout='control', show_help=self.show_help,
                                                exclude=self.exclude).render() for field in self.form)


@register.simple_tag
def grant_form(form):
    return DescribedFormRenderer(form, layout='control').render()


@register.simple_tag
def grant_field(field):
    return DescribedFieldRenderer(field, layout='control').render()
