"""
The post-event report: a PDF of one to three A4 pages drawn with reportlab in pretix's own Open Sans, with the
event's logo, the organizer's introduction, the programme in numbers, the money by category, the attendance of
grantees and of all attendees, the countries and the charts (reportlab.graphics); and the same figures as CSV.
Every number goes through the suppression of ``rules`` (nothing here reads grants).
"""
import csv
import io
import logging
from xml.sax.saxutils import escape

from django.contrib.staticfiles import finders
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _, pgettext
from i18nfield.strings import LazyI18nString
from pretix.base.i18n import LazyCurrencyNumber
from pretix.helpers.reportlab import register_ttf_font_if_new
from reportlab.graphics.charts.barcharts import (
    HorizontalBarChart, VerticalBarChart,
)
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table,
    TableStyle,
)

from . import rules

logger = logging.getLogger(__name__)

FONT = 'OpenSans'
FONT_BOLD = 'OpenSansBd'
FONT_FILES = {FONT: 'fonts/OpenSans-Regular.ttf', FONT_BOLD: 'fonts/OpenSans-Bold.ttf'}
# pretix's control panel colours (the statistics plugin's charts)
PURPLE = colors.HexColor('#3b1c4a')
GREEN = colors.HexColor('#50a167')
VIOLET = colors.HexColor('#8e44ad')
GREY = colors.HexColor('#7f7f7f')
BLUE = colors.HexColor('#3b7fc4')
COLOURS = (PURPLE, GREEN, VIOLET, GREY, BLUE)
MAX_ROWS = 12  # the longest table of a dimension in the report; the CSV has all rows


def register_fonts():
    for name, path in FONT_FILES.items():
        register_ttf_font_if_new(name, finders.find(path))


