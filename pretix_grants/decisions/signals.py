"""The decisions' receivers and log texts; wiring only (``pretix_grants.signals`` imports this module)."""
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from pretix.base.logentrytype_registry import log_entry_types
from pretix.base.logentrytypes import EventLogEntryType

from ..hooks import grant_status_changed
from . import tasks


@receiver(grant_status_changed, dispatch_uid='pretix_grants_decisions_second_round')
def decisions_second_round(sender, grant, old_status, new_status, **kwargs):
    tasks.queue_second_round(sender, grant, old_status, new_status)


@log_entry_types.new_from_dict({
    'pretix_grants.grant.draw_committed': _('The grant is tied at the funding line: a draw has been committed to '
                                            '(commitment {commitment}).'),
    'pretix_grants.grant.second_round': _('The freed money goes to the next grant of the waiting list in the second '
                                          'round (grant {grant}, rank {rank}).'),
    'pretix_grants.grant.second_round_none': _('The freed money does not cover anyone left on the waiting list.'),
    'pretix_grants.grant.conflict_declared': _('A conflict of interest has been declared for a team member.'),
    'pretix_grants.grant.conflict_removed': _('A conflict of interest has been removed.'),
    'pretix_grants.draw.committed': _('A draw at the funding line has been committed to (commitment {commitment}).'),
    'pretix_grants.draw.drawn': _('The lots have been drawn (seed {seed}).'),
    'pretix_grants.draw.superseded': _('The draw has been replaced by a new one: {reason}'),
})
class DecisionLogEntryType(EventLogEntryType):
    pass
