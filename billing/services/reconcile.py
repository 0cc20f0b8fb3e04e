"""Reconciliation: do Precis's card payments and card-paid invoices agree with Stripe?

`stripe_reconcile` compares, for a window of time, every `Payment` with its PaymentIntent and
every invoice paid by card with the PaymentIntent it names, and lists what differs. It only
reports and changes nothing: states that merely lag behind are already brought together by
the webhook handlers and `payments.payment_apply_charge` (states only move forward, and both
read Stripe again), so what is left is a difference a person has to look at: a charge Precis
does not know about, a success whose invoice was closed meanwhile (a refund), a row changed
by hand. Deciding which side is right, and refunding or correcting, needs that person.

The nightly task calls `stripe_reconcile_report`, which also logs a warning and emails the
staff when something differs; `manage.py stripe_reconcile` prints the same report.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from billing import gateway
from billing.models import Invoice, Payment
from billing.money import CURRENCY_EXPONENTS, round_minor
from billing.services.payments import STATUS_OF_INTENT
from marketplace.accounts.models import User

log = logging.getLogger(__name__)

# How far back the nightly run looks: two days, so that one failed night loses nothing.
RECONCILE_DAYS = 2
# A payment pending for less than this is a charge in flight, not a difference.
PENDING_GRACE = timedelta(minutes=15)
# Differences listed in the staff email; the command lists them all.
EMAIL_MAX_LINES = 200


class Kind(StrEnum):
    # The payment's status is not the one its PaymentIntent's status means.
    STATUS = "status"
    # Pending past PENDING_GRACE: nothing moves it on by itself (collection and dunning only
    # start attempts on invoices with none or a failed one, and Stripe sends no event Precis
    # handles for an intent that waits for the buyer to authenticate).
    STUCK = "stuck"
    # The amount or currency charged is not the payment's.
    AMOUNT = "amount"
    # The payment records a PaymentIntent that Stripe does not have, or has none at all
    # although it says it succeeded or is processing.
    NO_INTENT = "no_intent"
    # A PaymentIntent carries metadata.precis_payment of a payment Precis does not have.
    UNKNOWN_INTENT = "unknown_intent"
    # A second PaymentIntent for a payment that records another one: charged twice?
    EXTRA_INTENT = "extra_intent"
    # The payment succeeded but its invoice is not paid (closed while Stripe collected it).
    INVOICE_NOT_PAID = "invoice_not_paid"
    # The invoice is paid by card (its reference is a PaymentIntent) that did not succeed.
    CHARGE_NOT_SUCCEEDED = "charge_not_succeeded"


@dataclass(frozen=True)
class Difference:
    """One thing Precis and Stripe disagree on, in words a person can check in both places."""

    kind: Kind
    payment_id: int | None  # the Precis payment, when there is one
    invoice_number: str  # the Precis invoice, when there is one
    stripe_id: str  # the PaymentIntent, when there is one
    precis_has: str
    stripe_has: str

    @property
    def precis_object(self) -> str:
        parts = [f"payment {self.payment_id}"] if self.payment_id is not None else []
        parts += [f"invoice {self.invoice_number}"] if self.invoice_number else []
        return ", ".join(parts) or "-"

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.precis_object} / {self.stripe_id or '-'}: "
            f"Precis has {self.precis_has}; Stripe has {self.stripe_has}"
        )


@dataclass(frozen=True)
class ReconcileReport:
    since: datetime
    now: datetime
    payments_checked: int
    intents_checked: int
    invoices_checked: int
    differences: tuple[Difference, ...]

    @property
    def summary(self) -> str:
        return (
            f"{len(self.differences)} difference(s) between Precis and Stripe since "
            f"{_when(self.since)}: {self.payments_checked} payment(s), "
            f"{self.intents_checked} PaymentIntent(s) and {self.invoices_checked} card-paid "
            "invoice(s) checked."
        )


def stripe_reconcile(*, since: datetime, now: datetime | None = None) -> ReconcileReport:
    """Compare the payments created since `since` (and the invoices paid by card since then)
    with Stripe's PaymentIntents created since then; changes nothing (see the module)."""
    now = now or timezone.now()
    # Stripe first: a payment's row is committed before its PaymentIntent is created, so every
    # intent listed here has its payment in the database by the time it is read below.
    listed = gateway.payment_intents_list(created_gte=int(since.timestamp()))
    intents = {item.charge.id: item.charge for item in listed}
    ours = [item for item in listed if "precis_payment" in item.metadata]  # the rest: not Precis's
    claims: dict[int, list[gateway.Charge]] = defaultdict(list)  # payment id -> its intents
    for item in ours:
        if (payment_id := _payment_id(item)) is not None:
            claims[payment_id].append(item.charge)
    found = Payment.objects.select_related("invoice").filter(
        Q(created_at__gte=since) | Q(pk__in=list(claims))
    )
    payments = {payment.pk: payment for payment in found}

    differences = [_unknown(item) for item in ours if _payment_id(item) not in payments]
    for pk in sorted(payments):
        differences += _payment_differences(payments[pk], claims.get(pk, []), intents, now)
    paid_by_card = list(
        Invoice.objects.filter(paid_at__gte=since, payment_reference__startswith="pi_").order_by(
            "pk"
        )
    )
    for invoice in paid_by_card:
        differences += _invoice_differences(invoice, intents)
    return ReconcileReport(
        since=since,
        now=now,
        payments_checked=len(payments),
        intents_checked=len(listed),
        invoices_checked=len(paid_by_card),
        differences=tuple(differences),
    )


