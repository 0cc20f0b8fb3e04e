"""Celery entry points for billing: period close, collection, payouts, and the emails about
them. Thin: ids in, services do the work, and running one twice changes nothing the second
time."""

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from billing import gateway
from billing.models import (
    Invoice,
    OutcomeLine,
    OutcomeLineEvent,
    OutcomeStatement,
    Payment,
    Payout,
    Subscription,
    SubscriptionEvent,
)
from billing.money import Money
from billing.services import (
    closing,
    invoicing,
    notices,
    payments,
    payouts,
    reconcile,
    stripe_events,
    subscriptions,
)
from marketplace.accounts.models import Role
from marketplace.accounts.selectors import members_of
from marketplace.emails import email_send, email_task

REMINDER_AHEAD = timedelta(days=3)


@shared_task(ignore_result=True, time_limit=3600)
def periods_close() -> None:
    """The period close (billing.services.closing): trials, periods, statements, invoices."""
    closing.period_close(now=timezone.now())


@shared_task(ignore_result=True, time_limit=300)
def trial_reminders_send() -> None:
    """Remind buyers a few days before a trial ends, once per trial."""
    now = timezone.now()
    due = Subscription.objects.filter(
        status=Subscription.Status.TRIALING,
        trial_ends_at__lte=now + REMINDER_AHEAD,
        trial_ends_at__gt=now,
        trial_reminder_sent_at__isnull=True,
    ).values_list("pk", flat=True)
    for subscription_id in due:
        with transaction.atomic():
            claimed = Subscription.objects.filter(
                pk=subscription_id, trial_reminder_sent_at__isnull=True
            ).update(trial_reminder_sent_at=now)
            if claimed:
                SubscriptionEvent.objects.create(
                    subscription_id=subscription_id, action=SubscriptionEvent.Action.REMINDER_SENT
                )
                transaction.on_commit(lambda pk=subscription_id: trial_reminder_email.delay(pk))


@shared_task(ignore_result=True, time_limit=600)
def billing_notices_send() -> None:
    """Email buyers about invoices just issued, outcome statements to verify and invoices paid
    by bank transfer that are overdue, once each."""
    now = timezone.now()
    while True:
        with transaction.atomic():
            claimed = notices.notices_claim(now=now)
            for pk in claimed.invoices:
                transaction.on_commit(lambda pk=pk: invoice_issued_email.delay(pk))
            for pk in claimed.statements:
                transaction.on_commit(lambda pk=pk: statement_opened_email.delay(pk))
            for pk in claimed.overdue:
                transaction.on_commit(lambda pk=pk: invoice_overdue_email.delay(pk))
        if not claimed.full(notices.BATCH):
            return


def _send(organization, template: str, context: dict, link: tuple | None = None) -> None:
    """One email to the organization's billing people, in the organization's language."""
    email_send(
        f"billing/email/{template}",
        context,
        _billing_people(organization),
        language=organization.language,
        link=link,
    )


@email_task
def invoice_issued_email(invoice_id: int) -> None:
    invoice = (
        Invoice.objects.select_related("buyer__billing_account", "issuer", "plan_version__plan")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None or invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID):
        return
    account = getattr(invoice.buyer, "billing_account", None)
    _send(
        invoice.buyer,
        "invoice_issued",
        {
            "invoice": invoice,
            "total": str(Money(invoice.total, invoice.currency).rounded()),
            "by_card": account is not None and account.default_card_id is not None,
        },
        link=("billing:invoice_detail", [invoice.pk]),
    )


