"""Paying vendors what their paid invoices earned: platform fee per vendor, monthly payouts,
and the money leaving Precis by bank transfer (recorded by staff) or Stripe Connect.

How the money flows through the ledger (debits positive): issuing an invoice credits the
vendor's payable on collection with its share, and its payment moves what is left of that
share to the vendor's payable (billing.services.invoicing), so the payable holds only money
collected; a credit note debits the share of the credit back; paying a payout debits the
payable by the payout's amount and credits cash. A payout pays every invoice once
(PayoutLine.invoice is unique), so once a month's payouts are paid, the payable of the
invoices they hold is back at zero.

What a payout contains: invoices PAID whose `paid_at` falls in the calendar month (UTC) and
that no payout holds yet, grouped per vendor and currency. Its figures are copied when it is
prepared and never change: amount = gross (invoice totals) - fees (their platform fees) -
credits (the vendor's share of their credit notes at that moment, read from the ledger
entries those notes wrote). A credit note made on an invoice after its payout was prepared is
taken off the vendor's next payout in that currency (a PayoutCredit with on_line False),
oldest first, as far as that payout stays at zero or above; until then it leaves the
vendor's payable in debit. Every credit note is taken off one payout at most.

Running `payouts_prepare` again for a month creates nothing for invoices already paid out;
invoices of that month paid out by no payout yet (paid after the first run, when it ran
before the month ended, or marked paid with an earlier date) become a new draft payout of
the same month, rather than changing a draft whose amount a transfer may already have used.

Stripe Connect (Express): `connect_onboarding_link` and `payout_transfer`, when
settings.STRIPE_CONNECT_ENABLED is set. localstripe has no Connect, so the tests replace the
three gateway functions and check what is sent (amounts and idempotency keys).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import gateway
from billing.models import (
    CreditNote,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutCredit,
    PayoutLine,
    VendorPayoutAccount,
)
from billing.money import round_minor
from billing.services import invoicing
from billing.services.ledger import Line, Movement, ledger_record_many
from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import Conflict, ServiceError

PAYABLE, CASH = LedgerEntry.Account.PAYABLE.value, LedgerEntry.Account.CASH.value


# --- Platform fee -------------------------------------------------------------------------------


def platform_fee_percents_for(issuer_ids: Iterable[int]) -> dict[int, Decimal]:
    """The platform fee of each issuer (its override, or the default), in one query."""
    ids = set(issuer_ids)
    default = invoicing.platform_fee_percent()
    overrides = dict(
        VendorPayoutAccount.objects.filter(
            organization_id__in=ids, platform_fee_percent__isnull=False
        ).values_list("organization_id", "platform_fee_percent")
    )
    return {issuer_id: overrides.get(issuer_id, default) for issuer_id in ids}


def platform_fee_percent_for(issuer_id: int) -> Decimal:
    """The platform fee Precis keeps of an issuer's invoices, in percent."""
    return platform_fee_percents_for([issuer_id])[issuer_id]


# --- Months -------------------------------------------------------------------------------------


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The calendar month containing `month`, in UTC: [first instant, first of the next)."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, following


def previous_month(now: datetime) -> date:
    """The first day of the month before the one `now` is in (UTC)."""
    today = now.astimezone(UTC).date()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


# --- Preparing ----------------------------------------------------------------------------------


def _payout_account(vendor_id: int) -> VendorPayoutAccount:
    """The vendor's payout account, created if missing, locked until the transaction ends."""
    VendorPayoutAccount.objects.get_or_create(organization_id=vendor_id)
    return VendorPayoutAccount.objects.select_for_update().get(organization_id=vendor_id)


def _unpaid_out(start: datetime, end: datetime) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        status=Invoice.Status.PAID,
        paid_at__gte=start,
        paid_at__lt=end,
        payout_line__isnull=True,
    ).exclude(total=0)


