"""
A grant programme built through the plugin's public flows: applications in the shop, reviews and published
decisions (workflow, in the organizer's scope as pretix's middleware sets it), replies on the grantee's page,
tickets bought and checked in through pretix, claims sent on the grantee's claim page, approved and paid.

``EXPECTED`` is what the programme is, by construction: the figures the page, the CSV and the PDF must show.
"""
from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.utils.timezone import now
from django_scopes import scope, scopes_disabled
from pretix.base.models import User, Voucher

from pretix_grants import reviews, workflow
from pretix_grants.claims import rules as claims
from pretix_grants.models import Claim, Grant

from ..claims.conftest import claim_url, form, upload
from ..conftest import committed
from ..lifecycle.helpers import check_in, order_with_voucher

QUESTIONS = [
    {'id': 'country', 'type': 'text', 'question': {'en': 'Country of residence'}, 'required': False},
    {'id': 'first_time', 'type': 'boolean', 'question': {'en': 'Is this your first conference?'}, 'required': False},
]
# (country, first time, decision, reply, ticket order, checked in, claim: travel claimed, approved, paid)
PEOPLE = [
    ('IT', 'yes', 'approved', 'confirm', True, True, ('150.00', '150.00', True)),
    ('IT', 'yes', 'approved', 'confirm', True, True, ('200.00', '180.00', True)),
    ('IT', 'no', 'approved', 'confirm', True, True, ('100.00', '100.00', False)),
    ('IT', 'no', 'approved', 'confirm', True, True, ('120.00', None, False)),
    ('IT', 'no', 'approved', 'confirm', True, False, None),
    ('IT', '', 'approved', 'confirm', False, False, None),
    ('DE', 'yes', 'approved', 'refuse', False, False, None),
    ('DE', 'no', 'approved', None, False, False, None),
    ('DE', 'no', 'rejected', None, False, False, None),
    ('DE', 'yes', 'rejected', None, False, False, None),
    ('FR', 'no', 'waiting_list', None, False, False, None),
    ('', 'no', None, None, False, False, None),
]
REVIEWED = 9  # the first nine applications get a score
TRAVEL = Decimal('200.00')
ACCOMMODATION = Decimal('100.00')  # for every second offered grant
BUDGET = Decimal('3000.00')
BUDGETS = {'travel': Decimal('1500.00'), 'accommodation': Decimal('500.00')}  # no budget of its own for "other"
OTHER_TICKETS, OTHER_CHECKED_IN = 3, 2  # attendees without a grant


def apply(event, n, country, first_time):
    data = {
        'name': f'Applicant {n}', 'email': f'applicant{n}@example.org', 'locale': 'en',
        'motivation': 'I want to learn and meet the community.', 'requested_ticket': 'on',
        'requested_travel': '200.00', 'requested_accommodation': '', 'requested_other': '',
        'justification': 'Train and back.', 'question_country': country, 'question_first_time': first_time,
    }
    r = Client().post(f'/{event.organizer.slug}/{event.slug}/grants/apply/', data)
    assert r.status_code == 302, r.content.decode()[:2000]


