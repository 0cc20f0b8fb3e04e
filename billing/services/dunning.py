"""Dunning: what happens to a subscription when its card payment fails, and when it is paid.

A failed attempt makes the subscription past due (still entitled) and schedules the next
attempt RETRY_AFTER later, with an email to the buyer's billing people at each step; when the
last attempt fails too, the subscription is suspended: no entitlement, while its telemetry is
still stored and its periods still invoiced. Paying the invoice, by card or by bank transfer,
ends it all: the subscription is active and entitled again, unless another of its invoices is
still being dunned.

These run inside the transaction that applied the payment's outcome (payments.payment_apply,
invoicing.invoice_record_payment); emails go out once it commits.
"""

from datetime import datetime, timedelta

from django.db import transaction

from billing.models import Invoice, Payment, Subscription, SubscriptionEvent

# After the first failed attempt, the next ones: a day later, three days after that, a week
# after that. The attempt after the last of these is not made: the subscription is suspended.
RETRY_AFTER = (timedelta(days=1), timedelta(days=3), timedelta(days=7))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1


def dunning_payment_failed(*, payment: Payment, now: datetime) -> None:
    """A payment just failed: schedule the next attempt, or suspend after the last one."""
    from billing import tasks  # tasks import the services

    invoice = payment.invoice
    subscription = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
    last = payment.attempt >= MAX_ATTEMPTS
    payment.retry_at = None if last else now + RETRY_AFTER[payment.attempt - 1]
    payment.save(update_fields=["retry_at"])
    changed = []
    if subscription.status == Subscription.Status.ACTIVE:
        subscription.status = Subscription.Status.PAST_DUE
        changed.append("status")
    events = [
        SubscriptionEvent(
            subscription=subscription,
            action=SubscriptionEvent.Action.PAYMENT_FAILED,
            data={
                "invoice": invoice.number,
                "attempt": payment.attempt,
                "code": payment.error_code,
                "retry_at": payment.retry_at.isoformat() if payment.retry_at else None,
            },
            created_at=now,
        )
    ]
    if last and subscription.suspended_at is None:
        subscription.suspended_at = now
        changed.append("suspended_at")
        events.append(
            SubscriptionEvent(
                subscription=subscription,
                action=SubscriptionEvent.Action.SUSPENDED,
                data={"invoice": invoice.number},
                created_at=now,
            )
        )
    if changed:
        subscription.save(update_fields=[*changed, "updated_at"])
    SubscriptionEvent.objects.bulk_create(events)
    transaction.on_commit(lambda: tasks.payment_failed_email.delay(payment.pk))


def dunning_invoice_paid(*, invoice: Invoice, now: datetime) -> None:
    """An invoice was paid: stop retrying it, and lift past due and suspension when none of
    the subscription's other invoices is still being dunned."""
    Payment.objects.filter(invoice=invoice, retry_at__isnull=False).update(retry_at=None)
    if invoice.subscription_id is None:
        return
    subscription = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
    if subscription.status != Subscription.Status.PAST_DUE and subscription.suspended_at is None:
        return
    still_dunned = (
        Invoice.objects.filter(
            subscription=subscription,
            status=Invoice.Status.ISSUED,
            payments__status=Payment.Status.FAILED,
        )
        .exclude(pk=invoice.pk)
        .exists()
    )
    if still_dunned:
        return
    if subscription.status == Subscription.Status.PAST_DUE:
        subscription.status = Subscription.Status.ACTIVE
    subscription.suspended_at = None
    subscription.save(update_fields=["status", "suspended_at", "updated_at"])
    SubscriptionEvent.objects.create(
        subscription=subscription,
        action=SubscriptionEvent.Action.RECOVERED,
        data={"invoice": invoice.number},
        created_at=now,
    )


def payments_due_for_retry(*, now: datetime) -> list[int]:
    """Issued invoices whose last failed attempt is due to be tried again."""
    return list(
        Payment.objects.filter(
            status=Payment.Status.FAILED,
            retry_at__lte=now,
            invoice__status=Invoice.Status.ISSUED,
        )
        .order_by("retry_at", "pk")
        .values_list("invoice_id", flat=True)
        .distinct()
    )
