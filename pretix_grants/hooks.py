"""
The plugin's own signals. A leaf: the core sends them, ``signals.py`` wires the receivers, nobody imports back up.
"""
from pretix.base.signals import EventPluginSignal

grant_status_changed = EventPluginSignal()
"""
Sent after a grant's status change has been committed, to the plugins active on its event.

Arguments: ``sender`` the event, ``grant`` the grant, ``old_status`` and ``new_status``.
"""

grant_mails_owed = EventPluginSignal()
"""
Sent after a transaction committed voucher mails owed to grantees (``mails.owe_voucher``), so a worker hands them
to pretix.

Arguments: ``sender`` the event, ``record_ids`` the ``GrantMail`` ids.
"""