STYLES = {
    'title': ParagraphStyle('title', fontName=FONT_BOLD, fontSize=17, leading=21, spaceAfter=2 * mm),
    'sub': ParagraphStyle('sub', fontName=FONT, fontSize=9.5, leading=12, textColor=colors.HexColor('#555555')),
    'h2': ParagraphStyle('h2', fontName=FONT_BOLD, fontSize=12, leading=15, spaceBefore=4 * mm, spaceAfter=2 * mm,
                         textColor=PURPLE),
    'body': ParagraphStyle('body', fontName=FONT, fontSize=9.5, leading=13),
    'cell': ParagraphStyle('cell', fontName=FONT, fontSize=8.5, leading=10.5),
    'cell_bold': ParagraphStyle('cell_bold', fontName=FONT_BOLD, fontSize=8.5, leading=10.5),
    'amount': ParagraphStyle('amount', fontName=FONT, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
    'amount_bold': ParagraphStyle('amount_bold', fontName=FONT_BOLD, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
    'small': ParagraphStyle('small', fontName=FONT, fontSize=7.5, leading=10, textColor=colors.HexColor('#555555')),
}


def _money(event):
    return lambda v: str(LazyCurrencyNumber(v, event.currency))


def _logo(event):
    f = event.settings.get('logo_image', as_type=File, default=None)
    if not f:
        return None
    try:
        name = f.name[len('file://'):] if f.name.startswith('file://') else f.name
        with default_storage.open(name) as fh:
            data = fh.read()
        reader = ImageReader(io.BytesIO(data))
        w, h = reader.getSize()
        scale = min(60 * mm / w, 18 * mm / h)
        return Image(io.BytesIO(data), width=w * scale, height=h * scale, hAlign='RIGHT')
    except Exception:  # an SVG logo or a file gone from storage: the report goes out without it
        logger.warning('Logo of event %s could not be read for the report', event.pk, exc_info=True)
        return None


def _table(rows, widths, header=True, align_right_from=1, align_right_until=-1, padding=6):
    t = Table(rows, colWidths=widths, hAlign='LEFT', repeatRows=1 if header else 0)
    style = [
        ('FONT', (0, 0), (-1, -1), FONT, 8.5),
        ('LEFTPADDING', (0, 0), (-1, -1), padding),
        ('RIGHTPADDING', (0, 0), (-1, -1), padding),
        ('ALIGN', (align_right_from, 0), (align_right_until, -1), 'RIGHT'),
        ('LINEBELOW', (0, 0), (-1, 0 if header else -1), 0.5, colors.HexColor('#999999')),
        ('TOPPADDING', (0, 0), (-1, -1), 1.5),
        ('BOTTOMPADDING', (0, 0), (-1, -1), 1.5),
    ]
    if header:
        style.append(('FONT', (0, 0), (-1, 0), FONT_BOLD, 8.5))
    t.setStyle(TableStyle(style))
    return t


def _bar_chart(labels, series, width, height, horizontal=False, colours=COLOURS):
    """A bar chart of ``series`` (lists of numbers, a suppressed number drawn as 0) in pretix's colours."""
    d = Drawing(width, height)
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    left = 38 * mm if horizontal else 14 * mm
    chart.x, chart.y = left, 8 * mm if not horizontal else 4 * mm
    chart.width, chart.height = width - left - 4 * mm, height - (14 * mm if not horizontal else 6 * mm)
    chart.data = [list(s) or [0] for s in series]
    chart.categoryAxis.categoryNames = [str(x)[:28] for x in labels] or ['']
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.valueMin = 0
    top = max([max(s) for s in chart.data if s] + [1])
    chart.valueAxis.valueMax = top * 1.1
    chart.barSpacing = 0.5
    if horizontal:
        chart.categoryAxis.reverseDirection = True
        chart.categoryAxis.labels.boxAnchor = 'e'
    elif len(labels) > 8:
        chart.categoryAxis.labels.angle = 45
        chart.categoryAxis.labels.boxAnchor = 'ne'
        chart.categoryAxis.labels.fontSize = 5.5
    for i, c in enumerate(colours[:len(series)]):
        chart.bars[i].fillColor = c
        chart.bars[i].strokeColor = None
    d.add(chart)
    return d


def _legend(drawing, names, colours=COLOURS):
    x = drawing.width - 4 * mm
    for name, c in reversed(list(zip(names, colours))):
        drawing.add(String(x, drawing.height - 3 * mm, name, fontName=FONT, fontSize=7, fillColor=c,
                           textAnchor='end'))
        x -= stringWidth(name, FONT, 7) + 3.5 * mm
        drawing.add(Rect(x + 0.8 * mm, drawing.height - 3 * mm, 2 * mm, 2 * mm, fillColor=c, strokeColor=None))
        x -= 2 * mm
    return drawing


def story(event, fig):
    """The report's flowables (in the active language)."""
    k = fig['k']
    money = _money(event)

    def t(cell, as_money=False):
        return rules.text(cell, k, money if as_money else None)

    s = STYLES
    width = A4[0] - 36 * mm
    out = []
    logo = _logo(event)
    title = [Paragraph(escape(_('Grant programme report')), s['title']),
             Paragraph(escape(f'{event.name} · {event.get_date_range_display()}'), s['sub'])]
    if logo:
        out.append(Table([[title, logo]], colWidths=[width - 62 * mm, 62 * mm],
                         style=[('VALIGN', (0, 0), (-1, -1), 'TOP'), ('LEFTPADDING', (0, 0), (-1, -1), 0)]))
    else:
        out += title
    intro = str(event.settings.get('grants_insights_intro', as_type=LazyI18nString) or '').strip()
    if intro:
        out.append(Spacer(1, 3 * mm))
        for para in intro.split('\n\n'):
            out.append(Paragraph(escape(para).replace('\n', '<br/>'), s['body']))
            out.append(Spacer(1, 1.5 * mm))

    # the programme in numbers
    funnel = {c.key: c for c in fig['funnel']}
    att = fig['attendance']
    numbers = [
        [_('Applications'), t(fig['applied'])],
        [_('Grants offered'), t(funnel['offered'])],
        [_('Grants confirmed'), t(funnel['confirmed'])],
        [_('Grantees who came (checked in)'), t(funnel['checked_in'])],
        [_('Attendance rate of grantees'), _pct(att['grantees'])],
        [_('Attendance rate of all attendees'), _pct(att['all'])],
        [_('Money granted'), t(fig['money']['granted'], True)],
        [_('Money paid out'), t(fig['money']['paid'], True)],
    ]
    out.append(Paragraph(escape(_('The programme in numbers')), s['h2']))
    funnel_chart = _bar_chart([c.label for c in fig['funnel']], [[c.chart_value() for c in fig['funnel']]],
                              width * 0.52, 52 * mm, horizontal=True)
    out.append(Table([[_table(numbers, [width * 0.3, width * 0.16], header=False), funnel_chart]],
                     colWidths=[width * 0.47, width * 0.53],
                     style=[('VALIGN', (0, 0), (-1, -1), 'TOP'), ('LEFTPADDING', (0, 0), (-1, -1), 0)]))

    # the funnel
    out.append(Paragraph(escape(_('From application to payout')), s['h2']))
    rows = [[_('Step'), _('Grants'), _('Share of applications'), _('Left here')]]
    for c in fig['funnel']:
        leaving = ', '.join(f'{lc.label}: {t(lc)}' for lc in c.extra['leaving'])
        rows.append([c.label, t(c), _pct(c.extra['pct']), Paragraph(escape(leaving), s['small'])])
    out.append(_table(rows, [width * 0.24, width * 0.12, width * 0.2, width * 0.44], align_right_until=2))

    # money
    m = fig['money']
    names = [_('Granted'), pgettext('money', 'Confirmed'), _('Claimed')]
    columns = ['granted', 'confirmed', 'claimed']
    if m['has_budget']:
        names += [_('Budget'), _('Left of the budget')]
        columns += ['budget', 'left']

    def amount(cell):
        return '–' if cell is None else t(cell, True)

    def cells(texts, header=False):
        # paragraphs: a long "fewer than k grants" or heading wraps in its column instead of running into the next
        return [Paragraph(escape(str(text)), s['cell_bold' if header else 'cell'] if i == 0 else
                          s['amount_bold' if header else 'amount']) for i, text in enumerate(texts)]

    rows = [cells([_('Category'), *names], header=True)]
    for r in m['rows']:
        rows.append(cells([r['label'], *(amount(r[col]) for col in columns)]))
    rows.append(cells([_('Total'), *(amount(m[col]) for col in columns)]))
    extra = [[_('Claims approved'), t(m['approved'], True)], [_('Paid out'), t(m['paid'], True)]]
    chart = _legend(_bar_chart([r['label'] for r in m['rows']],
                               [[float(r[col].chart_value()) if r[col] is not None else 0 for r in m['rows']]
                                for col in columns], width * 0.62, 48 * mm), names)
    column = (width - width * 0.15) / len(columns)
    out.append(KeepTogether([
        Paragraph(escape(_('Money by category')), s['h2']),
        _table(rows, [width * 0.15] + [column] * len(columns), padding=3),
        Spacer(1, 2 * mm),
        Table([[_table(extra, [width * 0.22, width * 0.14], header=False), chart]],
              colWidths=[width * 0.38, width * 0.62],
              style=[('VALIGN', (0, 0), (-1, -1), 'TOP'), ('LEFTPADDING', (0, 0), (-1, -1), 0)]),
    ]))

    # who
    for tb in fig['who'] + [fig['types']]:
        out.append(KeepTogether(_who(tb, t, width)))

    # applications per day
    days = fig['days']['cells']
    if days:
        chart = _bar_chart([c.label[5:] for c in days], [[c.chart_value() for c in days]], width, 50 * mm)
        out.append(KeepTogether([Paragraph(escape(_('Applications per day')), s['h2']), chart]))
    out.append(Spacer(1, 3 * mm))
    out.append(Paragraph(escape(_(
        'Counts below {k} are shown as "fewer than {k}", and sums of money over fewer than {k} grants are not '
        'shown; where a hidden number could be worked out from the others, another number is not shown either. '
        'A chart draws such a number as zero.').format(k=k)), s['small']))
    return out


def _pct(value):
    return '–' if value is None else f'{value} %'


def _who(tb, t, width):
    s = STYLES
    cells = [c for c in tb['cells']]
    rows = [[str(tb['title']), _('Grants')]]
    for c in cells[:MAX_ROWS]:
        rows.append([c.label, t(c)])
    if len(cells) > MAX_ROWS:
        rows.append([_('{n} more (in the CSV)').format(n=len(cells) - MAX_ROWS), ''])
    chart = _bar_chart([c.label for c in cells[:MAX_ROWS]], [[c.chart_value() for c in cells[:MAX_ROWS]]],
                       width * 0.55, max(30 * mm, 6 * mm * min(len(cells), MAX_ROWS) + 8 * mm), horizontal=True)
    return [Paragraph(escape(str(tb['title'])), s['h2']),
            Table([[_table(rows, [width * 0.3, width * 0.13]), chart]], colWidths=[width * 0.45, width * 0.55],
                  style=[('VALIGN', (0, 0), (-1, -1), 'TOP'), ('LEFTPADDING', (0, 0), (-1, -1), 0)])]


def pdf(event, fig):
    """The report as PDF bytes, in the active language."""
    register_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=_('Grant programme report'), author=str(event.organizer.name),
                            subject=str(event.name))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor('#777777'))
        canvas.drawString(18 * mm, 9 * mm, f'{event.name} · {_("Grant programme report")}')
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, _('Page {n}').format(n=doc.page))
        canvas.restoreState()

    doc.build(story(event, fig), onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def csv_rows(event, fig):
    """The report's figures: section, label, value (empty where not shown), as shown."""
    money = _money(event)
    yield [_('Section'), _('Figure'), _('Value'), _('As shown')]
    for section, label, value, shown in rules.flat(fig):
        if section.startswith('money') and value is not None:
            shown, value = money(value), f'{value:.2f}'
        yield [section, label, '' if value is None else str(value), shown]
    att = fig['attendance']
    yield ['attendance', _('Attendance rate of grantees'), '' if att['grantees'] is None else att['grantees'],
           _pct(att['grantees'])]
    yield ['attendance', _('Attendance rate of all attendees'), '' if att['all'] is None else att['all'],
           _pct(att['all'])]


def csv_bytes(event, fig):
    out = io.StringIO()
    w = csv.writer(out)
    for row in csv_rows(event, fig):
        # nothing that a spreadsheet would run as a formula (labels come from the organizer's questions)
        w.writerow([f"'{v}" if isinstance(v, str) and v and v[0] in '=+-@\t\r' and not _number(v) else v for v in row])
    return ('\ufeff' + out.getvalue()).encode('utf-8')


def _number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False
