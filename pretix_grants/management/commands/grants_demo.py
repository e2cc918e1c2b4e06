"""
Demo data: an organizer, an event with the plugin on, a ticket with a quota, a 25% co-speaker voucher sent with
pretix's own voucher mail, and grants in every status, made through the plugin's own workflow.
"""
import io
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.utils.timezone import now
from django_scopes import scopes_disabled
from i18nfield.strings import LazyI18nString
from PIL import Image, ImageDraw
from pretix.base.models import Event, Organizer, User
from pretix.base.services.vouchers import vouchers_send
from pretix.helpers.urls import mainreverse_absolute
from pretix.multidomain.urlreverse import eventreverse_absolute
from reportlab.pdfgen import canvas

from pretix_grants import mails, workflow
from pretix_grants.claims import rules as claims
from pretix_grants.letters import rules as letters
from pretix_grants.models import Grant

EMAIL, PASSWORD = 'admin@localhost', 'admin'

GRANTS = [
    # name, email, locale, travel, accommodation, how far along
    ('Ada Lovelace', 'ada@example.org', 'en', '250.00', '180.00', 'approved'),
    ('Grace Hopper', 'grace@example.org', 'en', '400.00', '0.00', 'confirmed'),
    ('Alan Turing', 'alan@example.org', 'en', '0.00', '0.00', 'confirmed'),
    ('Jonas Becker', 'jonas@example.org', 'de', '120.00', '90.00', 'approved'),
    ('Katherine Johnson', 'katherine@example.org', 'en', '300.00', '200.00', 'pending'),
    ('Linus Meyer', 'linus@example.org', 'de', '80.00', '0.00', 'staged'),
    ('Margaret Hamilton', 'margaret@example.org', 'en', '500.00', '300.00', 'waiting_list'),
    ('Dennis Ritchie', 'dennis@example.org', 'en', '600.00', '0.00', 'rejected'),
    ('Barbara Liskov', 'barbara@example.org', 'en', '150.00', '0.00', 'refused'),
    ('Edsger Dijkstra', 'edsger@example.org', 'en', '200.00', '100.00', 'expired'),
    ('Frances Allen', 'frances@example.org', 'en', '100.00', '0.00', 'cancelled'),
]


