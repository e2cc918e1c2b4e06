"""
Decisions: the allocation proposal on the Decide page, the public lot among the applicants tied at the funding
line, calibrated reviewer scores, conflicts of interest and the second round from declined offers.

``rules`` is pure (plain data in, plain data out); ``programme`` loads an event's applications in a constant number
of queries and stages, draws and re-allocates through the core (``workflow``, ``lifecycle``). The package may import
the core (models, defaults, permissions, hooks, reviews, workflow, lifecycle, mails) and ``base``; no other
feature package.
"""
