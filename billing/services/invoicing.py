"""Issuing invoices, recording their payment, voiding them, and correcting them by credit note.

Every change that moves money writes its ledger transaction in the same database transaction.
An invoice is issued once: its number comes from the issuer's sequence, taken with the sequence
row locked, so a rolled-back issue gives the number back and numbers have no gaps.

Ledger entries (debits positive): an issue debits the buyer's receivable with the total and
credits the vendor's payable on collection with its share and Precis's platform fees with the
fee; a payment debits cash and credits the receivable, and moves what is left of the vendor's
share from payable on collection to payable (the vendor is owed money only once it is
collected); a void, a write-off or a credit note reverses (part of) the issue, on payable on
collection while the invoice is unpaid and on payable once it is paid.
"""

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.bulk import update_rows
from billing.models import (
    CreditNote,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    LedgerTransaction,
)
from billing.money import round_minor
from billing.periods import local_date, local_midnight
from billing.services import dunning, payouts
from billing.services.ledger import Line, Movement, ledger_record_many
from marketplace.accounts.models import Organization, User
from marketplace.errors import Conflict, ServiceError

RECEIVABLE, FEES, CASH = "receivable", "platform_fees", "cash"  # LedgerEntry.Account values
PAYABLE, ON_COLLECTION = "payable", "payable_on_collection"


def platform_fee_percent() -> Decimal:
    return Decimal(str(settings.PRECIS_PLATFORM_FEE_PERCENT))


def _numbers(issuer_id: int, kind: str, count: int) -> range:
    """Reserve `count` consecutive numbers of an issuer's sequence (locked until commit)."""
    DocumentSequence.objects.get_or_create(issuer_id=issuer_id, kind=kind)
    sequence = DocumentSequence.objects.select_for_update().get(issuer_id=issuer_id, kind=kind)
    first = sequence.last_number + 1
    sequence.last_number += count
    sequence.save(update_fields=["last_number"])
    return range(first, first + count)


def _prefix(issuer: Organization) -> str:
    return issuer.slug.upper()[:16]


def invoice_number(issuer: Organization, sequence_number: int) -> str:
    return f"{_prefix(issuer)}-{sequence_number:06d}"


