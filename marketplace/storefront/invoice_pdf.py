"""An invoice as an A4 PDF: issuer, buyer, number, dates, lines with their lineage, totals and
credit notes, in the language of the request.

Text that Helvetica can set (WinAnsiEncoding) is set in it; any other text (Chinese names, the
Chinese version of the labels) in reportlab's built-in CID font STSong-Light, which PDF readers
supply, so Chinese renders without shipping font files. Amounts are formatted as on the pages
(pricing_tags), never through a float.
"""

import functools
import zoneinfo
from io import BytesIO
from xml.sax.saxutils import escape

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import CreditNote, Invoice, InvoiceLine
from billing.periods import day_ended_by
from marketplace.storefront.templatetags.pricing_tags import money, quantity

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
INK = colors.HexColor("#1b2631")
MUTED = colors.HexColor("#5d6b78")
RULE = colors.HexColor("#d8e0e6")
BAND = colors.HexColor("#f5f7f9")
MARGIN = 18 * mm


@functools.cache
def _cjk_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=LATIN_FONT, fontSize=9.5, leading=13, textColor=INK)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=LATIN_BOLD, fontSize=22, leading=28),
        "heading": ParagraphStyle(
            "heading", parent=base, fontName=LATIN_BOLD, fontSize=11.5, leading=16
        ),
        "muted": ParagraphStyle("muted", parent=base, fontSize=8.5, leading=11, textColor=MUTED),
        "right": ParagraphStyle("right", parent=base, alignment=2),
        "total": ParagraphStyle(
            "total", parent=base, fontName=LATIN_BOLD, fontSize=12, leading=16, alignment=2
        ),
    }


def _latin(text: str) -> bool:
    """Whether Helvetica can set it: the standard fonts use WinAnsiEncoding (cp1252)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _para(value, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (a Paragraph reads markup: it is escaped), in Helvetica when
    it can set it, else in the CID font."""
    text = str(value).replace("\u00a0", " ")
    if not _latin(text):
        style = ParagraphStyle(f"{style.name}-cjk", parent=style, fontName=_cjk_font())
    return Paragraph(escape(text), style)


def _day(moment, tz) -> str:
    return date_format(moment.astimezone(tz).date(), "DATE_FORMAT") if moment else ""


def _days(period) -> str:
    if period is None:
        return ""
    first = date_format(period.first, "DATE_FORMAT")
    last = date_format(period.last, "DATE_FORMAT")
    return first if first == last else f"{first} \u2013 {last}"


def _organization_block(title: str, organization, styles) -> list:
    rows = [_para(title, styles["muted"]), _para(organization.name, styles["heading"])]
    if organization.legal_name and organization.legal_name != organization.name:
        rows.append(_para(organization.legal_name, styles["base"]))
    if organization.registration_number:
        rows.append(
            _para(
                _("Registration number %(number)s") % {"number": organization.registration_number},
                styles["muted"],
            )
        )
    return rows


def _lineage(line: InvoiceLine, period) -> str:
    """Where a line's amount came from, in words (the page says the same with links)."""
    parts = []
    if line.kind == InvoiceLine.Kind.ADJUSTMENT and line.adjusts is not None:
        parts.append(_("Adjusts invoice %(number)s") % {"number": line.adjusts.number})
    if period is not None:
        parts.append(_("Period %(days)s") % {"days": _days(period)})
    if line.metric is not None and line.quantity is not None:
        parts.append(f"{quantity(line.quantity)} {line.metric.unit} ({line.metric.code})")
    if line.kind == InvoiceLine.Kind.OUTCOME and line.statement_line_id:
        parts.append(_("verified on the outcome statement"))
    return "; ".join(parts)


