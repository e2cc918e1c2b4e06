"""
The visa invitation letter as a PDF, drawn with reportlab like pretix's invoices: one A4 page with the letterhead
(the organizers' logo and contact block), the date, the consulate it is addressed to, the organizers' text with
the request's data filled in, the signature, and at the foot the reference with a QR code of the verification URL.

The text is set in Open Sans, which pretix ships for its invoices: it covers Latin script with its diacritics and
extended letters (Ł, Ż, ễ, Ø ...), so a name in a passport's Latin-script line prints as written.
"""
import logging
from io import BytesIO
from xml.sax.saxutils import escape

import qrcode
from django.contrib.staticfiles import finders
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.formats import date_format
from django.utils.timezone import now
from django.utils.translation import gettext as _
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import LazyCurrencyNumber, language
from pretix.helpers.format import SafeFormatter, format_map
from pretix.helpers.reportlab import register_ttf_font_if_new
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Frame, KeepInFrame, Paragraph, Spacer

logger = logging.getLogger(__name__)

FONT = 'OpenSans'
FONT_BOLD = 'OpenSansBd'
FONT_FILES = {FONT: 'fonts/OpenSans-Regular.ttf', FONT_BOLD: 'fonts/OpenSans-Bold.ttf'}
MARGIN = 20 * mm
QR_SIZE = 28 * mm
LOGO_HEIGHT = 20 * mm


def font_path(name=FONT):
    return finders.find(FONT_FILES[name])


def register_fonts():
    for name, path in FONT_FILES.items():
        register_ttf_font_if_new(name, finders.find(path))


def _date(value):
    return date_format(value, 'DATE_FORMAT') if value else ''


def _money(event, value):
    return str(LazyCurrencyNumber(value, event.currency))


def awarded(letter):
    """
    The grant of the letter's grantee, if the organizers have awarded it (offered or accepted): a letter states a
    grant only then, never one that is still undecided, on the waiting list, declined or expired.
    """
    grant = letter.grant
    return grant if grant is not None and grant.holds_place() else None


def coverage(letter):
    """
    What the grant pays, in one sentence; for a ticket holder, that they hold a ticket; nothing for a grant that
    has not been awarded.
    """
    event, grant = letter.event, awarded(letter)
    if letter.grant is None:
        return _('{name} holds a ticket for the event.').format(name=letter.full_name)
    if grant is None:
        return ''
    parts = []
    if grant.ticket:
        parts.append(_('a free ticket'))
    if grant.travel_amount:
        parts.append(_('travel costs of up to {amount}').format(amount=_money(event, grant.travel_amount)))
    if grant.accommodation_amount:
        parts.append(_('accommodation costs of up to {amount}').format(amount=_money(event, grant.accommodation_amount)))
    if grant.other_amount:
        parts.append(_('other costs of up to {amount}').format(amount=_money(event, grant.other_amount)))
    if not parts:
        return _('{name} has been awarded a grant by the organizers.').format(name=letter.full_name)
    return _('{name} has been awarded a grant by the organizers, which covers {items}.').format(
        name=letter.full_name, items='; '.join(str(p) for p in parts))


def values(letter):
    """The placeholders of the letter's text; call in the letter's language."""
    event, grant = letter.event, awarded(letter)
    settings = event.settings
    venue = ', '.join(line.strip() for line in str(event.location or '').splitlines() if line.strip())
    tz = event.timezone
    return {
        'name': letter.full_name,
        'nationality': str(letter.nationality.name) if letter.nationality else '',
        'passport_number': letter.passport_number,
        'passport_expiry': _date(letter.passport_expiry),
        'date_of_birth': _date(letter.date_of_birth),
        'address': ', '.join(line.strip() for line in letter.address.splitlines() if line.strip()),
        'event': str(event.name),
        'event_dates': event.get_date_range_display(tz),
        'venue': venue,
        'grant_coverage': str(coverage(letter)),
        'ticket': str(_('a free ticket')) if grant is not None and grant.ticket else '',
        'travel_amount': _money(event, grant.travel_amount) if grant is not None else '',
        'accommodation_amount': _money(event, grant.accommodation_amount) if grant is not None else '',
        'reference': letter.reference,
        'signatory_name': settings.grants_letter_signatory_name or '',
        'signatory_role': settings.grants_letter_signatory_role or '',
    }


def paragraphs(text):
    """Paragraphs are separated by an empty line; the lines of one paragraph are joined with spaces."""
    blocks, current = [], []
    for line in str(text).splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(' '.join(current))
            current = []
    if current:
        blocks.append(' '.join(current))
    return blocks


def body_text(letter):
    """The organizers' text with the request's data filled in, as plain paragraphs; call in the letter's language."""
    template = letter.event.settings.get('grants_letter_text', as_type=LazyI18nString)
    return [str(format_map(block, values(letter), mode=SafeFormatter.MODE_RICH_TO_PLAIN))
            for block in paragraphs(template)]


def _image(event, key, fallback=None):
    """An image setting of the event (a ``File``) as something reportlab can draw, or None."""
    f = event.settings.get(key, as_type=File, default=None)
    if not f and fallback:
        f = event.settings.get(fallback, as_type=File, default=None)
    if not f:
        return None
    try:
        name = f.name[len('file://'):] if f.name.startswith('file://') else f.name
        with default_storage.open(name) as fh:
            return ImageReader(BytesIO(fh.read()))
    except Exception:  # an SVG logo or a file gone from storage: the letter goes out without it
        logger.warning('Letter image %s of event %s could not be read', key, event.pk, exc_info=True)
        return None