@transaction.atomic
def payouts_prepare(*, month: date, now: datetime | None = None) -> list[Payout]:
    """Draft payouts of the invoices paid in `month` (UTC) that no payout holds yet: one per
    vendor and currency, less the vendor's share of credit notes made since earlier payouts.
    Running it again creates nothing; see the module's docstring."""
    now = now or timezone.now()
    start, end = month_bounds(month)
    vendor_ids = sorted(set(_unpaid_out(start, end).values_list("issuer_id", flat=True)))
    prepared = []
    for vendor_id in vendor_ids:  # one lock order everywhere
        _payout_account(vendor_id)  # a second run waits here, then finds the invoices taken
        invoices = list(
            _unpaid_out(start, end).filter(issuer_id=vendor_id).order_by("paid_at", "pk")
        )
        by_currency: dict[str, list[Invoice]] = defaultdict(list)
        for invoice in invoices:
            by_currency[invoice.currency].append(invoice)
        for currency in sorted(by_currency):
            prepared.append(_payout(vendor_id, currency, start, end, by_currency[currency], now))
    for payout in prepared:
        _tell_vendor(payout)
    return prepared


def _tell_vendor(payout: Payout) -> None:
    """Email the vendor's billing people its statement (drafted) or its payment, on commit."""
    from billing import tasks  # tasks import the services

    transaction.on_commit(lambda: tasks.payout_email.delay(payout.pk))


def _shares(notes: list[CreditNote]) -> dict[int, Decimal]:
    return invoicing.credit_note_shares(
        [note.pk for note in notes], (PAYABLE, invoicing.ON_COLLECTION)
    )


def _payout(vendor_id, currency, start, end, invoices, now) -> Payout:
    notes = list(CreditNote.objects.filter(invoice__in=invoices).order_by("pk"))
    shares = _shares(notes)
    credited: dict[int, Decimal] = defaultdict(Decimal)
    for note in notes:
        credited[note.invoice_id] += shares.get(note.pk, Decimal(0))
    lines = [
        PayoutLine(
            invoice=invoice,
            total=invoice.total,
            platform_fee=invoice.platform_fee,
            credited=round_minor(credited[invoice.pk], currency),
        )
        for invoice in invoices
    ]
    for line in lines:
        line.vendor_share = line.total - line.platform_fee - line.credited
    gross = round_minor(sum((line.total for line in lines), Decimal(0)), currency)
    fees = round_minor(sum((line.platform_fee for line in lines), Decimal(0)), currency)
    credits = round_minor(sum((line.credited for line in lines), Decimal(0)), currency)
    taken = [PayoutCredit(credit_note=note, amount=shares.get(note.pk, 0)) for note in notes]
    # Credit notes made on invoices already paid out, oldest first, while the payout stays
    # at zero or above; the rest wait for a later one.
    left = gross - fees - credits
    late = _credits_since_paid_out(vendor_id, currency, end)
    late_shares = _shares(late)
    for note in late:
        share = late_shares.get(note.pk, Decimal(0))
        if share <= left:
            taken.append(PayoutCredit(credit_note=note, amount=share, on_line=False))
            left -= share
            credits += share
    payout = Payout.objects.create(
        vendor_id=vendor_id,
        currency=currency,
        period_start=start,
        period_end=end,
        gross=gross,
        fees=fees,
        credits=credits,
        amount=gross - fees - credits,
        invoice_count=len(lines),
        created_at=now,
    )
    for row in [*lines, *taken]:
        row.payout = payout
    PayoutLine.objects.bulk_create(lines)
    PayoutCredit.objects.bulk_create(taken)
    return payout


def _credits_since_paid_out(vendor_id: int, currency: str, end: datetime) -> list[CreditNote]:
    """The vendor's credit notes, made before `end`, on invoices some payout already holds,
    that no payout has taken off yet."""
    return list(
        CreditNote.objects.filter(
            issuer_id=vendor_id,
            currency=currency,
            created_at__lt=end,
            invoice__payout_line__isnull=False,
            payout_credit__isnull=True,
        ).order_by("created_at", "pk")
    )


# --- Paying -------------------------------------------------------------------------------------


def _check_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ServiceError(_("Only Precis staff can do this."), code="forbidden", status_code=403)


def connect_enabled() -> bool:
    return settings.STRIPE_CONNECT_ENABLED