def build(event, item):
    """Run the programme; returns the grants in the order of ``PEOPLE``."""
    event.settings.grants_application_questions = QUESTIONS
    event.settings.grants_applications_open = now() - timedelta(days=40)
    event.settings.grants_applications_close = now() + timedelta(days=1)
    event.settings.grants_voucher_item = item.pk
    event.settings.grants_budget = BUDGET
    for category, amount in BUDGETS.items():
        event.settings.set(f'grants_budget_{category}', amount)
    for n, person in enumerate(PEOPLE):
        apply(event, n, person[0], person[1])
    with scopes_disabled():
        grants = list(Grant.objects.filter(event=event).order_by('pk'))
        reviewer = User.objects.create_user('reviewer@example.org', 'x')
        checkin_list = event.checkin_lists.create(name='Entrance', all_products=True)
    assert len(grants) == len(PEOPLE)
    with scope(organizer=event.organizer):
        for g in grants[:REVIEWED]:
            reviews.score(g, reviewer, 4)
        offered = 0
        for g, person in zip(grants, PEOPLE):
            if person[2] == 'approved':
                workflow.change_fields(g, {'travel_amount': TRAVEL, 'accommodation_amount':
                                           ACCOMMODATION if offered % 2 else Decimal('0.00')})
                offered += 1
            if person[2]:
                workflow.stage_decision(g, person[2])
                with committed():
                    workflow.publish(g)
        for g, person in zip(grants, PEOPLE):
            with committed():
                if person[3] == 'confirm':
                    workflow.confirm(g)
                elif person[3] == 'refuse':
                    workflow.refuse(g)
    with scopes_disabled():
        grants = list(Grant.objects.filter(event=event).order_by('pk'))
    # pretix's own cart, order and check-in services (the helpers read their results back without a scope)
    with scopes_disabled():
        for n, (g, person) in enumerate(zip(grants, PEOPLE)):
            if person[4]:
                voucher = Voucher.objects.get(pk=g.voucher_id)
                order = order_with_voucher(event, item, voucher, email=g.email, cart_id=f'cart-{n}')
                if person[5]:
                    check_in(order, checkin_list)
        public = Voucher.objects.create(event=event, code='FRIENDS', item=item, price_mode='set', value=0,
                                        max_usages=OTHER_TICKETS)
        for n in range(OTHER_TICKETS):
            order = order_with_voucher(event, item, public, email=f'friend{n}@example.org', cart_id=f'friend-{n}')
            if n < OTHER_CHECKED_IN:
                check_in(order, checkin_list)
    # the event is over: claims are open
    with scopes_disabled():
        event.date_from = now() - timedelta(days=7)
        event.date_to = now() - timedelta(days=5)
        event.save()
    for g, person in zip(grants, PEOPLE):
        if person[6]:
            travel, approved, paid = person[6]
            data = form('submit', travel_amount=travel, accommodation_amount='', accommodation_description='')
            r = Client().post(claim_url(g), {**data, 'travel_receipts': upload()})
            assert r.status_code == 302, r.content.decode()[:3000]
    with scope(organizer=event.organizer):
        for g, person in zip(grants, PEOPLE):
            if person[6] and person[6][1]:
                claim = Claim.objects.get(grant=g)
                with committed():
                    claims.approve(claim, Decimal(person[6][1]))
                if person[6][2]:
                    with committed():
                        claims.mark_paid([Claim.objects.get(grant=g)])
    return grants


def expected():
    """The programme's true figures, from ``PEOPLE``."""
    offered = [p for p in PEOPLE if p[2] == 'approved']
    holding = [i for i, p in enumerate(offered) if p[3] != 'refuse']
    confirmed = [i for i, p in enumerate(offered) if p[3] == 'confirm']
    accommodation = [i for i in range(len(offered)) if i % 2]
    claimed = [p[6] for p in PEOPLE if p[6]]
    return {
        'funnel': {
            'applied': len(PEOPLE), 'reviewed': REVIEWED, 'offered': len(offered),
            'confirmed': len(confirmed), 'redeemed': sum(1 for p in PEOPLE if p[4]),
            'checked_in': sum(1 for p in PEOPLE if p[5]), 'claim_submitted': len(claimed),
            'paid': sum(1 for c in claimed if c[2]),
        },
        'status': {
            'pending': 1, 'approved': 1, 'waiting_list': 1, 'rejected': 2, 'confirmed': len(confirmed),
            'refused': 1, 'expired': 0, 'cancelled': 0,
        },
        'country': {'Italy': 6, 'Germany': 4, 'France': 1, 'No answer': 1},
        'first_time': {'Yes': 4, 'No': 7, 'No answer': 1},
        'money': {
            'granted_travel': TRAVEL * len(holding),
            'granted_accommodation': ACCOMMODATION * len([i for i in holding if i in accommodation]),
            'confirmed_travel': TRAVEL * len(confirmed),
            'confirmed_accommodation': ACCOMMODATION * len([i for i in confirmed if i in accommodation]),
            'claimed_travel': sum(Decimal(c[0]) for c in claimed),
            'approved': sum(Decimal(c[1]) for c in claimed if c[1]),
            'paid': sum(Decimal(c[1]) for c in claimed if c[2]),
        },
        'attendance_grantees': round(100 * 4 / 5),
        'attendance_all': round(100 * (4 + OTHER_CHECKED_IN) / (5 + OTHER_TICKETS)),
    }