@email_task
def invoice_overdue_email(invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("buyer", "issuer").filter(pk=invoice_id).first()
    if invoice is None or invoice.status != Invoice.Status.ISSUED:
        return
    _send(
        invoice.buyer,
        "invoice_overdue",
        {
            "invoice": invoice,
            "due": str(Money(invoicing.amount_due(invoice), invoice.currency).rounded()),
        },
        link=("billing:invoice_detail", [invoice.pk]),
    )


@email_task
def statement_opened_email(statement_id: int) -> None:
    statement = (
        OutcomeStatement.objects.select_related(
            "subscription__buyer", "subscription__plan_version__plan__listing"
        )
        .filter(pk=statement_id, status=OutcomeStatement.Status.OPEN)
        .first()
    )
    if statement is None:
        return
    _send(
        statement.subscription.buyer,
        "statement_opened",
        {
            "statement": statement,
            "listing": statement.subscription.plan_version.plan.listing,
        },
        link=("billing:statement_detail", [statement.pk]),
    )


def _figure(quantity) -> str:
    """A quantity without trailing zeros (45, 12.5)."""
    return "" if quantity is None else f"{quantity.normalize():f}"


@email_task
def outcome_line_email(line_id: int, action: str) -> None:
    """A disputed outcome line, to the vendor's billing people; an answer, to the buyer's."""
    line = (
        OutcomeLine.objects.select_related(
            "metric",
            "statement__subscription__buyer",
            "statement__subscription__plan_version__plan__listing__vendor",
        )
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        return
    subscription = line.statement.subscription
    listing = subscription.plan_version.plan.listing
    to = listing.vendor if action == OutcomeLineEvent.Action.DISPUTED else subscription.buyer
    _send(
        to,
        "outcome_line",
        {
            "line": line,
            "action": action,
            "listing": listing,
            "buyer": subscription.buyer,
            "measured": _figure(line.measured),
            "answer": _figure(line.answer_quantity),
        },
        link=("billing:statement_detail", [line.statement_id]),
    )


@email_task
def trial_reminder_email(subscription_id: int) -> None:
    subscription = (
        Subscription.objects.select_related("buyer", "plan_version__plan__listing")
        .filter(pk=subscription_id)
        .first()
    )
    if subscription is None:
        return
    _send(
        subscription.buyer,
        "trial_reminder",
        {
            "subscription": subscription,
            "can_pay": subscriptions.billing_account_for(subscription.buyer).can_pay,
        },
    )


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def stripe_event_process(event_id: int) -> None:
    """Process one stored Stripe event (billing.services.stripe_events); a handler that fails
    leaves the event failed for staff and `manage.py stripe_replay`."""
    event = stripe_events.stripe_event_process(event_id=event_id)
    if (
        event.status == event.Status.FAILED
        and event.attempts < 5
        and not stripe_event_process.request.is_eager
    ):
        raise stripe_event_process.retry(countdown=30 * event.attempts)


@shared_task(
    autoretry_for=(gateway.PaymentError,),
    retry_backoff=60,
    retry_kwargs={"max_retries": 8},
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def card_detach(card_id: int) -> None:
    """Detach a card the buyer removed from its customer at Stripe (Stripe unreachable: later)."""
    payments.card_detach(card_id=card_id)


@email_task
def payout_email(payout_id: int) -> None:
    """A payout statement drafted (what will be paid), or the payout paid (how)."""
    payout = Payout.objects.select_related("vendor").filter(pk=payout_id).first()
    if payout is None:
        return
    _send(
        payout.vendor,
        "payout",
        {
            "payout": payout,
            "amount": str(Money(payout.amount, payout.currency).rounded()),
            "month": payout.period_start.date(),
        },
        link=("vendors:payout_detail", [payout.vendor.slug, payout.pk]),
    )


@shared_task(ignore_result=True, soft_time_limit=540, time_limit=600)
def invoices_collect() -> None:
    """Charge what is due to saved cards (billing.services.payments.invoices_collect)."""
    payments.invoices_collect(now=timezone.now())


@email_task
def payment_failed_email(payment_id: int) -> None:
    """Tell the buyer's billing people a card payment failed: when it is tried again, or that
    the subscription is suspended until the invoice is paid."""
    payment = (
        Payment.objects.select_related("invoice__buyer", "invoice__subscription", "payment_method")
        .filter(pk=payment_id)
        .first()
    )
    if payment is None:
        return
    invoice = payment.invoice
    confirm = payment.error_code == payments.AUTHENTICATION_REQUIRED
    _send(
        invoice.buyer,
        "payment_failed",
        {
            "payment": payment,
            "invoice": invoice,
            "suspended": payment.retry_at is None,
            "amount": str(Money(payment.amount, payment.currency).rounded()),
        },
        # The bank wants the cardholder to confirm it: the page that does.
        link=("billing:invoice_confirm_payment", [invoice.pk]) if confirm else None,
    )


def _billing_people(organization) -> list[str]:
    return list(
        members_of(organization)
        .filter(role__in=[Role.OWNER, Role.ADMIN, Role.BILLING])
        .values_list("user__email", flat=True)
    )


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 3},
    ignore_result=True,
    soft_time_limit=540,
    time_limit=600,
)
def stripe_reconcile() -> None:
    """Nightly: compare the last days' card payments and card-paid invoices with Stripe; when
    something differs, a warning in the log and an email to staff
    (billing.services.reconcile). Changes nothing, so running it again only reports again."""
    now = timezone.now()
    reconcile.stripe_reconcile_report(since=now - timedelta(days=reconcile.RECONCILE_DAYS), now=now)


@shared_task(ignore_result=True, soft_time_limit=540, time_limit=600)
def payouts_prepare() -> None:
    """Draft last month's payouts (billing.services.payouts); running it again adds nothing."""
    now = timezone.now()
    payouts.payouts_prepare(month=payouts.previous_month(now), now=now)
