"""A card whose bank wants 3-D Secure, charged while the buyer is away (off-session), against
localstripe: the payment waits for the buyer, who is emailed a link and confirms it; another
attempt cancels the unconfirmed one first, so it cannot be paid twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import stripe
from django.conf import settings
from django.core import mail
from django.urls import reverse

from billing.models import Invoice, LedgerTransaction, Payment, Subscription
from billing.selectors import ledger_balance
from billing.services import payments
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from marketplace.errors import Conflict, ServiceError
from tests.billing.test_payments import OK_CARD
from tests.factories import MembershipFactory

THREE_D_SECURE = "4000002500003155"  # authenticated when saved, and asked again off-session


def _save_card_with_authentication(actor, organization):
    """The card form with a 3-D Secure card: Stripe.js confirms the SetupIntent, the bank asks
    for authentication, the cardholder completes it (localstripe's confirm, sent again)."""
    intent = payments.card_setup_start(actor=actor, organization=organization)
    api = stripe.StripeClient("sk_test_precis_tests", base_addresses={"api": _api()})
    method = api.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": THREE_D_SECURE, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )
    first = api.v1.setup_intents.confirm(intent.id, params={"payment_method": method.id})
    assert first.status == "requires_action"
    assert api.v1.setup_intents.confirm(intent.id).status == "succeeded"
    return payments.card_setup_finish(
        actor=actor, organization=organization, setup_intent_id=intent.id
    )


def _api() -> str:
    return settings.STRIPE_API_BASE


def _authenticate(confirmation, *, success: bool) -> requests.Response:
    """What Stripe.js does when the cardholder completes (or fails) the bank's step."""
    intent = confirmation.client_secret.split("_secret_")[0]
    return requests.post(
        f"{_api()}/v1/payment_intents/{intent}/_authenticate",
        params={"success": "true" if success else "false"},
        json={"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": confirmation.client_secret},
        timeout=5,
    )


@pytest.fixture
def waiting(stripe_server, subscription, buyer, buyer_owner, django_capture_on_commit_callbacks):
    """The first invoice (499.00 CNY) charged off-session to a 3-D Secure card."""
    _save_card_with_authentication(buyer_owner, buyer)
    period_close(now=subscription.trial_ends_at + timedelta(minutes=1))
    invoice = Invoice.objects.get(subscription=subscription)
    with django_capture_on_commit_callbacks(execute=True):
        payment = payments.invoice_charge(invoice_id=invoice.pk)
    return invoice, payment


def test_the_payment_waits_for_the_buyer_who_confirms_it_and_the_invoice_is_paid(
    waiting, buyer_owner
):
    invoice, payment = waiting
    assert (payment.status, payment.error_code) == (
        Payment.Status.FAILED,
        "authentication_required",
    )
    assert "confirm" in payment.error_message
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE  # dunning goes on meanwhile
    assert payments.payment_awaiting_authentication(invoice=invoice) == payment

    # The email asks for the confirmation and links to it.
    (email,) = mail.outbox
    assert email.subject == f"Confirm the payment of invoice {invoice.number}"
    link = reverse("billing:invoice_confirm_payment", args=[invoice.pk])
    assert link in email.body
    assert "499.00 CNY" in email.body

    same, confirmation = payments.payment_authentication_start(actor=buyer_owner, invoice=invoice)
    assert same == payment
    assert confirmation.status == "requires_action"
    assert confirmation.client_secret.startswith(payment.stripe_payment_intent_id)
    assert _authenticate(confirmation, success=True).ok

    paid = payments.payment_authentication_finish(actor=buyer_owner, invoice=invoice)

    assert (paid.pk, paid.status) == (payment.pk, Payment.Status.SUCCEEDED)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert LedgerTransaction.objects.filter(idempotency_key=f"invoice:{invoice.pk}:paid").exists()
    assert ledger_balance("cash", currency="CNY") == Decimal("499.00")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert payments.payment_awaiting_authentication(invoice=invoice) is None
    with pytest.raises(Conflict):  # nothing left to confirm
        payments.payment_authentication_finish(actor=buyer_owner, invoice=invoice)


def test_a_failed_authentication_leaves_the_invoice_owed(waiting, buyer_owner):
    invoice, _payment = waiting
    _, confirmation = payments.payment_authentication_start(actor=buyer_owner, invoice=invoice)
    assert _authenticate(confirmation, success=False).ok

    failed = payments.payment_authentication_finish(actor=buyer_owner, invoice=invoice)

    assert failed.status == Payment.Status.FAILED
    assert failed.error_code == "payment_intent_authentication_failure"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert payments.payment_awaiting_authentication(invoice=invoice) is None


def test_another_attempt_cancels_the_unconfirmed_one_so_it_cannot_be_paid_twice(
    waiting, buyer_owner
):
    invoice, first = waiting
    _, old = payments.payment_authentication_start(actor=buyer_owner, invoice=invoice)

    second = payments.invoice_charge(invoice_id=invoice.pk)  # dunning's retry

    assert second.attempt == 2
    first.refresh_from_db()
    assert (first.status, first.error_code) == (Payment.Status.FAILED, "canceled")
    intent = payments.gateway.payment_intent_retrieve(first.stripe_payment_intent_id)
    assert intent.status == "canceled"
    assert not _authenticate(old, success=True).ok  # the old one can no longer be confirmed
    assert payments.payment_awaiting_authentication(invoice=invoice) == second


def test_a_new_card_pays_the_invoice_and_the_waiting_payment_is_cancelled(waiting, buyer_owner):
    invoice, first = waiting
    from tests.billing.test_payments import _save_card

    _save_card(buyer_owner, invoice.buyer, OK_CARD)  # the default card from now on

    paid = payments.invoice_charge(invoice_id=invoice.pk)

    assert (paid.attempt, paid.status) == (2, Payment.Status.SUCCEEDED)
    first.refresh_from_db()
    assert first.error_code == "canceled"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payments.filter(status=Payment.Status.SUCCEEDED).count() == 1


def test_only_the_buyers_billing_people_confirm_payments(waiting):
    invoice, _payment = waiting
    member = MembershipFactory(organization=invoice.buyer, role=Role.MEMBER).user
    with pytest.raises(ServiceError) as refused:
        payments.payment_authentication_start(actor=member, invoice=invoice)
    assert refused.value.status_code == 403


def test_the_invoice_page_links_to_the_confirmation_and_the_page_renders(
    waiting, buyer_owner, client
):
    invoice, payment = waiting
    client.force_login(buyer_owner)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
    link = reverse("billing:invoice_confirm_payment", args=[invoice.pk])
    assert link in page.content.decode()

    confirm = client.get(link)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert 'data-intent-status="requires_action"' in body
    assert payment.stripe_payment_intent_id in body  # the client secret starts with its id

    # Posting before the bank's step changes nothing: still waiting, and said so.
    answer = client.post(link, follow=True)
    assert "was not confirmed" in answer.content.decode()
    assert payments.payment_awaiting_authentication(invoice=invoice) == payment

    member = MembershipFactory(organization=invoice.buyer, role=Role.MEMBER).user
    client.force_login(member)
    assert (
        link
        not in client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    )
    assert client.get(link).status_code == 302  # back to the invoice, with the reason