class Command(BaseCommand):
    help = 'Create a demo organizer, event and grants for pretix-grants (safe to run again).'

    @scopes_disabled()
    def handle(self, *args, **options):
        user = self.admin()
        organizer, created = Organizer.objects.get_or_create(slug='democon', defaults={'name': 'DemoCon'})
        if created:
            team = organizer.teams.create(name='Organizers', all_events=True, all_event_permissions=True,
                                          all_organizer_permissions=True)
            team.members.add(user)
        event = organizer.events.filter(slug='2027').first() or self.event(organizer, user)
        past = organizer.events.filter(slug='2026').first() or self.past_event(organizer, user)
        # every link from pretix's configured URL ([pretix] url), as pretix's own mails build theirs
        control = {'organizer': organizer.slug, 'event': event.slug}
        self.stdout.write(self.style.SUCCESS(
            '\npretix-grants demo\n'
            '  control panel: {control}  (login {email} / {password})\n'
            '  grants:        {grants}\n'
            '  shop:          {shop}\n'
            '  a grantee page: {reply}\n'
            '  claims:        {claims}\n'
            '  a claim:       {claim}\n'
            '  mails sent:    data/mails/\n'.format(
                email=EMAIL, password=PASSWORD,
                control=mainreverse_absolute('control:index'),
                grants=mainreverse_absolute('plugins:pretix_grants:control.list', kwargs=control),
                shop=eventreverse_absolute(event, 'presale:event.index'),
                reply=mails.reply_url(event.grants.get(email='ada@example.org')),
                claims=mainreverse_absolute('plugins:pretix_grants:control.claims',
                                            kwargs={**control, 'event': past.slug}),
                claim=claims.claim_url(past.grants.get(email='grace@example.org')),
            )
        ))

    def admin(self):
        user = User.objects.filter(email=EMAIL).first() or User(email=EMAIL)
        user.is_staff = True
        user.is_active = True
        user.set_password(PASSWORD)
        user.save()
        return user

    def event(self, organizer, user):
        event = Event.objects.create(
            organizer=organizer, name='DemoCon 2027', slug='2027', currency='EUR', live=True,
            date_from=now() + timedelta(days=90), date_to=now() + timedelta(days=92),
            plugins='pretix.plugins.sendmail,pretix.plugins.statistics,pretix_grants',
        )
        event.settings.locales = ['en', 'de']
        event.settings.locale = 'en'
        ticket = event.items.create(name='Conference ticket', default_price=Decimal('150.00'), admission=True)
        quota = event.quotas.create(name='Conference tickets', size=300)
        quota.items.add(ticket)
        event.settings.grants_voucher_item = ticket.pk
        # applications in the shop (applications.py): open for a month, with one extra question
        event.settings.grants_applications_open = now() - timedelta(days=1)
        event.settings.grants_applications_close = now() + timedelta(days=30)
        event.settings.grants_application_questions = [
            {'id': 'first_time', 'type': 'boolean', 'required': True,
             'question': {'en': 'Is this your first conference?', 'de': 'Ist das Ihre erste Konferenz?'}}]

        cospeaker = event.vouchers.create(code='COSPEAKER25', item=ticket, price_mode='percent',
                                          value=Decimal('25.00'), comment='Co-speaker discount')
        recipients = [{'email': 'ada@example.org', 'number': 1, 'name': 'Ada Lovelace'}]
        vouchers_send(event, [cospeaker.pk], 'Your co-speaker discount for {event}',
                      'Hello {name},\n\nyour discount code: {voucher_list}', recipients, user.pk)

        for name, email, locale, travel, accommodation, stage in GRANTS:
            grant = workflow.create_grant(
                event, user=user, name=name, email=email, locale=locale,
                travel_amount=Decimal(travel), accommodation_amount=Decimal(accommodation),
                requested_travel=Decimal(travel), requested_accommodation=Decimal(accommodation),
            )
            self.advance(grant, stage, user)
        # travel support offered to a speaker (speakers/): a grant of type "speaker", no ticket, waiting for a decision
        workflow.create_grant(
            event, user=user, name='Linus Speaker', email='linus.speaker@example.org', locale='en',
            grant_type=Grant.TYPE_SPEAKER, ticket=False, requested_ticket=False,
            requested_travel=Decimal('500.00'), requested_accommodation=Decimal('200.00'), notify=False)
        self.letters(event, user)
        return event

    def advance(self, grant, stage, user):
        """Walk a grant through the state machine to ``stage``, the way organizers and grantees would."""
        if stage == 'pending':
            return
        decision = {'waiting_list': Grant.STATUS_WAITING_LIST, 'rejected': Grant.STATUS_REJECTED}.get(
            stage, Grant.STATUS_APPROVED)
        workflow.stage_decision(grant, decision, user=user)
        if stage == 'staged':
            return
        workflow.publish(grant, user=user)
        if stage in ('confirmed', 'refused', 'cancelled'):
            workflow.confirm(grant)
        if stage == 'refused':
            workflow.refuse(grant, reason='Cannot travel after all')
        elif stage == 'cancelled':
            workflow.cancel(grant, user=user, reason='Duplicate application')
        elif stage == 'expired':
            Grant.objects.filter(pk=grant.pk).update(reply_deadline=now() - timedelta(hours=1))
            workflow.expire(grant)

    def letters(self, event, user):
        """Visa invitation letters (letters.py): one issued to Grace Hopper, one Ada Lovelace is waiting for."""
        event.location = 'DemoCon Conference Centre\nExample Street 1\n10115 Berlin, Germany'
        event.save(update_fields=['location'])
        event.settings.grants_letters_grantees = True
        event.settings.grants_letter_signatory_name = 'Alex Organizer'
        event.settings.grants_letter_signatory_role = LazyI18nString({
            'en': 'Chair, DemoCon grants committee', 'de': 'Vorsitz, Förderausschuss der DemoCon',
            'it': 'Presidenza, commissione borse di DemoCon', 'fr': 'Présidence, comité des bourses de DemoCon',
            'es': 'Presidencia, comité de becas de DemoCon'})
        event.settings.grants_letter_contact = LazyI18nString({
            lang: f'DemoCon e.V.\nExample Street 1\n10115 Berlin\n{country}\nvisa@democon.example'
            for lang, country in (('en', 'Germany'), ('de', 'Deutschland'), ('it', 'Germania'), ('fr', 'Allemagne'),
                                  ('es', 'Alemania'))})
        expiry = (event.date_to + timedelta(days=400)).date()
        grace = letters.request_letter(event, {
            'full_name': 'Grace Brewster Hopper', 'nationality': 'US', 'passport_number': 'X12345678',
            'passport_expiry': expiry, 'date_of_birth': date(1986, 12, 9), 'address': '1 Navy Yard\nArlington, VA',
            'consulate': 'Embassy of the Federal Republic of Germany\n2300 M Street NW\nWashington, DC 20037',
        }, grant=event.grants.get(email='grace@example.org'))
        letters.approve(grace, user=user)
        letters.request_letter(event, {
            'full_name': 'Ada Augusta Lovelace', 'nationality': 'GB', 'passport_number': '123456789',
            'passport_expiry': expiry, 'date_of_birth': date(1995, 12, 10), 'address': '12 St James Square\nLondon',
            'consulate': 'German Embassy London\n23 Belgrave Square\nLondon SW1X 8PZ',
        }, grant=event.grants.get(email='ada@example.org'))

    # Reimbursement claims (claims.py): a past event whose grantees have claimed, one claim submitted with receipts
    # and one approved, ready for the payout export.
    def past_event(self, organizer, user):
        event = Event.objects.create(
            organizer=organizer, name='DemoCon 2026', slug='2026', currency='EUR', live=True,
            date_from=now() - timedelta(days=10), date_to=now() - timedelta(days=8),
            plugins='pretix.plugins.sendmail,pretix.plugins.statistics,pretix_grants',
        )
        event.settings.locales = ['en', 'de']
        event.settings.locale = 'en'
        ticket = event.items.create(name='Conference ticket', default_price=Decimal('150.00'), admission=True)
        event.quotas.create(name='Conference tickets', size=300).items.add(ticket)
        event.settings.grants_voucher_item = ticket.pk
        event.settings.grants_payout_account_holder = 'DemoCon e.V.'
        event.settings.grants_payout_iban = 'DE02120300000000202051'
        claimants = [
            ('Grace Hopper', 'grace@example.org', '400.00', '150.00', 'DE89370400440532013000', False),
            ('Ada Lovelace', 'ada@example.org', '250.00', '180.00', 'AT611904300234573201', True),
        ]
        for name, email, travel, accommodation, iban, approve in claimants:
            grant = workflow.create_grant(event, user=user, name=name, email=email, locale='en',
                                          travel_amount=Decimal(travel), accommodation_amount=Decimal(accommodation))
            self.advance(grant, 'confirmed', user)
            receipts = {'travel': [receipt_image()], 'accommodation': [receipt_pdf(name)]}
            claim = claims.save(
                grant, items={'travel': (Decimal(travel) - Decimal('20.00'), 'Train there and back'),
                              'accommodation': (Decimal(accommodation), 'Hostel, two nights')},
                payout={'method': 'bank', 'account_holder': name, 'iban': iban},
                new_receipts={cat: [(f, claims.check_receipt(f)) for f in files] for cat, files in receipts.items()},
                submit=True,
            )
            if approve:
                claims.approve(claim, user=user)
        return event


def receipt_image():
    out = io.BytesIO()
    img = Image.new('RGB', (600, 400), (250, 250, 245))
    ImageDraw.Draw(img).text((30, 30), 'RAIL TICKET  Berlin - Vienna  EUR 190.00', fill=(20, 20, 20))
    img.save(out, 'JPEG')
    return SimpleUploadedFile('train-ticket.jpg', out.getvalue(), content_type='image/jpeg')


def receipt_pdf(name):
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 760, f'Invoice - Hostel Vienna - {name} - 2 nights')
    c.save()
    return SimpleUploadedFile('hostel-invoice.pdf', out.getvalue(), content_type='application/pdf')
