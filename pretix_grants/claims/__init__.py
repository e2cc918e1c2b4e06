"""
Reimbursement claims, the whole feature: after the event a grantee claims the granted amounts back against
receipts, the organizers decide and pay.

- ``rules``: the claim's states, window, checks, receipts and payout details
- ``payouts``: payout batches, each a payout file (SEPA, CSV, Excel) paying each approved claim once
- ``views``: the grantee's claim page and receipts; ``control``: the organizers' pages; ``api``: the REST resource
- ``signals``: its receivers and log texts; ``shredder``: its part of pretix's data shredder; ``webhooks``: its
  webhook events

May import the core (models, defaults, permissions, hooks, mails, issuance, workflow, ...) and ``pretix_grants.base``;
never another feature package (``letters``). Wired up by ``apps.ready`` (its ``signals``), ``urls`` and
``control.urls``.
"""
