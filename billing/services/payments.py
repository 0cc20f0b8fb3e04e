"""Cards and card payments: saving a buyer's card with Stripe and collecting issued invoices.

Stripe is reached only through billing.gateway. A charge is two short transactions around one
call to Stripe: the first locks the invoice and writes a pending `Payment` with its
idempotency key, the second writes what Stripe answered (and, when it succeeded, the payment
in the ledger with the invoice marked paid). Nothing is locked while Stripe is asked, and a
process that dies in between leaves a pending attempt whose key the next try sends again, so
Stripe answers with the first outcome rather than charging twice.
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import gateway
from billing.models import BillingAccount, Invoice, Payment, PaymentMethod
from billing.services import dunning, invoicing
from billing.services.subscriptions import billing_account_for
from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import Conflict, ServiceError

log = logging.getLogger(__name__)
# A call that timed out is sent again this many times, with the same idempotency key.
NETWORK_TRIES = 3


def _with_retries(call):
    """Run a gateway call, again on a timeout or a Stripe server error (same key each time)."""
    for attempt in range(1, NETWORK_TRIES + 1):
        try:
            return call()
        except gateway.PaymentError as error:
            if not error.retryable or attempt == NETWORK_TRIES:
                raise


def _check_billing(actor: User, organization: Organization) -> None:
    if not has_permission(actor, organization, Permission.MANAGE_BILLING):
        raise ServiceError(
            _("Only owners, admins and billing members can manage cards."),
            code="forbidden",
            status_code=403,
        )


def _customer(account: BillingAccount) -> str:
    """The account's Stripe customer, created once (the key makes a retried creation one)."""
    if account.stripe_customer_id:
        return account.stripe_customer_id
    organization = account.organization
    customer_id = _with_retries(
        lambda: gateway.customer_create(
            organization_id=organization.pk,
            name=organization.name,
            email=account.billing_email or "",
        )
    )
    BillingAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(
        stripe_customer_id=customer_id
    )
    account.refresh_from_db()
    return account.stripe_customer_id


def card_setup_start(*, actor: User, organization: Organization) -> gateway.SetupIntent:
    """A SetupIntent whose client secret the card form (Stripe Elements) confirms."""
    _check_billing(actor, organization)
    account = billing_account_for(organization)
    customer_id = _customer(account)
    key = f"setup:{organization.pk}:{uuid.uuid4().hex}"  # one card form, retried as one
    return _with_retries(lambda: gateway.setup_intent_create(customer_id=customer_id, key=key))


@transaction.atomic
def card_setup_finish(
    *, actor: User, organization: Organization, setup_intent_id: str
) -> PaymentMethod:
    """Save the card a confirmed SetupIntent collected, as the default when asked or first."""
    _check_billing(actor, organization)
    account = BillingAccount.objects.select_for_update().get(
        pk=billing_account_for(organization).pk
    )
    if not account.stripe_customer_id:
        raise ServiceError(_("Start adding a card from the billing page first."))
    intent = _with_retries(lambda: gateway.setup_intent_retrieve(setup_intent_id))
    if intent.status != "succeeded" or not intent.payment_method:
        raise ServiceError(
            _("The card was not confirmed (%(status)s). Try again.") % {"status": intent.status}
        )
    card = _with_retries(
        lambda: gateway.payment_method_attach(
            payment_method_id=intent.payment_method, customer_id=account.stripe_customer_id
        )
    )
    if card.customer not in (None, account.stripe_customer_id):
        raise ServiceError(_("That card belongs to another customer."), status_code=403)
    method, _created = PaymentMethod.objects.get_or_create(
        stripe_id=card.id,
        defaults={
            "account": account,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        },
    )
    if method.account_id != account.pk:
        raise ServiceError(_("That card belongs to another organization."), status_code=403)
    if account.default_card_id is None or _created:
        account.default_card = method  # the newest card is the one to charge
        account.has_payment_method = True
        account.save(update_fields=["default_card", "has_payment_method"])
    # Invoices whose last attempt failed are tried again with the new card at once.
    now = timezone.now()
    unpaid = Invoice.objects.filter(buyer=organization, status=Invoice.Status.ISSUED)
    for invoice in unpaid.prefetch_related("payments"):
        attempts = list(invoice.payments.all())  # by attempt
        if attempts and attempts[-1].status == Payment.Status.FAILED:
            Payment.objects.filter(pk=attempts[-1].pk).update(retry_at=now)
    from billing import tasks  # tasks import the services

    transaction.on_commit(tasks.invoices_collect.delay)
    return method


