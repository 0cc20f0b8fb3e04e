"""Cards and off-session payments against localstripe, started by the test run (no network)."""

import contextlib
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe

from billing.models import Invoice, LedgerTransaction, Payment
from billing.selectors import ledger_balance
from billing.services import payments, subscriptions
from billing.services.closing import period_close

OK_CARD = "4242424242424242"
DECLINED_OFF_SESSION = "4000000000000341"  # saved fine, declined when charged


@pytest.fixture
def invoice(subscription, buyer, buyer_owner):
    """The first month's fee (499.00 CNY), issued when the trial converts."""
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    period_close(now=subscription.trial_ends_at + timedelta(minutes=1))
    return Invoice.objects.get(subscription=subscription, status=Invoice.Status.ISSUED)


def _save_card(actor, organization, number: str):
    """What the card form does in the browser: confirm the SetupIntent with a card, then the
    page tells Precis (the test enters the card through the API instead of Stripe.js)."""
    intent = payments.card_setup_start(actor=actor, organization=organization)
    api = stripe.StripeClient("sk_test_precis_tests", base_addresses={"api": _api_base()})
    method = api.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )
    api.v1.setup_intents.confirm(intent.id, params={"payment_method": method.id})
    return payments.card_setup_finish(
        actor=actor, organization=organization, setup_intent_id=intent.id
    )


def _api_base() -> str:
    from django.conf import settings

    return settings.STRIPE_API_BASE


def test_a_saved_card_pays_an_issued_invoice_off_session(stripe_server, invoice, buyer_owner):
    card = _save_card(buyer_owner, invoice.buyer, OK_CARD)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2031)
    account = invoice.buyer.billing_account
    account.refresh_from_db()
    assert account.stripe_customer_id.startswith("cus_")
    assert account.default_card == card
    assert account.has_payment_method

    payment = payments.invoice_charge(invoice_id=invoice.pk)

    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.stripe_payment_intent_id.startswith("pi_")
    assert payment.idempotency_key == f"invoice:{invoice.pk}:charge:1"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payment_reference == payment.stripe_payment_intent_id
    assert LedgerTransaction.objects.filter(idempotency_key=f"invoice:{invoice.pk}:paid").exists()
    assert ledger_balance("receivable", organization=invoice.buyer, currency="CNY") == Decimal(
        "0.00"
    )
    assert ledger_balance("cash", currency="CNY") == Decimal("499.00")
    intent = payments.gateway.payment_intent_retrieve(payment.stripe_payment_intent_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", Decimal("499"), "CNY")
    # Charging a paid invoice again sends nothing.
    assert payments.invoice_charge(invoice_id=invoice.pk) is None
    assert invoice.payments.count() == 1


def test_a_declined_card_leaves_the_invoice_issued_with_the_reason(
    stripe_server, invoice, buyer_owner
):
    _save_card(buyer_owner, invoice.buyer, DECLINED_OFF_SESSION)

    payment = payments.invoice_charge(invoice_id=invoice.pk)

    assert payment.status == Payment.Status.FAILED
    assert payment.error_code == "card_declined"
    assert "declined" in payment.error_message
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYMENT).exists()
    # The next attempt is a new one, with its own key.
    again = payments.invoice_charge(invoice_id=invoice.pk)
    assert (again.attempt, again.idempotency_key) == (2, f"invoice:{invoice.pk}:charge:2")


def charge_left_pending(invoice: Invoice) -> tuple[Payment, "payments.gateway.Charge"]:
    """What a process leaves when it wrote its attempt and asked Stripe to charge the buyer's
    default card, then died before it wrote the answer: a pending Payment, and the
    PaymentIntent Stripe has (asked with the same key and parameters as invoice_charge)."""
    account = invoice.buyer.billing_account
    account.refresh_from_db()
    pending = Payment.objects.create(
        invoice=invoice,
        attempt=1,
        idempotency_key=f"invoice:{invoice.pk}:charge:1",
        payment_method=account.default_card,
        amount=invoice.total,
        currency=invoice.currency,
    )
    charge = payments.gateway.payment_intent_create(
        amount=invoice.total,
        currency=invoice.currency,
        customer_id=account.stripe_customer_id,
        payment_method_id=account.default_card.stripe_id,
        key=pending.idempotency_key,
        metadata={
            "precis_invoice": str(invoice.pk),
            "precis_payment": str(pending.pk),
            "precis_invoice_number": invoice.number,
        },
    )
    return pending, charge


class _SlowFirstAnswer:
    """A TCP relay in front of localstripe that holds back the answer on its first connection
    for longer than the client waits: the request is done at Stripe, the caller sees a
    timeout. Later connections pass straight through."""

    def __init__(self, upstream: str, hold: float):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream, self.hold, self.connections = (host, int(port)), hold, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            hold = self.hold if self.connections == 1 else 0
            threading.Thread(target=self._relay, args=(client, hold), daemon=True).start()

    def _relay(self, client, hold):
        server = socket.create_connection(self.upstream)

        def pump(source, target, delay):
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    if delay:
                        time.sleep(delay)
                        delay = 0
                    target.sendall(data)
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

        upstream = threading.Thread(target=pump, args=(client, server, 0), daemon=True)
        upstream.start()
        pump(server, client, hold)
        upstream.join(timeout=5)
        client.close()
        server.close()

    def close(self):
        self.listener.close()


