"""
The person's own ticket: a grantee who already bought a ticket of the grant product gets no second one, and an
applicant waiting for a decision can have a ticket held for them.

- ``rules``: finding the person's orders, what confirmation does with them (refund through pretix's refunds, keep
  the order, or ask the grantee), retrying a failed refund, and the held places (a ``block_quota`` voucher).
- ``views`` (the grantee's choice on the reply page), ``control`` (the grant page's panel, retrying a refund),
  ``api`` (the REST resource), ``signals`` (receivers, log texts, mail placeholders).

May import the core (models, defaults, hooks, mails, issuance, workflow, permissions) and ``base``; no other
feature package. The core knows nothing of this package: it asks ``hooks.grant_own_ticket`` and shows the
``hooks.grant_page_panels`` / ``grant_reply_panels``.
"""