def _own_card(actor: User, organization: Organization, card_id: int) -> PaymentMethod:
    _check_billing(actor, organization)
    card = (
        PaymentMethod.objects.select_for_update()
        .filter(pk=card_id, account__organization=organization, removed_at__isnull=True)
        .first()
    )
    if card is None:
        raise ServiceError(_("No such card."), status_code=404)
    return card


@transaction.atomic
def card_make_default(*, actor: User, organization: Organization, card_id: int) -> PaymentMethod:
    """Charge this saved card from now on."""
    card = _own_card(actor, organization, card_id)
    BillingAccount.objects.filter(pk=card.account_id).update(
        default_card=card, has_payment_method=True
    )
    return card


@transaction.atomic
def card_remove(
    *, actor: User, organization: Organization, card_id: int, now: datetime | None = None
) -> PaymentMethod:
    """Stop using a saved card. Removing the default makes the newest other card the default;
    without one, invoices wait for a bank transfer and a trial needs invoice terms to convert.
    Once this commits, a task detaches the card from the customer at Stripe (card_detach)."""
    from billing import tasks  # tasks import the services

    card = _own_card(actor, organization, card_id)
    card.removed_at = now or timezone.now()
    card.save(update_fields=["removed_at"])
    transaction.on_commit(lambda: tasks.card_detach.delay(card.pk))
    account = BillingAccount.objects.select_for_update().get(pk=card.account_id)
    if account.default_card_id == card.pk:
        account.default_card = account.cards.filter(removed_at__isnull=True).first()
        account.has_payment_method = account.default_card is not None
        account.save(update_fields=["default_card", "has_payment_method"])
    return card


def card_detach(*, card_id: int) -> None:
    """Detach a removed card at Stripe (asked again on a timeout; harmless twice)."""
    card = PaymentMethod.objects.filter(pk=card_id, removed_at__isnull=False).first()
    if card is not None:
        _with_retries(lambda: gateway.payment_method_detach(card.stripe_id))


# --- Collecting invoices --------------------------------------------------------------------------


def invoices_collect(*, now: datetime) -> list[Payment]:
    """Charge issued invoices to their buyers' saved cards: those no attempt has tried yet,
    and those whose failed attempt dunning scheduled again by `now`. One that Stripe could not
    be asked about stays pending and is sent again next time."""
    due = invoices_to_charge() + _pending_too_long(now) + dunning.payments_due_for_retry(now=now)
    attempts = []
    for invoice_id in dict.fromkeys(due):
        try:
            payment = invoice_charge(invoice_id=invoice_id, now=now)
        except gateway.PaymentError as error:
            log.warning("Invoice %s not charged: %s", invoice_id, error.message)
            continue
        if payment is not None:
            attempts.append(payment)
    return attempts


# An attempt still pending after this long lost its answer (the process died, or Stripe was
# unreachable): it is sent again with its key, and Stripe answers with the first outcome.
PENDING_PATIENCE = timedelta(minutes=10)


def _pending_too_long(now: datetime) -> list[int]:
    return list(
        Payment.objects.filter(
            status=Payment.Status.PENDING,
            updated_at__lte=now - PENDING_PATIENCE,
            invoice__status=Invoice.Status.ISSUED,
        ).values_list("invoice_id", flat=True)
    )