def test_a_timed_out_charge_sent_again_creates_one_payment_intent(
    stripe_server, invoice, buyer_owner, settings
):
    _save_card(buyer_owner, invoice.buyer, OK_CARD)
    relay = _SlowFirstAnswer(stripe_server, hold=1.5)
    settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT = relay.url, 0.5
    try:
        payment = payments.invoice_charge(invoice_id=invoice.pk)
    finally:
        relay.close()
        settings.STRIPE_API_BASE = stripe_server

    assert relay.connections >= 2  # the first call timed out and was sent again
    assert payment.status == Payment.Status.SUCCEEDED
    api = stripe.StripeClient("sk_test_precis_tests", base_addresses={"api": stripe_server})
    customer = invoice.buyer.billing_account.stripe_customer_id
    intents = [
        intent
        for intent in api.v1.payment_intents.list(params={"limit": 100}).data
        if intent.customer == customer
    ]
    assert [intent.id for intent in intents] == [payment.stripe_payment_intent_id]


def test_only_billing_members_manage_cards(stripe_server, invoice):
    from marketplace.accounts.models import Role
    from marketplace.errors import ServiceError
    from tests.factories import MembershipFactory

    member = MembershipFactory(organization=invoice.buyer, role=Role.MEMBER).user
    with pytest.raises(ServiceError) as refused:
        payments.card_setup_start(actor=member, organization=invoice.buyer)
    assert refused.value.status_code == 403


def test_a_trial_with_a_card_on_file_converts_and_its_first_invoice_is_paid(
    stripe_server, subscription, buyer, buyer_owner
):
    from billing import tasks
    from billing.models import Subscription

    _save_card(buyer_owner, buyer, OK_CARD)  # no invoice terms: the card alone

    period_close(now=subscription.trial_ends_at + timedelta(minutes=1))
    tasks.invoices_collect()

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    invoice = Invoice.objects.get(subscription=subscription)
    assert (invoice.status, invoice.total) == (Invoice.Status.PAID, Decimal("499.00"))
    assert invoice.payments.get().status == Payment.Status.SUCCEEDED


def test_an_attempt_left_pending_is_sent_again_with_its_key_and_charges_once(
    stripe_server, invoice, buyer_owner
):
    _save_card(buyer_owner, invoice.buyer, OK_CARD)
    pending, first = charge_left_pending(invoice)

    assert payments.invoices_collect(now=pending.updated_at + timedelta(minutes=5)) == []
    (again,) = payments.invoices_collect(now=pending.updated_at + timedelta(minutes=11))

    assert (again.pk, again.status) == (pending.pk, Payment.Status.SUCCEEDED)
    assert again.stripe_payment_intent_id == first.id  # Stripe's first answer, not a new charge
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_billing_member_chooses_the_default_card_and_removes_cards(
    stripe_server, invoice, buyer_owner
):
    organization = invoice.buyer
    first = _save_card(buyer_owner, organization, OK_CARD)
    second = _save_card(buyer_owner, organization, DECLINED_OFF_SESSION)
    account = organization.billing_account
    account.refresh_from_db()
    assert account.default_card == second  # the newest card is the one to charge

    payments.card_make_default(actor=buyer_owner, organization=organization, card_id=first.pk)
    account.refresh_from_db()
    assert account.default_card == first

    payments.card_remove(actor=buyer_owner, organization=organization, card_id=first.pk)
    account.refresh_from_db()
    assert (account.default_card, account.has_payment_method) == (second, True)
    payments.card_remove(actor=buyer_owner, organization=organization, card_id=second.pk)
    account.refresh_from_db()
    assert (account.default_card, account.has_payment_method) == (None, False)
    assert payments.invoice_charge(invoice_id=invoice.pk) is None  # nothing to charge it to


def test_a_card_of_another_organization_cannot_be_touched(stripe_server, invoice, buyer_owner):
    from marketplace.errors import ServiceError
    from tests.factories import MembershipFactory, OrganizationFactory

    card = _save_card(buyer_owner, invoice.buyer, OK_CARD)
    other = OrganizationFactory()
    stranger = MembershipFactory(organization=other, role="owner").user

    with pytest.raises(ServiceError) as refused:
        payments.card_remove(actor=stranger, organization=other, card_id=card.pk)
    assert refused.value.status_code == 404
    card.refresh_from_db()
    assert card.removed_at is None


def test_a_removed_card_is_detached_at_stripe_once_the_removal_commits(
    stripe_server, invoice, buyer_owner, django_capture_on_commit_callbacks
):
    card = _save_card(buyer_owner, invoice.buyer, OK_CARD)
    assert payments.gateway.payment_method_retrieve(card.stripe_id).customer is not None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payments.card_remove(actor=buyer_owner, organization=invoice.buyer, card_id=card.pk)
        # Until the removal commits, Stripe is not asked.
        assert payments.gateway.payment_method_retrieve(card.stripe_id).customer is not None
    assert len(callbacks) == 1

    assert payments.gateway.payment_method_retrieve(card.stripe_id).customer is None
    payments.card_detach(card_id=card.pk)  # again: nothing to do, no error
    assert payments.gateway.payment_method_retrieve(card.stripe_id).customer is None
