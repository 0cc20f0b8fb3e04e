"""`POST /billing/webhooks/stripe/`: signatures, the inbox, order and replays.

Events localstripe does not send (payment_intent.*) are signed here with the endpoint's secret,
as Stripe signs them; one test has localstripe itself deliver an event to a live server.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from billing import gateway
from billing.models import Invoice, LedgerTransaction, Payment, StripeEvent
from billing.services.closing import period_close
from tests.billing.test_payments import OK_CARD, _save_card, charge_left_pending

SECRET = "whsec_precis_tests"
URL = "/billing/webhooks/stripe/"


def _signature(body: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    signed = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={signed}"


def _event(event_id: str, kind: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def _post(client, event: dict, **signing):
    body = json.dumps(event).encode()
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signature(body, **signing),
    )


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def test_a_signed_event_is_stored_once_and_acknowledged(
    client, db, webhook_secret, django_capture_on_commit_callbacks
):
    event = _event("evt_1", "customer.updated", {"id": "cus_1", "object": "customer"})

    with django_capture_on_commit_callbacks(execute=True) as queued:
        first = _post(client, event)
        again = _post(client, event)

    assert first.status_code == again.status_code == 200
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert len(queued) == 1  # one task for the event, none for the repeat
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.status) == (
        "evt_1",
        "customer.updated",
        StripeEvent.Status.IGNORED,  # processed at once (eager tasks): nothing to do for it
    )


@pytest.mark.parametrize(
    "tamper",
    ["no header", "changed body", "wrong secret", "older than 300 s", "not an event"],
)
def test_a_webhook_that_fails_verification_gets_400_and_stores_nothing(
    client, db, webhook_secret, tamper
):
    event = _event("evt_2", "payment_intent.succeeded", {"id": "pi_1"})
    body = json.dumps(event).encode()
    headers = {"HTTP_STRIPE_SIGNATURE": _signature(body)}
    if tamper == "no header":
        headers = {}
    elif tamper == "changed body":
        body = body.replace(b"pi_1", b"pi_2")
    elif tamper == "wrong secret":
        headers = {"HTTP_STRIPE_SIGNATURE": _signature(body, secret="whsec_someone_else")}
    elif tamper == "older than 300 s":
        headers = {"HTTP_STRIPE_SIGNATURE": _signature(body, at=int(time.time()) - 301)}
    else:
        body = b'["a list"]'
        headers = {"HTTP_STRIPE_SIGNATURE": _signature(body)}

    answer = client.post(URL, body, content_type="application/json", **headers)

    assert answer.status_code == 400
    assert answer.json()["error"].startswith("Rejected")
    assert not StripeEvent.objects.exists()


def test_without_a_webhook_secret_every_event_is_refused(client, db, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    answer = _post(client, _event("evt_3", "customer.updated", {"id": "cus_1"}))
    assert answer.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.fixture
def charged(stripe_server, subscription, buyer, buyer_owner):
    return _charged(subscription, buyer, buyer_owner)


def _charged(subscription, buyer, buyer_owner):
    """An issued invoice whose payment Stripe took, with the PaymentIntent Stripe has."""
    _save_card(buyer_owner, buyer, OK_CARD)  # before the invoice: nothing to collect yet
    period_close(now=subscription.trial_ends_at + timedelta(minutes=1))
    invoice = Invoice.objects.get(subscription=subscription, status=Invoice.Status.ISSUED)
    payment, charge = charge_left_pending(invoice)
    # As if the process died before it wrote Stripe's answer: only the webhooks tell.
    return invoice, payment, charge


def _intent_events(charge, payment) -> list[dict]:
    obj = {
        "id": charge.id,
        "object": "payment_intent",
        "metadata": {"precis_payment": str(payment.pk)},
    }
    return [
        _event(
            "evt_created", "payment_intent.created", {**obj, "status": "requires_payment_method"}
        ),
        _event("evt_processing", "payment_intent.processing", {**obj, "status": "processing"}),
        _event("evt_succeeded", "payment_intent.succeeded", {**obj, "status": "succeeded"}),
        _event(
            "evt_failed",
            "payment_intent.payment_failed",
            {**obj, "status": "requires_payment_method"},
        ),
    ]


def test_every_order_of_a_payments_events_ends_in_the_same_state(
    client, charged, webhook_secret, django_capture_on_commit_callbacks
):
    invoice, payment, charge = charged
    events = _intent_events(charge, payment)
    outcomes = set()
    for order in itertools.permutations(events):
        with transaction.atomic():
            for event in order:
                with django_capture_on_commit_callbacks(execute=True):
                    assert _post(client, event).status_code == 200
            payment.refresh_from_db()
            invoice.refresh_from_db()
            paid = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYMENT).count()
            processed = set(StripeEvent.objects.values_list("status", flat=True))
            outcomes.add((payment.status, invoice.status, paid, tuple(sorted(processed))))
            transaction.set_rollback(True)  # the next order starts from the same place

    assert outcomes == {(Payment.Status.SUCCEEDED, Invoice.Status.PAID, 1, ("processed",))}


def test_a_handler_that_raises_leaves_the_event_failed_and_a_replay_applies_it_once(
    client, charged, webhook_secret, monkeypatch, django_capture_on_commit_callbacks
):
    invoice, payment, charge = charged
    succeeded = _intent_events(charge, payment)[2]

    def unreachable(payment_intent_id):
        raise gateway.PaymentError("Stripe could not be reached", code="timeout", retryable=True)

    with monkeypatch.context() as patch:
        patch.setattr(gateway, "payment_intent_retrieve", unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            assert _post(client, succeeded).status_code == 200
    event = StripeEvent.objects.get()
    assert event.status == StripeEvent.Status.FAILED
    assert "Stripe could not be reached" in event.error
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING

    call_command("stripe_replay", stdout=(out := _Lines()))
    call_command("stripe_replay", stdout=(again := _Lines()))

    event.refresh_from_db()
    assert (event.status, event.error) == (StripeEvent.Status.PROCESSED, "")
    assert "evt_succeeded payment_intent.succeeded: processed" in out.text
    assert "0 event(s) processed." in again.text
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, invoice.status) == (Payment.Status.SUCCEEDED, Invoice.Status.PAID)
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYMENT).count() == 1


class _Lines:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


@pytest.mark.usefixtures("migrated_data")
def test_the_same_event_delivered_five_times_at_once_changes_state_once(
    live_server, stripe_server, subscription, buyer, buyer_owner, settings
):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    _invoice, payment, charge = _charged(subscription, buyer, buyer_owner)
    body = json.dumps(_intent_events(charge, payment)[2]).encode()
    url = live_server.url + URL
    start = threading.Barrier(5)
    answers = []

    def deliver():
        start.wait()
        answers.append(
            requests.post(
                url, data=body, headers={"Stripe-Signature": _signature(body)}, timeout=30
            )
        )

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    if connection.vendor == "postgresql":
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:  # SQLite takes one writer at a time: the same five deliveries, one after another
        start = threading.Barrier(1)
        for thread in threads:
            thread.start()
            thread.join(timeout=60)

    assert sorted(answer.status_code for answer in answers) == [200] * 5
    assert sorted(answer.json()["duplicate"] for answer in answers) == [False] + [True] * 4
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYMENT).count() == 1


@pytest.mark.usefixtures("migrated_data")
def test_localstripe_delivers_an_event_into_the_inbox(live_server, stripe_server, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    gateway.webhook_endpoint_register(
        url=live_server.url + reverse("stripe_webhook"), secret=SECRET, endpoint_id="tests"
    )

    customer_id = gateway.customer_create(organization_id=4242, name="Acme", email="a@acme.test")

    # (Events of earlier tests' objects may arrive too: localstripe sends them late.)
    ours = StripeEvent.objects.filter(
        type="customer.created", payload__data__object__id=customer_id
    )
    deadline = time.monotonic() + 20
    while not ours.exists():
        assert time.monotonic() < deadline, "localstripe delivered no customer.created"
        time.sleep(0.05)
    assert ours.get().status == StripeEvent.Status.IGNORED


def test_staff_see_failed_events_with_their_error_and_process_them_again(
    client, db, webhook_secret, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    event = _event("evt_lost", "payment_intent.succeeded", {"id": "pi_unknown", "metadata": {}})
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, event)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())  # staff pages need two factors
    client.force_login(staff)

    listed = client.get("/django-admin/billing/stripeevent/", {"status__exact": "failed"})

    assert listed.status_code == 200
    assert "evt_lost" in listed.text
    assert "No Precis payment for PaymentIntent pi_unknown" in listed.text
    stored = StripeEvent.objects.get(event_id="evt_lost")
    again = client.post(
        "/django-admin/billing/stripeevent/",
        {"action": "process_again", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert "1 event(s) processed again, 1 still failing." in again.text
    stored.refresh_from_db()
    assert stored.attempts == 2


@pytest.mark.worker
@pytest.mark.usefixtures("migrated_data")
def test_a_real_worker_processes_a_stored_event(live_server, worker, eager_off, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    body = json.dumps(_event("evt_worker", "customer.updated", {"id": "cus_9"})).encode()

    answer = requests.post(
        live_server.url + URL, data=body, headers={"Stripe-Signature": _signature(body)}, timeout=30
    )

    assert answer.status_code == 200
    deadline = time.monotonic() + 120
    event = StripeEvent.objects.get(event_id="evt_worker")
    while event.status == StripeEvent.Status.RECEIVED and time.monotonic() < deadline:
        time.sleep(0.2)
        event.refresh_from_db()
    output = "".join(worker)
    assert event.status == StripeEvent.Status.IGNORED, output
    assert "billing.tasks.stripe_event_process" in output
