"""
Files that belong to rows (receipts, letter PDFs) are deleted with their row, whichever way the row goes (the API, a
cascade from a grant, an event, an organizer, pretix deleting a test-mode order): after the deletion commits, each
file on its own. A storage error does not stop the others: the name is kept in ``FileToDelete`` and pretix's
periodic job tries again.
"""
import logging

from django.core.files.storage import default_storage
from django.db import transaction

from .models import FileToDelete

logger = logging.getLogger(__name__)


def delete_after_commit(name):
    if name:
        transaction.on_commit(lambda: delete([name]))


def delete(names):
    """Delete each file; returns the names the storage refused (kept for a retry)."""
    failed = []
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception('Could not delete the file %s; it is retried later', name)
            failed.append(name)
            entry, created = FileToDelete.objects.get_or_create(name=name)
            FileToDelete.objects.filter(pk=entry.pk).update(attempts=entry.attempts + 1)
        else:
            FileToDelete.objects.filter(name=name).delete()
    return failed


def retry():
    """The files a storage error left behind (pretix's periodic task)."""
    return delete(list(FileToDelete.objects.order_by('pk').values_list('name', flat=True)[:500]))
