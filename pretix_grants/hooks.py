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

grant_own_ticket = EventPluginSignal()
"""
Sent by issuance with a confirmed grant's row locked, before it gives the grant a voucher, to ask whether the
person's ticket is taken care of without one (an order they bought themselves). A receiver that takes care of it
returns a short reason; the grant then gets no voucher and its voucher state says the ticket is the person's own.
Runs inside issuance's transaction: a receiver writes its own rows there and queues slow work for after commit.

Arguments: ``sender`` the event, ``grant`` the locked grant, ``target`` the voucher target (``issuance.Target``).
"""

grant_page_panels = EventPluginSignal()
"""
Sent by the grant's page in the control panel; receivers return HTML (a panel) shown below the voucher panel.

Arguments: ``sender`` the event, ``grant``, ``request``.
"""

grant_reply_panels = EventPluginSignal()
"""
Sent by the grantee's reply page; receivers return HTML shown below the grant's state.

Arguments: ``sender`` the event, ``grant``, ``request``.
"""
