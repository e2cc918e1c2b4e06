"""
Visa invitation letters, the whole feature: a grantee or ticket holder asks, the organizers issue a PDF letter with a
QR code that anyone can verify, or reject the request.

- ``rules``: who may ask, the request's states and steps; ``pdf``: the letter's PDF; ``forms``: the request's fields
- ``views``: the grantee's and ticket holder's pages and the verification page; ``control``: the organizers' pages;
  ``api``: the REST resource
- ``signals``: its receivers and log texts; ``shredder``: its part of pretix's data shredder; ``webhooks``: its
  webhook event

May import the core (models, defaults, permissions, hooks, mails, issuance, workflow, ...) and ``pretix_grants.base``;
never another feature package (``claims``). Wired up by ``apps.ready`` (its ``signals``), ``urls`` and
``control.urls``.
"""
