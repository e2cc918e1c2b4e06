import uuid
from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from pretix.base.modelimport import parse_csv
from pretix.base.models import CachedFile

from ..base.pages import PluginPageMixin
from ..permissions import MANAGE
from .importer import MappingForm, UploadForm, check_rows, import_rows
from .views import grant_url


class ImportUpload(PluginPageMixin, FormView):
    permission = MANAGE
    template_name = 'pretix_grants/control/import_upload.html'
    form_class = UploadForm

    def form_valid(self, form):
        f = form.cleaned_data['file']
        if f.size > 1024 * 1024 * 10:
            form.add_error('file', _('Please do not upload files larger than 10 MB.'))
            return self.form_invalid(form)
        cf = CachedFile.objects.create(expires=now() + timedelta(days=1), date=now(), filename='grants.csv',
                                       type='text/csv', web_download=False,
                                       session_key=self.request.session.session_key)
        cf.file.save('grants.csv', f)
        try:
            reader = parse_csv(cf.file, 1024 * 1024)
        except UnicodeDecodeError:
            reader = None
        if reader is None or not reader.fieldnames:
            cf.delete()
            form.add_error('file', _('This does not look like a CSV file with a header row.'))
            return self.form_invalid(form)
        return redirect(grant_url(self.request.event, 'import.map', file=cf.pk))


class ImportMap(PluginPageMixin, FormView):
    permission = MANAGE
    template_name = 'pretix_grants/control/import_map.html'

    @cached_property
    def file(self):
        try:
            file_id = uuid.UUID(self.kwargs['file'])
        except ValueError:  # 36 hex digits and dashes in the URL, but not a UUID
            file_id = None
        cf = CachedFile.objects.filter(id=file_id, filename='grants.csv',
                                       session_key=self.request.session.session_key).first() if file_id else None
        if not cf or not cf.file:
            raise Http404(_('The uploaded file is not available (any more). Please upload it again.'))
        return cf

    def reader(self):
        return parse_csv(self.file.file, 1024 * 1024 * 10)

    def get_form(self, form_class=None):
        return MappingForm(data=self.request.POST if self.request.method == 'POST' else None,
                           headers=self.reader().fieldnames)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx['filename'] = self.file.filename
        return ctx

    def form_valid(self, form):
        rows = check_rows(self.request.event, self.reader(), form.mapping())
        if self.request.POST.get('step') != 'import':
            return self.render_to_response(self.get_context_data(
                form=form, rows=rows, valid=sum(1 for r in rows if not r['errors']),
                duplicates=sum(1 for r in rows if r['duplicate']),
                invalid=sum(1 for r in rows if r['errors'] and not r['duplicate']),
            ))
        created, skipped = import_rows(self.request.event, rows, user=self.request.user,
                                       notify=form.cleaned_data['notify'])
        messages.success(self.request, _('{created} grants have been imported, {skipped} rows were skipped.').format(
            created=created, skipped=skipped))
        return redirect(grant_url(self.request.event, 'list'))