def _payment_id(item: gateway.ListedCharge) -> int | None:
    """The payment an intent's metadata names, if it can be one of Precis's ids at all."""
    reference = item.metadata.get("precis_payment", "")
    if not (reference.isascii() and reference.isdigit()) or len(reference) > 18:
        return None
    return int(reference)


def _unknown(item: gateway.ListedCharge) -> Difference:
    charge, metadata = item.charge, item.metadata
    invoice = metadata.get("precis_invoice_number", "")
    return Difference(
        kind=Kind.UNKNOWN_INTENT,
        payment_id=None,
        invoice_number="",
        stripe_id=charge.id,
        precis_has=f"no payment {metadata['precis_payment']}",
        stripe_has=f"{charge.status} {_money(charge.amount, charge.currency)} for payment "
        f"{metadata['precis_payment']}" + (f", invoice {invoice}" if invoice else ""),
    )


def _payment_differences(
    payment: Payment,
    claims: list[gateway.Charge],
    intents: dict[str, gateway.Charge],
    now: datetime,
) -> Iterator[Difference]:
    def difference(kind: Kind, stripe_id: str, precis_has: str, stripe_has: str) -> Difference:
        return Difference(
            kind=kind,
            payment_id=payment.pk,
            invoice_number=payment.invoice.number,
            stripe_id=stripe_id,
            precis_has=precis_has,
            stripe_has=stripe_has,
        )

    recorded = payment.stripe_payment_intent_id
    if recorded:
        charge = intents.get(recorded) or gateway.payment_intent_find(recorded)
    else:
        # Not recorded: the answer never came back (localstripe leaves the PaymentIntent out
        # of a declined charge's error). The intent's metadata names the payment; a success
        # among several is the one that matters.
        ranked = sorted(claims, key=lambda claim: claim.status != "succeeded")
        charge = ranked[0] if ranked else None
    main = charge.id if charge else recorded
    for other in claims:
        if other.id != main:
            yield difference(
                Kind.EXTRA_INTENT,
                other.id,
                f"{payment.status} with PaymentIntent {main}",
                f"another PaymentIntent, {other.status} {_money(other.amount, other.currency)}",
            )

    if payment.status == Payment.Status.PENDING and now - payment.created_at < PENDING_GRACE:
        return  # still in flight
    if charge is None:
        if payment.status == Payment.Status.PENDING:
            yield difference(
                Kind.STUCK, "", f"pending since {_when(payment.created_at)}", "nothing"
            )
        elif payment.status != Payment.Status.FAILED or recorded:
            # A failure with no intent is Stripe refusing before it created one: they agree.
            yield difference(
                Kind.NO_INTENT,
                recorded,
                payment.status,
                f"no PaymentIntent {recorded}" if recorded else "no PaymentIntent",
            )
    else:
        expected = STATUS_OF_INTENT.get(charge.status, Payment.Status.PENDING)
        if expected != payment.status:
            yield difference(Kind.STATUS, charge.id, payment.status, charge.status)
        elif payment.status == Payment.Status.PENDING:
            yield difference(
                Kind.STUCK,
                charge.id,
                f"pending since {_when(payment.created_at)}",
                charge.status,
            )
        if charge.amount != payment.amount or charge.currency != payment.currency.upper():
            yield difference(
                Kind.AMOUNT,
                charge.id,
                _money(payment.amount, payment.currency),
                _money(charge.amount, charge.currency),
            )
    if payment.status == Payment.Status.SUCCEEDED and payment.invoice.status != Invoice.Status.PAID:
        yield difference(
            Kind.INVOICE_NOT_PAID,
            recorded,
            f"payment succeeded, invoice {payment.invoice.status}",
            charge.status if charge else "no PaymentIntent",
        )


def _invoice_differences(
    invoice: Invoice, intents: dict[str, gateway.Charge]
) -> Iterator[Difference]:
    reference = invoice.payment_reference
    charge = intents.get(reference) or gateway.payment_intent_find(reference)
    if charge is None or charge.status != "succeeded":
        yield Difference(
            kind=Kind.CHARGE_NOT_SUCCEEDED,
            payment_id=None,
            invoice_number=invoice.number,
            stripe_id=reference,
            precis_has=f"invoice {invoice.status}, paid {_when(invoice.paid_at)}",
            stripe_has=charge.status if charge else "no such PaymentIntent",
        )


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _money(amount: Decimal, currency: str) -> str:
    currency = currency.upper()
    if currency in CURRENCY_EXPONENTS:
        amount = round_minor(amount, currency)
    return f"{amount} {currency}"


# --- Telling staff -------------------------------------------------------------------------------


def stripe_reconcile_report(*, since: datetime, now: datetime | None = None) -> ReconcileReport:
    """Reconcile, and when anything differs log a warning and email the active staff users.

    What the nightly task runs; running it again only sends the report again."""
    report = stripe_reconcile(since=since, now=now)
    if not report.differences:
        return report
    log.warning("Stripe reconciliation: %s", report.summary)
    recipients = sorted(
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        log.warning("Stripe reconciliation: no active staff user to email the report to.")
        return report
    context = {
        "report": report,
        "differences": report.differences[:EMAIL_MAX_LINES],
        "left_out": max(0, len(report.differences) - EMAIL_MAX_LINES),
    }
    subject = f"Stripe reconciliation: {len(report.differences)} difference(s)"
    body = render_to_string("billing/email/reconcile_report.txt", context)
    send_mail(subject, body, None, recipients)
    return report