def invoice_pdf(
    invoice: Invoice,
    *,
    lines: list[tuple[InvoiceLine, object]],
    period,
    credit_notes: list[CreditNote],
    credited,
    amount_due,
) -> bytes:
    """The invoice as PDF bytes. `lines` pairs each line with its period (its first and last
    day in the buyer's time zone, or None); `period` is the invoice's."""
    tz = zoneinfo.ZoneInfo(invoice.buyer.time_zone)
    listing = invoice.plan_version.plan.listing
    styles = _styles()
    currency = invoice.currency
    width = A4[0] - 2 * MARGIN
    story = []

    title = _("Invoice") if invoice.number else _("Draft invoice")
    number = invoice.number or _("Not numbered yet: waiting for outcome verification")
    story += [
        _para(title, styles["title"]),
        _para(number, styles["heading"]),
        _para(invoice.get_status_display(), styles["muted"]),
        Spacer(1, 6 * mm),
    ]

    parties = Table(
        [
            [
                _organization_block(_("From"), invoice.issuer, styles),
                _organization_block(_("To"), invoice.buyer, styles),
            ]
        ],
        colWidths=[width / 2, width / 2],
    )
    parties.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    story += [parties, Spacer(1, 6 * mm)]

    facts = [
        (_("Issued"), _day(invoice.issued_at, tz) or "-"),
        (
            _("Due"),
            date_format(day_ended_by(invoice.due_at, tz), "DATE_FORMAT") if invoice.due_at else "-",
        ),
        (
            _("Period"),
            _days(period)
            or _("Opens the period from %(day)s") % {"day": _day(invoice.period_start, tz)},
        ),
        (_("Solution"), f"{listing.name}, {invoice.plan_version.plan.name}"),
    ]
    if invoice.paid_at:
        facts.append((_("Paid"), _day(invoice.paid_at, tz)))
    if invoice.payment_reference:
        facts.append((_("Payment reference"), invoice.payment_reference))
    if invoice.close_reason:
        facts.append((_("Closed because"), invoice.close_reason))
    fact_table = Table(
        [[_para(label, styles["muted"]), _para(value, styles["base"])] for label, value in facts],
        colWidths=[35 * mm, width - 35 * mm],
    )
    fact_table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    story += [fact_table, Spacer(1, 6 * mm)]

    rows = [
        [
            _para(_("Description"), styles["muted"]),
            _para(_("Details"), styles["muted"]),
            _para(_("Amount"), styles["muted"]),
        ]
    ]
    for line, line_period in lines:
        rows.append(
            [
                _para(line.description, styles["base"]),
                _para(_lineage(line, line_period), styles["muted"]),
                _para(money(line.amount, currency), styles["right"]),
            ]
        )
    if not lines:
        rows.append([_para(_("No lines yet."), styles["muted"]), "", ""])
    totals = [(_("Total"), invoice.total)]
    if credited:
        totals.append((_("Credited"), -credited))
    if invoice.status == Invoice.Status.ISSUED:
        totals.append((_("Amount due"), amount_due))
    first_total = len(rows)
    for label, amount in totals:
        rows.append(
            [
                "",
                _para(label, styles["right"]),
                _para(money(amount, currency), styles["total"]),
            ]
        )
    table = Table(rows, colWidths=[width * 0.42, width * 0.33, width * 0.25], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), BAND),
                ("LINEBELOW", (0, 0), (-1, first_total - 1), 0.5, RULE),
                ("LINEABOVE", (1, first_total), (-1, first_total), 1, INK),
            ]
        )
    )
    story += [table]

    if credit_notes:
        notes = [
            [
                _para(_("Credit note"), styles["muted"]),
                _para(_("Date"), styles["muted"]),
                _para(_("Reason"), styles["muted"]),
                _para(_("Amount"), styles["muted"]),
            ]
        ]
        for note in credit_notes:
            notes.append(
                [
                    _para(note.number, styles["base"]),
                    _para(_day(note.created_at, tz), styles["base"]),
                    _para(note.reason, styles["base"]),
                    _para(money(note.amount, note.currency), styles["right"]),
                ]
            )
        notes_table = Table(
            notes, colWidths=[width * 0.24, width * 0.18, width * 0.38, width * 0.20], repeatRows=1
        )
        notes_table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), BAND),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                ]
            )
        )
        story += [
            Spacer(1, 8 * mm),
            _para(_("Credit notes"), styles["heading"]),
            Spacer(1, 2 * mm),
            notes_table,
        ]

    story += [
        Spacer(1, 10 * mm),
        _para(
            _("Issued by %(issuer)s through Precis. Amounts in %(currency)s.")
            % {"issuer": invoice.issuer.name, "currency": currency},
            styles["muted"],
        ),
    ]

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{title} {invoice.number}".strip(),
        author=invoice.issuer.name,
    )
    document.build(story)
    return buffer.getvalue()