def _split(amount: Decimal, percent: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """An amount split into (vendor share, platform fee), the fee rounded once."""
    fee = round_minor(amount * percent / 100, currency)
    return amount - fee, fee


def due_date(invoice: Invoice, issued_at: datetime) -> datetime:
    """Due by the end of the day, in the buyer's time zone, the plan's payment terms after the
    issue ("due on issue" is the end of the day it was issued)."""
    tz = zoneinfo.ZoneInfo(invoice.buyer.time_zone)
    days = invoice.plan_version.payment_terms_days
    return local_midnight(local_date(issued_at, tz) + timedelta(days=days + 1), tz)


def _issue_movement(invoice: Invoice) -> Movement:
    return Movement(
        kind=LedgerTransaction.Kind.INVOICE_ISSUED,
        idempotency_key=f"invoice:{invoice.pk}:issued",
        description=f"Invoice {invoice.number}",
        currency=invoice.currency,
        lines=[
            Line(RECEIVABLE, invoice.total, invoice.buyer),
            Line(ON_COLLECTION, -invoice.vendor_share, invoice.issuer),
            Line(FEES, -invoice.platform_fee),
        ],
    )


ISSUE_FIELDS = (
    "total",
    "platform_fee_percent",
    "platform_fee",
    "sequence_number",
    "number",
    "issued_at",
    "due_at",
    "status",
    "paid_at",
)


@transaction.atomic
def invoices_issue(*, invoices: list[Invoice], now: datetime) -> list[Invoice]:
    """Issue saved drafts whose lines are final: total, platform fee, number, due date, ledger.

    The caller holds the lock on their subscriptions, so no draft is issued twice. Invoices
    with nothing to pay (a total of zero or less) are paid on issue.
    """
    drafts = [invoice for invoice in invoices if invoice.status == Invoice.Status.DRAFT]
    if not drafts:
        return invoices
    totals = dict(
        InvoiceLine.objects.filter(invoice__in=drafts)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values_list("invoice", "total")
    )
    for invoice in drafts:  # lines are whole minor units, so their sum is too (SQLite: floats)
        invoice.total = round_minor(Decimal(str(totals.get(invoice.pk) or 0)), invoice.currency)
    invoices_number(invoices=drafts, now=now)
    update_rows(Invoice, drafts, list(ISSUE_FIELDS))
    invoices_record_issue(invoices=drafts)
    return invoices


def invoices_number(*, invoices: list[Invoice], now: datetime) -> None:
    """Make drafts issued, in memory, with their `total` final: number, platform fee, due date.

    The numbers are taken from the issuers' sequences, locked until the caller's transaction
    ends; the caller saves the invoices and then records them (invoices_record_issue). The
    period close inserts its invoices issued this way, rather than inserting and updating them.
    """
    by_issuer: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_issuer[invoice.issuer_id].append(invoice)
    percents = payouts.platform_fee_percents_for(by_issuer)  # the vendor's, or the default
    due_dates: dict[tuple[str, int], datetime] = {}  # per time zone and terms: thousands share one
    for issuer_id in sorted(by_issuer):  # one lock order everywhere: no deadlocks
        batch = by_issuer[issuer_id]
        percent = percents[issuer_id]
        for invoice, number in zip(
            batch, _numbers(issuer_id, DocumentSequence.Kind.INVOICE, len(batch)), strict=True
        ):
            invoice.platform_fee_percent = percent
            invoice.platform_fee = _split(invoice.total, percent, invoice.currency)[1]
            invoice.sequence_number = number
            invoice.number = invoice_number(invoice.issuer, number)
            invoice.issued_at = now
            terms = (invoice.buyer.time_zone, invoice.plan_version.payment_terms_days)
            if terms not in due_dates:
                due_dates[terms] = due_date(invoice, now)
            invoice.due_at = due_dates[terms]
            invoice.status = Invoice.Status.ISSUED
            if invoice.total <= 0:
                invoice.status = Invoice.Status.PAID
                invoice.paid_at = now


def invoices_record_issue(*, invoices: list[Invoice]) -> None:
    """The ledger transactions of saved invoices just issued (see invoices_number)."""
    issued = [invoice for invoice in invoices if invoice.total != 0]
    if issued and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                ISSUE_SQL,
                {
                    "ids": [invoice.pk for invoice in issued],
                    "kind": LedgerTransaction.Kind.INVOICE_ISSUED,
                    "now": timezone.now(),
                },
            )
            if cursor.rowcount == ENTRIES_PER_ISSUE * len(issued):
                return
        # A key was taken: recorded before, so check it says the same (ledger_record_many).
    ledger_record_many(movements=[_issue_movement(invoice) for invoice in issued])


ENTRIES_PER_ISSUE = 3
# _issue_movement of many saved invoices at once, in SQL from their rows: the period close
# issues thousands, and building, checking and copying their movements in Python took a
# twentieth of it. It writes what ledger_record_many would, entries in the same order
# (tests/billing/test_closing.py compares them): the keys are unique, so a movement already
# recorded is left alone here and the caller checks it; the entries balance by construction
# (total, less the vendor's share, less the fee) and are whole minor units, as the invoice's
# total and fee are.
ISSUE_SQL = f"""
WITH issued AS (
    SELECT id, 'invoice:' || id || ':issued' AS key, 'Invoice ' || number AS description,
           currency, total, platform_fee, buyer_id, issuer_id
    FROM billing_invoice WHERE id = ANY(%(ids)s)
), recorded AS (
    INSERT INTO billing_ledgertransaction
        (kind, idempotency_key, description, currency, actor_id, created_at)
    SELECT %(kind)s, key, description, currency, NULL, %(now)s FROM issued ORDER BY id
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
)
INSERT INTO billing_ledgerentry (transaction_id, account, organization_id, amount, currency)
SELECT r.id, e.account, e.organization_id, e.amount, i.currency
FROM recorded r
JOIN issued i ON i.key = r.idempotency_key
CROSS JOIN LATERAL (VALUES
    (1, '{RECEIVABLE}', i.buyer_id, i.total),
    (2, '{ON_COLLECTION}', i.issuer_id, -(i.total - i.platform_fee)),
    (3, '{FEES}', NULL::bigint, -i.platform_fee)
) AS e (position, account, organization_id, amount)
ORDER BY r.id, e.position
"""  # noqa: S608 (no value is formatted in: the accounts are the constants above)


def _locked(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("issuer", "buyer")
        .get(pk=invoice.pk)
    )