def invoices_to_charge() -> list[int]:
    """Issued invoices of buyers with a card on file that no payment attempt has tried yet."""
    return list(
        Invoice.objects.filter(
            status=Invoice.Status.ISSUED,
            buyer__billing_account__default_card__isnull=False,
            payments__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def invoice_charge(*, invoice_id: int, now: datetime | None = None) -> Payment | None:
    """Charge what an issued invoice owes to the buyer's default card, off-session.

    Returns the attempt (None when there is nothing to charge: paid, void, nothing owed, or
    no card on file). An attempt left pending by a process that died is sent again first.
    An earlier attempt still waiting for the buyer to authenticate is cancelled at Stripe
    first, so the buyer cannot confirm it as well and pay twice.
    """
    waiting = _awaiting_authentication(invoice_id)
    if waiting is not None:
        settled = _cancel_unconfirmed(waiting)
        if settled.status == Payment.Status.SUCCEEDED:  # the buyer confirmed it just now
            return settled
    payment = _payment_open(invoice_id=invoice_id, now=now or timezone.now())
    if payment is None:
        return None
    account = payment.invoice.buyer.billing_account
    try:
        charge = _with_retries(
            lambda: gateway.payment_intent_create(
                amount=payment.amount,
                currency=payment.currency,
                customer_id=account.stripe_customer_id,
                payment_method_id=payment.payment_method.stripe_id,
                key=payment.idempotency_key,
                metadata={
                    "precis_invoice": str(payment.invoice_id),
                    "precis_payment": str(payment.pk),
                    "precis_invoice_number": payment.invoice.number,
                },
            )
        )
    except gateway.PaymentError as error:
        if error.retryable:  # still unknown: the attempt stays pending, its key kept
            raise
        return payment_apply(
            payment_id=payment.pk,
            status=Payment.Status.FAILED,
            error_code=error.code,
            error_message=error.message,
        )
    return payment_apply_charge(payment_id=payment.pk, charge=charge)


@transaction.atomic
def _payment_open(*, invoice_id: int, now: datetime) -> Payment | None:
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("buyer__billing_account__default_card")
        .get(pk=invoice_id)
    )
    if invoice.status != Invoice.Status.ISSUED:
        return None
    pending = invoice.payments.filter(
        status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING]
    ).first()
    if pending is not None:
        return pending if pending.status == Payment.Status.PENDING else None
    if invoice.payments.filter(status=Payment.Status.SUCCEEDED).exists():
        return None
    due = invoicing.amount_due(invoice)
    account = getattr(invoice.buyer, "billing_account", None)
    if due <= 0 or account is None or account.default_card is None:
        return None
    attempt = invoice.payments.count() + 1
    invoice.payments.filter(retry_at__isnull=False).update(retry_at=None)  # this is the retry
    return Payment.objects.create(
        invoice=invoice,
        attempt=attempt,
        idempotency_key=f"invoice:{invoice.pk}:charge:{attempt}",
        payment_method=account.default_card,
        amount=due,
        currency=invoice.currency,
        created_at=now,
        updated_at=now,
    )


STATUS_OF_INTENT = {
    "succeeded": Payment.Status.SUCCEEDED,
    "processing": Payment.Status.PROCESSING,
    "requires_payment_method": Payment.Status.FAILED,
    # Off-session, the bank wants the cardholder to authenticate: failed until the buyer
    # confirms it (payment_authentication_finish); dunning goes on meanwhile.
    "requires_action": Payment.Status.FAILED,
    "canceled": Payment.Status.FAILED,
}
# Stripe's decline code when the card's bank asks for 3-D Secure on an off-session charge.
AUTHENTICATION_REQUIRED = "authentication_required"


def payment_apply_charge(*, payment_id: int, charge: gateway.Charge) -> Payment:
    """Apply what Stripe says of a payment's PaymentIntent (after a charge or a webhook)."""
    status = STATUS_OF_INTENT.get(charge.status, Payment.Status.PENDING)
    code, message = charge.error_code, charge.error_message
    if charge.status == "requires_action" or code == AUTHENTICATION_REQUIRED:
        # Stripe declines with this code; localstripe leaves the intent waiting for the action.
        code = AUTHENTICATION_REQUIRED
        message = _("The card's bank asks the cardholder to confirm this payment.")
    return payment_apply(
        payment_id=payment_id,
        status=status,
        payment_intent_id=charge.id,
        error_code=code,
        error_message=message or _failure_message(charge),
    )


def _failure_message(charge: gateway.Charge) -> str:
    if charge.status in ("requires_payment_method", "canceled"):
        return _("The card was declined.")
    return ""


# --- Payments the buyer's bank wants confirmed (3-D Secure) ---------------------------------------


def _awaiting_authentication(invoice_id: int) -> Payment | None:
    """The invoice's latest attempt, if it failed only because the bank wants the cardholder
    to authenticate, and the invoice is still owed."""
    latest = (
        Payment.objects.filter(invoice_id=invoice_id, invoice__status=Invoice.Status.ISSUED)
        .order_by("-attempt")
        .first()
    )
    if (
        latest is None
        or latest.status != Payment.Status.FAILED
        or latest.error_code != AUTHENTICATION_REQUIRED
        or not latest.stripe_payment_intent_id
    ):
        return None
    return latest


