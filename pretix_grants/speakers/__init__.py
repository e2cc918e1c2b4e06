"""
Speakers from pretalx: an event connected to a pretalx event gives the speakers of its talks in the chosen states
a voucher by the organizer's rules (main speaker free; further speakers free or a discount), one per person, the
best the rules give; a talk that leaves those states releases the voucher by the grant core's release rules.

May import the core (models, defaults, mails, issuance, permissions, logentries) and pretix; no other feature.
"""