def _draw_image(canvas, image, x, y, max_w, max_h, align_right=False):
    iw, ih = image.getSize()
    scale = min(max_w / iw, max_h / ih)
    w, h = iw * scale, ih * scale
    canvas.drawImage(image, x + (max_w - w if align_right else 0), y, width=w, height=h, mask='auto')
    return h


def render(letter, verify_url):
    """The letter as PDF bytes: always one A4 page (a long text is set smaller rather than spill over)."""
    register_fonts()
    event = letter.event
    settings = event.settings
    width, height = A4
    buf = BytesIO()
    with language(letter.locale, settings.region):
        canvas = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=FONT)
        canvas.setTitle(str(_('Invitation letter {reference}').format(reference=letter.reference)))
        canvas.setAuthor(str(event.organizer.name))
        canvas.setSubject(str(event.name))
        normal = ParagraphStyle('letter', fontName=FONT, bulletFontName=FONT, fontSize=10.5, leading=15, spaceAfter=9)
        small = ParagraphStyle('small', parent=normal, fontSize=8.5, leading=11.5, spaceAfter=0)
        right = ParagraphStyle('right', parent=small, alignment=TA_RIGHT)
        heading = ParagraphStyle('heading', parent=normal, fontName=FONT_BOLD, fontSize=12, leading=16, spaceAfter=12)

        # letterhead: logo on the left, the organizers' contact block on the right
        top = height - MARGIN
        logo = _image(event, 'grants_letter_logo', 'logo_image')
        if logo:
            _draw_image(canvas, logo, MARGIN, top - LOGO_HEIGHT, 80 * mm, LOGO_HEIGHT)
        contact = settings.grants_letter_contact or str(event.organizer.name)
        contact_p = Paragraph('<br/>'.join(escape(line) for line in contact.splitlines()), right)
        cw, ch = contact_p.wrap(80 * mm, 40 * mm)
        contact_p.drawOn(canvas, width - MARGIN - cw, top - ch)
        head_bottom = top - max(LOGO_HEIGHT if logo else 0, ch) - 8 * mm
        canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
        canvas.line(MARGIN, head_bottom, width - MARGIN, head_bottom)

        # footer: the QR code of the verification URL, the URL and the reference
        canvas.line(MARGIN, MARGIN + QR_SIZE + 4 * mm, width - MARGIN, MARGIN + QR_SIZE + 4 * mm)
        draw_qr(canvas, verify_url, MARGIN, MARGIN, QR_SIZE)
        foot = [
            Paragraph(escape(str(_('Reference: {reference}').format(reference=letter.reference))),
                      ParagraphStyle('ref', parent=small, fontName=FONT_BOLD)),
            Paragraph(escape(str(_('Consulates can check that this letter is valid at:'))), small),
            Paragraph(escape(verify_url), small),
        ]
        Frame(MARGIN + QR_SIZE + 5 * mm, MARGIN, width - 2 * MARGIN - QR_SIZE - 5 * mm, QR_SIZE,
              leftPadding=0, rightPadding=0, topPadding=2 * mm, bottomPadding=0, showBoundary=0).addFromList(foot, canvas)

        # the letter itself
        date_style = ParagraphStyle('date', parent=normal, alignment=TA_RIGHT)
        story = [
            Paragraph(escape(_date(now().astimezone(event.timezone).date())), date_style),
            Paragraph('<br/>'.join(escape(line) for line in letter.consulate.splitlines() if line.strip()), normal),
            Spacer(0, 4 * mm),
            Paragraph(escape(str(_('Invitation letter for {name}').format(name=letter.full_name))), heading),
        ]
        story += [Paragraph(escape(block), normal) for block in body_text(letter)]
        story.append(Spacer(0, 2 * mm))
        story.append(Paragraph(escape(str(_('Sincerely,'))), normal))
        signature = _image(event, 'grants_letter_signature')
        if signature:
            iw, ih = signature.getSize()
            scale = min(60 * mm / iw, 18 * mm / ih)
            story.append(_Image(signature, iw * scale, ih * scale))
        else:
            story.append(Spacer(0, 10 * mm))
        signatory = [settings.grants_letter_signatory_name, settings.grants_letter_signatory_role,
                     str(event.organizer.name)]
        story.append(Paragraph('<br/>'.join(escape(s) for s in signatory if s), normal))

        body_top = head_bottom - 6 * mm
        body_bottom = MARGIN + QR_SIZE + 8 * mm
        frame = Frame(MARGIN, body_bottom, width - 2 * MARGIN, body_top - body_bottom, leftPadding=0, rightPadding=0,
                      topPadding=0, bottomPadding=0, showBoundary=0)
        frame.addFromList([KeepInFrame(width - 2 * MARGIN, body_top - body_bottom, story, mode='shrink')], canvas)
        canvas.showPage()
        canvas.save()
    return buf.getvalue()


def draw_qr(canvas, data, x, y, size):
    """A QR code of ``data`` as black squares (no font, no image): what a phone's camera reads at the consulate."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    cell = size / len(matrix)
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                canvas.rect(x + col * cell, y + size - (row + 1) * cell, cell, cell, stroke=0, fill=1)
    canvas.restoreState()


class _Image(Spacer):
    """A flowable of an ``ImageReader``, drawn at a given size."""

    def __init__(self, image, width, height):
        super().__init__(width, height)
        self.image = image

    def draw(self):
        self.canv.drawImage(self.image, 0, 0, width=self.width, height=self.height, mask='auto')