def payment_awaiting_authentication(*, invoice: Invoice) -> Payment | None:
    """The payment of an issued invoice that its buyer can confirm now, if there is one."""
    if invoice.status != Invoice.Status.ISSUED:
        return None
    return _awaiting_authentication(invoice.pk)


def _cancel_unconfirmed(payment: Payment) -> Payment:
    """Cancel an attempt nobody authenticated; if the buyer confirmed it meanwhile, apply that."""
    intent = payment.stripe_payment_intent_id
    try:
        charge = _with_retries(lambda: gateway.payment_intent_cancel(intent))
    except gateway.PaymentError:  # not cancellable any more: see what became of it
        charge = _with_retries(lambda: gateway.payment_intent_retrieve(intent))
        return payment_apply_charge(payment_id=payment.pk, charge=charge)
    return payment_apply(
        payment_id=payment.pk,
        status=STATUS_OF_INTENT.get(charge.status, Payment.Status.PENDING),
        payment_intent_id=charge.id,
        error_code="canceled",
        error_message=_("Not confirmed before the next attempt."),
    )


def _payment_to_confirm(actor: User, invoice: Invoice) -> Payment:
    _check_billing(actor, invoice.buyer)
    payment = payment_awaiting_authentication(invoice=invoice)
    if payment is None:
        raise Conflict(_("No payment of this invoice is waiting for confirmation."))
    return payment


def payment_authentication_start(
    *, actor: User, invoice: Invoice
) -> tuple[Payment, gateway.Confirmation]:
    """What the buyer's browser needs to confirm an attempt the bank wants authenticated."""
    payment = _payment_to_confirm(actor, invoice)
    intent = payment.stripe_payment_intent_id
    return payment, _with_retries(lambda: gateway.payment_intent_confirmation(intent))


def payment_authentication_finish(*, actor: User, invoice: Invoice) -> Payment:
    """After the buyer's browser confirmed (or failed to confirm) the attempt with Stripe:
    apply what Stripe now says of it. A success pays the invoice, as any card payment does."""
    payment = _payment_to_confirm(actor, invoice)
    intent = payment.stripe_payment_intent_id
    charge = _with_retries(lambda: gateway.payment_intent_retrieve(intent))
    return payment_apply_charge(payment_id=payment.pk, charge=charge)


# A payment moves forward only: a late "failed" never undoes a success.
RANK = {
    Payment.Status.PENDING: 0,
    Payment.Status.PROCESSING: 1,
    Payment.Status.FAILED: 2,
    Payment.Status.SUCCEEDED: 3,
}


@transaction.atomic
def payment_apply(
    *,
    payment_id: int,
    status: str,
    payment_intent_id: str = "",
    error_code: str = "",
    error_message: str = "",
) -> Payment:
    """Move a payment to `status` unless it is already as far or further; a success marks the
    invoice paid and records the payment in the ledger, in this transaction."""
    payment = Payment.objects.select_for_update().select_related("invoice").get(pk=payment_id)
    now = timezone.now()
    if payment_intent_id and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = payment_intent_id
    failed_now = status == Payment.Status.FAILED and payment.status != status
    if RANK[status] > RANK[payment.status] or (
        status == payment.status and status == Payment.Status.FAILED
    ):
        payment.status = status
        if status == Payment.Status.FAILED:
            payment.error_code = error_code[:64]
            payment.error_message = error_message[:300]
    payment.updated_at = now
    payment.save()
    if failed_now and payment.status == Payment.Status.FAILED:
        dunning.dunning_payment_failed(payment=payment, now=now)
    if payment.status == Payment.Status.SUCCEEDED:
        try:
            invoicing.invoice_record_payment(
                invoice=payment.invoice,
                reference=payment.stripe_payment_intent_id or payment.idempotency_key,
                description="Card payment",
            )
        except Conflict:  # voided or written off while Stripe was collecting it
            payment.error_message = _(
                "Collected after the invoice was closed: refund it from the Stripe dashboard."
            )
            payment.save(update_fields=["error_message"])
    return payment