def _check_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ServiceError(_("Only Precis staff can do this."), code="forbidden", status_code=403)


def credited(invoice: Invoice) -> Decimal:
    total = invoice.credit_notes.aggregate(total=Sum("amount"))["total"]
    return round_minor(Decimal(str(total or 0)), invoice.currency)


def credit_note_shares(note_ids: Iterable[int], accounts: tuple[str, ...]) -> dict[int, Decimal]:
    """What each credit note took off the vendor's `accounts`, read from the entries it wrote
    (the ledger is the one record of how a credit was split), in one query."""
    keys = {f"credit_note:{pk}": pk for pk in note_ids}
    shares: dict[int, Decimal] = defaultdict(Decimal)
    for key, amount in LedgerEntry.objects.filter(
        transaction__idempotency_key__in=keys, account__in=accounts
    ).values_list("transaction__idempotency_key", "amount"):
        shares[keys[key]] += Decimal(str(amount))
    return shares


def credited_shares(invoices: list[Invoice], accounts: tuple[str, ...]) -> dict[int, Decimal]:
    """Per invoice, what its credit notes took off the vendor's `accounts`."""
    notes = dict(CreditNote.objects.filter(invoice__in=invoices).values_list("pk", "invoice_id"))
    per_invoice: dict[int, Decimal] = defaultdict(Decimal)
    for note, share in credit_note_shares(notes, accounts).items():
        per_invoice[notes[note]] += share
    return per_invoice


def _on_collection(invoice: Invoice) -> Decimal:
    """The vendor's share of an unpaid invoice still held on collection: its share less what
    its credit notes took back."""
    return invoice.vendor_share - credited_shares([invoice], (ON_COLLECTION,)).get(
        invoice.pk, Decimal(0)
    )


def amount_due(invoice: Invoice) -> Decimal:
    """What the buyer still owes on an issued invoice."""
    if invoice.status != Invoice.Status.ISSUED:
        return Decimal(0)
    return invoice.total - credited(invoice)


@transaction.atomic
def invoice_mark_paid(
    *, actor: User, invoice: Invoice, reference: str, now: datetime | None = None
) -> Invoice:
    """Staff record a bank transfer that paid what the invoice still owed."""
    _check_staff(actor)
    reference = reference.strip()
    if not reference:
        raise ServiceError(_("Give the bank transfer's reference."))
    return invoice_record_payment(
        invoice=invoice,
        reference=reference[:120],
        description=f"Bank transfer {reference[:80]}",
        actor=actor,
        now=now,
    )


@transaction.atomic
def invoice_record_payment(
    *,
    invoice: Invoice,
    reference: str,
    description: str,
    actor: User | None = None,
    now: datetime | None = None,
) -> Invoice:
    """An issued invoice paid in full (by bank transfer, or by card through Stripe): cash
    against the receivable for what it still owed. Paying it again changes nothing."""
    now = now or timezone.now()
    invoice = _locked(invoice)
    if invoice.status == Invoice.Status.PAID:
        return invoice
    if invoice.status != Invoice.Status.ISSUED:
        raise Conflict(_("Only an issued invoice can be paid."))
    due, earned = amount_due(invoice), _on_collection(invoice)
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = now
    invoice.payment_reference = reference
    invoice.save()
    dunning.dunning_invoice_paid(invoice=invoice, now=now)
    lines = [Line(CASH, due), Line(RECEIVABLE, -due, invoice.buyer)] if due else []
    if earned:
        lines += [
            Line(ON_COLLECTION, earned, invoice.issuer),
            Line(PAYABLE, -earned, invoice.issuer),
        ]
    if lines:
        ledger_record_many(
            movements=[
                Movement(
                    kind=LedgerTransaction.Kind.PAYMENT,
                    idempotency_key=f"invoice:{invoice.pk}:paid",
                    description=f"{description} for {invoice.number}",
                    currency=invoice.currency,
                    lines=lines,
                    actor=actor,
                )
            ]
        )
    return invoice


def _reversal(
    invoice: Invoice, *, kind: str, key: str, amount: Decimal, share: Decimal, actor, text: str
) -> Movement:
    """The issue's entries reversed for `amount` of the invoice, `share` of it the vendor's:
    on payable on collection while the invoice is unpaid, on payable once it is paid."""
    account = PAYABLE if invoice.status == Invoice.Status.PAID else ON_COLLECTION
    return Movement(
        kind=kind,
        idempotency_key=key,
        description=text,
        currency=invoice.currency,
        lines=[
            Line(RECEIVABLE, -amount, invoice.buyer),
            Line(account, share, invoice.issuer),
            Line(FEES, amount - share),
        ],
        actor=actor,
    )