@transaction.atomic
def _pay(
    *,
    payout: Payout,
    actor: User,
    method: str,
    reference: str,
    now: datetime | None,
    transfer_id: str = "",
) -> Payout:
    payout = Payout.objects.select_for_update().select_related("vendor").get(pk=payout.pk)
    if payout.status == Payout.Status.PAID:
        return payout
    if payout.amount < 0:
        raise Conflict(_("This payout is negative: the vendor owes Precis; nothing is paid."))
    payout.status = Payout.Status.PAID
    payout.paid_at = now or timezone.now()
    payout.method = method
    payout.reference = reference[:120]
    payout.stripe_transfer_id = transfer_id
    payout.paid_by = actor
    payout.save()
    _tell_vendor(payout)
    if payout.amount:
        ledger_record_many(
            movements=[
                Movement(
                    kind=LedgerTransaction.Kind.PAYOUT,
                    idempotency_key=f"payout:{payout.pk}:paid",
                    description=f"Payout {payout.pk} to {payout.vendor.name}"[:200],
                    currency=payout.currency,
                    lines=[
                        Line(PAYABLE, payout.amount, payout.vendor),
                        Line(CASH, -payout.amount),
                    ],
                    actor=actor,
                )
            ]
        )
    return payout


@transaction.atomic
def payout_mark_paid(
    *, actor: User, payout: Payout, reference: str, now: datetime | None = None
) -> Payout:
    """Staff record the bank transfer that paid a payout. Marking it again changes nothing."""
    _check_staff(actor)
    reference = reference.strip()
    if not reference:
        raise ServiceError(_("Give the bank transfer's reference."))
    return _pay(
        payout=payout, actor=actor, method=Payout.Method.MANUAL, reference=reference, now=now
    )


def payout_transfer(*, actor: User, payout: Payout, now: datetime | None = None) -> Payout:
    """Pay a payout by a Stripe transfer to the vendor's connected account, then mark it paid.

    Not one database transaction: Stripe is asked with no lock held. The idempotency key
    `payout:<id>:transfer` makes a retry after a failure (or a crash before the payout was
    marked) answer with the same transfer instead of paying twice; a payout's amount never
    changes, so the key always comes with the same parameters.
    """
    _check_staff(actor)
    payout = Payout.objects.select_related("vendor").get(pk=payout.pk)
    if payout.status == Payout.Status.PAID:
        return payout
    if not connect_enabled():
        raise ServiceError(_("Stripe Connect is not configured."))
    account = VendorPayoutAccount.objects.filter(organization=payout.vendor).first()
    if account is None or not account.stripe_account_id:
        raise Conflict(_("This vendor has not connected a Stripe account."))
    if payout.amount <= 0:
        raise Conflict(_("Only a positive payout can be transferred."))
    try:
        transfer_id = gateway.transfer_create(
            amount=payout.amount,
            currency=payout.currency,
            destination=account.stripe_account_id,
            key=f"payout:{payout.pk}:transfer",
            metadata={"precis_payout": str(payout.pk), "precis_vendor": str(payout.vendor_id)},
        )
    except gateway.PaymentError as error:
        raise ServiceError(error.message, code=error.code or "stripe_error") from error
    return _pay(
        payout=payout,
        actor=actor,
        method=Payout.Method.STRIPE_TRANSFER,
        reference=transfer_id,
        transfer_id=transfer_id,
        now=now,
    )


def connect_onboarding_link(
    *, actor: User, vendor: Organization, return_url: str, refresh_url: str
) -> str:
    """The address of Stripe's onboarding for the vendor's Express account, created first if it
    has none (key `connect:<vendor id>`, so two clicks at once make one account)."""
    if not (actor.is_staff or has_permission(actor, vendor, Permission.MANAGE_BILLING)):
        raise ServiceError(
            _("Your role in this organization does not allow billing."),
            code="forbidden",
            status_code=403,
        )
    if not connect_enabled():
        raise ServiceError(_("Stripe Connect is not configured."))
    if not vendor.is_vendor:
        raise ServiceError(_("Only a vendor organization is paid out."))
    account, _created = VendorPayoutAccount.objects.get_or_create(organization=vendor)
    account_id = account.stripe_account_id
    try:
        if not account_id:
            account_id = gateway.connect_account_create(
                organization_id=vendor.pk,
                email=account.payout_email or actor.email,
                key=f"connect:{vendor.pk}",
            )
            VendorPayoutAccount.objects.filter(pk=account.pk, stripe_account_id="").update(
                stripe_account_id=account_id
            )
            account.stripe_account_id = account_id
        return gateway.connect_account_link_create(
            account_id=account_id, return_url=return_url, refresh_url=refresh_url
        )
    except gateway.PaymentError as error:
        raise ServiceError(error.message, code=error.code or "stripe_error") from error
