"""The nightly reconciliation of card payments with Stripe, against the test run's localstripe."""

import logging
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import stripe
from django.core.management import call_command
from django.utils import timezone

from billing import gateway
from billing.models import Invoice, Payment
from billing.services import payments
from billing.services.reconcile import (
    PENDING_GRACE,
    Kind,
    stripe_reconcile,
    stripe_reconcile_report,
)
from tests.billing.test_payments import DECLINED_OFF_SESSION, OK_CARD, _save_card, invoice  # noqa: F401
from tests.factories import UserFactory


def _reconcile(**kwargs):
    return stripe_reconcile(since=timezone.now() - timedelta(days=2), **kwargs)


def _paid(invoice, buyer_owner) -> Payment:  # noqa: F811
    _save_card(buyer_owner, invoice.buyer, OK_CARD)
    payment = payments.invoice_charge(invoice_id=invoice.pk)
    assert payment.status == Payment.Status.SUCCEEDED
    return payment


def _api(stripe_server) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_precis_tests", base_addresses={"api": stripe_server})


def test_a_clean_run_after_a_successful_charge_reports_nothing(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    _paid(invoice, buyer_owner)

    report = _reconcile()

    assert report.differences == ()
    assert (report.payments_checked, report.intents_checked, report.invoices_checked) == (1, 1, 1)


def test_a_declined_charge_agrees_with_its_payment_intent(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    _save_card(buyer_owner, invoice.buyer, DECLINED_OFF_SESSION)
    payment = payments.invoice_charge(invoice_id=invoice.pk)
    # localstripe leaves the PaymentIntent out of the decline: found by its metadata instead.
    assert (payment.status, payment.stripe_payment_intent_id) == (Payment.Status.FAILED, "")

    report = _reconcile()

    assert report.differences == ()
    assert (report.payments_checked, report.intents_checked) == (1, 1)


def test_a_payment_changed_behind_stripes_back_is_reported(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    payment = _paid(invoice, buyer_owner)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)

    (difference,) = _reconcile().differences

    assert difference.kind == Kind.STATUS
    assert (difference.payment_id, difference.invoice_number) == (payment.pk, invoice.number)
    assert difference.stripe_id == payment.stripe_payment_intent_id
    assert (difference.precis_has, difference.stripe_has) == ("failed", "succeeded")


def test_a_payment_intent_naming_a_payment_precis_does_not_have_is_reported(stripe_server, buyer):
    api = _api(stripe_server)
    api.v1.payment_intents.create(
        params={
            "amount": 12_300,  # fen
            "currency": "cny",
            "metadata": {"precis_payment": "987654", "precis_invoice_number": "LE-2099-0001"},
        }
    )
    api.v1.payment_intents.create(
        params={"amount": 700, "currency": "cny", "metadata": {"precis_payment": "x-1"}}
    )
    api.v1.payment_intents.create(params={"amount": 500, "currency": "cny"})  # not Precis's

    report = _reconcile()

    first, second = report.differences
    assert (first.kind, second.kind) == (Kind.UNKNOWN_INTENT, Kind.UNKNOWN_INTENT)
    assert first.stripe_id.startswith("pi_")
    assert first.precis_has == "no payment 987654"
    assert first.stripe_has.endswith("123.00 CNY for payment 987654, invoice LE-2099-0001")
    assert second.precis_has == "no payment x-1"
    assert report.intents_checked == 3


def test_an_amount_that_differs_from_the_charge_is_reported(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    payment = _paid(invoice, buyer_owner)
    Payment.objects.filter(pk=payment.pk).update(amount=Decimal("489.00"))

    (difference,) = _reconcile().differences

    assert difference.kind == Kind.AMOUNT
    assert (difference.precis_has, difference.stripe_has) == ("489.00 CNY", "499.00 CNY")


def test_a_pending_payment_is_a_difference_only_once_it_is_stuck(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    # What a process that died before asking Stripe leaves behind.
    payment = Payment.objects.create(
        invoice=invoice,
        attempt=1,
        idempotency_key=f"invoice:{invoice.pk}:charge:1",
        amount=invoice.total,
        currency=invoice.currency,
    )

    assert _reconcile(now=payment.created_at + timedelta(minutes=2)).differences == ()
    (difference,) = _reconcile(now=payment.created_at + PENDING_GRACE).differences
    assert (difference.kind, difference.payment_id) == (Kind.STUCK, payment.pk)
    assert difference.stripe_has == "nothing"


def test_a_success_on_an_invoice_that_is_not_paid_is_reported(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    _paid(invoice, buyer_owner)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)

    (difference,) = _reconcile().differences

    assert difference.kind == Kind.INVOICE_NOT_PAID
    assert difference.precis_has == "payment succeeded, invoice void"


def test_an_invoice_paid_by_card_without_a_successful_charge_is_reported(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    _paid(invoice, buyer_owner)
    Invoice.objects.filter(pk=invoice.pk).update(payment_reference="pi_nowhere")

    (difference,) = _reconcile().differences

    assert difference.kind == Kind.CHARGE_NOT_SUCCEEDED
    assert (difference.invoice_number, difference.stripe_id) == (invoice.number, "pi_nowhere")
    assert difference.stripe_has == "no such PaymentIntent"


def test_the_command_prints_each_difference_and_a_summary(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
):
    payment = _paid(invoice, buyer_owner)
    out = StringIO()
    call_command("stripe_reconcile", stdout=out)
    (summary,) = out.getvalue().splitlines()  # nothing differs: the summary alone
    assert summary.startswith("0 difference(s) between Precis and Stripe since ")

    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)
    out = StringIO()
    call_command("stripe_reconcile", "--days", "1", stdout=out)

    line, summary = out.getvalue().splitlines()
    assert line == (
        f"status: payment {payment.pk}, invoice {invoice.number} / "
        f"{payment.stripe_payment_intent_id}: Precis has failed; Stripe has succeeded"
    )
    assert summary.startswith("1 difference(s) between Precis and Stripe since ")
    assert summary.endswith("1 payment(s), 1 PaymentIntent(s) and 1 card-paid invoice(s) checked.")


def test_the_nightly_report_emails_active_staff_when_something_differs(
    stripe_server,
    invoice,  # noqa: F811
    buyer_owner,
    mailoutbox,
    caplog,
):
    staff = UserFactory(is_staff=True)
    UserFactory(is_staff=True, is_active=False)
    payment = _paid(invoice, buyer_owner)
    since = timezone.now() - timedelta(days=2)

    stripe_reconcile_report(since=since)
    assert mailoutbox == []  # nothing differs, nobody is bothered

    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)
    with caplog.at_level(logging.WARNING, logger="billing.services.reconcile"):
        report = stripe_reconcile_report(since=since)

    (email,) = mailoutbox
    assert email.to == [staff.email]
    assert email.subject == "Stripe reconciliation: 1 difference(s)"
    assert str(report.differences[0]) in email.body
    assert "1 difference(s) between Precis and Stripe" in caplog.text


def test_listing_payment_intents_reads_every_page_and_only_the_recent_ones(stripe_server):
    api = _api(stripe_server)
    created = [
        api.v1.payment_intents.create(params={"amount": 100 + n, "currency": "cny"}).id
        for n in range(5)
    ]
    now = int(timezone.now().timestamp())

    listed = gateway.payment_intents_list(created_gte=now - 60, page_size=2)

    assert sorted(item.charge.id for item in listed) == sorted(created)
    assert gateway.payment_intents_list(created_gte=now + 3600, page_size=2) == []