@transaction.atomic
def invoice_close(
    *, actor: User, invoice: Invoice, status: str, reason: str, now: datetime | None = None
) -> Invoice:
    """Void an issued invoice (nothing was owed) or write it off as uncollectible; either way
    what it still owed leaves the ledger. A paid invoice is corrected by a credit note."""
    _check_staff(actor)
    if status not in (Invoice.Status.VOID, Invoice.Status.UNCOLLECTIBLE):
        raise ServiceError(_("An invoice is closed as void or uncollectible."))
    invoice = _locked(invoice)
    if invoice.status == status:
        return invoice
    if invoice.status != Invoice.Status.ISSUED:
        raise Conflict(_("Only an issued, unpaid invoice can be voided or written off."))
    if not reason.strip():
        raise ServiceError(_("Give a reason."))
    due, share = amount_due(invoice), _on_collection(invoice)
    if due:  # what is left on collection goes back whole, so that account ends at zero
        kind = (
            LedgerTransaction.Kind.INVOICE_VOIDED
            if status == Invoice.Status.VOID
            else LedgerTransaction.Kind.WRITE_OFF
        )
        text = f"{Invoice.Status(status).label} {invoice.number}"
        key = f"invoice:{invoice.pk}:{status}"
        movement = _reversal(
            invoice, kind=kind, key=key, amount=due, share=share, actor=actor, text=text
        )
        ledger_record_many(movements=[movement])
    invoice.status = status
    invoice.closed_at = now or timezone.now()
    invoice.closed_by = actor
    invoice.close_reason = reason.strip()[:300]
    invoice.save()
    return invoice


@transaction.atomic
def credit_note_create(
    *,
    actor: User,
    invoice: Invoice,
    amount: Decimal,
    reason: str,
    line: InvoiceLine | None = None,
    now: datetime | None = None,
) -> CreditNote:
    """Correct an issued or paid invoice: take `amount` off, with a reason, under a new number.
    An issued invoice whose remaining amount reaches zero is settled."""
    _check_staff(actor)
    invoice = _locked(invoice)
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID):
        raise Conflict(_("Only an issued or paid invoice can be credited."))
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ServiceError(_("A credit is a positive amount."))
    if amount != round_minor(amount, invoice.currency):
        raise ServiceError(
            _("A credit is in whole %(currency)s minor units.") % {"currency": invoice.currency}
        )
    available = invoice.total - credited(invoice)
    if amount > available:
        raise ServiceError(
            _("At most %(amount)s %(currency)s is left to credit on this invoice.")
            % {"amount": round_minor(available, invoice.currency), "currency": invoice.currency}
        )
    if line is not None and line.invoice_id != invoice.pk:
        raise ServiceError(_("That line is not on this invoice."))
    if not reason.strip():
        raise ServiceError(_("Give a reason."))
    (number,) = _numbers(invoice.issuer_id, DocumentSequence.Kind.CREDIT_NOTE, 1)
    note = CreditNote.objects.create(
        issuer=invoice.issuer,
        invoice=invoice,
        line=line,
        sequence_number=number,
        number=f"{_prefix(invoice.issuer)}-CN-{number:06d}",
        amount=amount,
        currency=invoice.currency,
        reason=reason.strip()[:300],
        created_by=actor,
        created_at=now or timezone.now(),
    )
    if invoice.status == Invoice.Status.ISSUED and amount == available:
        share = _on_collection(invoice)  # the last of it: that account ends at zero
    elif amount == invoice.total:
        share = invoice.vendor_share
    else:
        share, _fee = _split(amount, invoice.platform_fee_percent, invoice.currency)
    ledger_record_many(
        movements=[
            _reversal(
                invoice,
                kind=LedgerTransaction.Kind.CREDIT_NOTE,
                key=f"credit_note:{note.pk}",
                amount=amount,
                share=share,
                actor=actor,
                text=f"Credit note {note.number} on {invoice.number}",
            )
        ]
    )
    if invoice.status == Invoice.Status.ISSUED and amount == available:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = note.created_at
        invoice.save()
    return note
