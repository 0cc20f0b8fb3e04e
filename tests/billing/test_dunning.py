"""Dunning against localstripe: a card that keeps being declined makes the subscription past
due, is retried on schedule with an email each time, then suspended; a new card pays the
invoice and restores everything."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from billing import selectors
from billing.models import Invoice, Payment, Subscription, SubscriptionEvent
from billing.services import dunning, payments
from billing.services.closing import period_close
from tests.billing.test_payments import DECLINED_OFF_SESSION, OK_CARD, _save_card


@pytest.fixture
def declining(stripe_server, subscription, buyer, buyer_owner):
    """An active subscription whose first invoice (499.00) meets a card that is declined."""
    _save_card(buyer_owner, buyer, DECLINED_OFF_SESSION)
    period_close(now=subscription.trial_ends_at + timedelta(minutes=1))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    return subscription, Invoice.objects.get(subscription=subscription)


def _actions(subscription) -> list[str]:
    return list(
        subscription.events.filter(
            action__in=[
                SubscriptionEvent.Action.PAYMENT_FAILED,
                SubscriptionEvent.Action.SUSPENDED,
                SubscriptionEvent.Action.RECOVERED,
            ]
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_a_declined_card_is_retried_on_schedule_then_the_subscription_is_suspended(
    declining, buyer, buyer_owner, django_capture_on_commit_callbacks
):
    subscription, invoice = declining
    with django_capture_on_commit_callbacks(execute=True):
        (first,) = payments.invoices_collect(now=invoice.issued_at)
    subscription.refresh_from_db()
    assert (first.status, first.error_code) == (Payment.Status.FAILED, "card_declined")
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.is_entitled  # still entitled while retried
    assert first.retry_at - first.updated_at == timedelta(days=1)
    assert len(mail.outbox) == 1
    assert "We will try again" in mail.outbox[0].body
    assert mail.outbox[0].to == [buyer_owner.email]

    # Nothing is due before the retry time; then each retry follows the schedule.
    assert payments.invoices_collect(now=first.retry_at - timedelta(minutes=1)) == []
    retry_at, gaps = first.retry_at, []
    for _ in range(len(dunning.RETRY_AFTER)):
        with django_capture_on_commit_callbacks(execute=True):
            (attempt,) = payments.invoices_collect(now=retry_at)
        assert attempt.status == Payment.Status.FAILED
        if attempt.retry_at:
            gaps.append(attempt.retry_at - attempt.updated_at)
            retry_at = attempt.retry_at

    assert gaps == [timedelta(days=3), timedelta(days=7)]
    assert invoice.payments.count() == dunning.MAX_ATTEMPTS
    assert invoice.payments.filter(retry_at__isnull=False).count() == 0
    subscription.refresh_from_db()
    assert subscription.suspended_at is not None
    assert not subscription.is_entitled
    entitlement = selectors.entitlement_for(subscription)
    assert (entitlement["entitled"], entitlement["suspended"]) == (False, True)
    assert len(mail.outbox) == dunning.MAX_ATTEMPTS
    assert "suspended" in mail.outbox[-1].subject
    assert _actions(subscription) == ["payment_failed"] * dunning.MAX_ATTEMPTS + ["suspended"]
    # No further attempt is scheduled.
    assert payments.invoices_collect(now=retry_at + timedelta(days=30)) == []

    # A new card: the invoice is charged at once and everything is restored.
    with django_capture_on_commit_callbacks(execute=True):
        _save_card(buyer_owner, buyer, OK_CARD)
    invoice.refresh_from_db()
    subscription.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payments.order_by("attempt").last().status == Payment.Status.SUCCEEDED
    assert (subscription.status, subscription.suspended_at) == (Subscription.Status.ACTIVE, None)
    assert subscription.is_entitled
    assert _actions(subscription)[-1] == "recovered"
    owed = selectors.ledger_balance("receivable", organization=buyer, currency="CNY")
    assert owed == Decimal("0.00")


def test_a_bank_transfer_also_ends_dunning(declining):
    from billing.services import invoicing
    from tests.factories import UserFactory

    subscription, invoice = declining
    staff_user = UserFactory(is_staff=True)
    payments.invoices_collect(now=invoice.issued_at)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE

    invoicing.invoice_mark_paid(actor=staff_user, invoice=invoice, reference="ICBC 7781")

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert not invoice.payments.filter(retry_at__isnull=False).exists()
    assert payments.invoices_collect(now=invoice.issued_at + timedelta(days=2)) == []
