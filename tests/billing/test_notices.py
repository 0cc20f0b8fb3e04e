# ruff: noqa: F811 - the fixtures imported from test_closing are parameters below
"""Buyers are emailed once about each invoice issued and each outcome statement to verify, by a
beat task that runs apart from the period close."""

from datetime import datetime, time, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from billing import tasks
from billing.models import Invoice, OutcomeLine, OutcomeStatement
from billing.services import outcomes
from billing.services.closing import period_close
from tests.billing.test_closing import (  # noqa: F401 (fixtures)
    at,
    basic,
    ingest,
    pro,
    start,
    vendor_billing,
)


def _send(capture):
    with capture(execute=True):
        tasks.billing_notices_send()


SH = ZoneInfo("Asia/Shanghai")


def _not_yet_due():
    """The worked periods are in October 2026 and the task runs now: due in five days, that is
    before the local midnight that ends the fifth day, as due dates are stored."""
    last_day = timezone.localdate(timezone=SH) + timedelta(days=5)
    Invoice.objects.update(due_at=datetime.combine(last_day + timedelta(days=1), time(0), SH))
    return last_day


def test_an_issued_invoice_is_announced_once(
    listing,
    basic,
    buyer,
    buyer_owner,
    django_capture_on_commit_callbacks,
):
    sub = start(basic, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    invoice = Invoice.objects.get(subscription=sub)
    last_day = _not_yet_due()

    _send(django_capture_on_commit_callbacks)

    (email,) = mail.outbox
    assert email.to == [buyer_owner.email]
    assert email.subject == f"Invoice {invoice.number} from {listing.vendor.name}: 300.00 CNY"
    assert f"300.00 CNY, to pay by {date_format(last_day, 'DATE_FORMAT')}." in email.body
    assert "bank transfer" in email.body
    assert reverse("billing:invoice_detail", args=[invoice.pk]) in email.body
    _send(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1  # once


def test_a_statement_to_verify_is_announced_with_its_deadline(
    listing,
    pro,
    buyer,
    buyer_owner,
    django_capture_on_commit_callbacks,
):
    sub = start(pro, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    ingest(sub, buyer_owner, [("d1", "defects", "45", at(11, 2))], now=at(11, 2, 12))
    period_close(now=at(11, 10))
    statement = OutcomeStatement.objects.get(subscription=sub)
    _not_yet_due()

    _send(django_capture_on_commit_callbacks)

    subjects = sorted(email.subject for email in mail.outbox)
    assert f"Outcomes to verify for {listing.name}" in subjects
    (email,) = [e for e in mail.outbox if e.subject.startswith("Outcomes")]
    assert "by Nov. 17, 2026" in email.body
    assert reverse("billing:statement_detail", args=[statement.pk]) in email.body
    # The opening invoice was announced too; the draft waiting for the statement is not yet.
    assert len(mail.outbox) == 2
    assert not Invoice.objects.filter(status=Invoice.Status.DRAFT, notified_at__isnull=False)


@pytest.mark.django_db
def test_nothing_new_sends_nothing(django_capture_on_commit_callbacks):
    _send(django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_a_dispute_is_emailed_to_the_vendor_and_its_answer_to_the_buyer(
    listing, pro, buyer, buyer_owner, vendor_billing, django_capture_on_commit_callbacks
):
    sub = start(pro, buyer, buyer_owner, at(10, 10, 9))
    ingest(sub, buyer_owner, [("d1", "defects", "45", at(11, 2))], now=at(11, 2, 12))
    period_close(now=at(11, 10))
    line = OutcomeLine.objects.get()
    page = reverse("billing:statement_detail", args=[line.statement_id])

    with django_capture_on_commit_callbacks(execute=True):
        outcomes.outcome_line_dispute(
            actor=buyer_owner, line=line, reason="5 were false alarms", now=at(11, 11)
        )
    (to_vendor,) = mail.outbox
    assert to_vendor.to == [vendor_billing.email]
    assert to_vendor.subject == f"{buyer.name} disputes Defects caught for {listing.name}"
    assert "figure (45)" in to_vendor.body
    assert "5 were false alarms" in to_vendor.body
    assert page in to_vendor.body

    with django_capture_on_commit_callbacks(execute=True):
        outcomes.outcome_line_answer(
            actor=vendor_billing, line=line, quantity=D(40), note="5 re-checked", now=at(11, 12)
        )
    to_buyer = mail.outbox[-1]
    assert to_buyer.to == [buyer_owner.email]
    assert to_buyer.subject == f"{listing.vendor.name} answered your dispute of Defects caught"
    assert "with the figure 40." in to_buyer.body
    assert "5 re-checked" in to_buyer.body


def test_an_overdue_invoice_paid_by_transfer_is_reminded_once(
    listing, basic, buyer, buyer_owner, django_capture_on_commit_callbacks
):
    sub = start(basic, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    invoice = Invoice.objects.get(subscription=sub)
    _not_yet_due()
    _send(django_capture_on_commit_callbacks)  # the invoice is announced; not yet due
    assert len(mail.outbox) == 1

    Invoice.objects.filter(pk=invoice.pk).update(due_at=timezone.now() - timedelta(days=2))
    _send(django_capture_on_commit_callbacks)
    _send(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2  # reminded once
    reminder = mail.outbox[-1]
    assert reminder.subject == f"Invoice {invoice.number} is overdue"
    assert "300.00 CNY is still owed" in reminder.body
    assert reverse("billing:invoice_detail", args=[invoice.pk]) in reminder.body


def test_an_overdue_invoice_with_a_card_attempt_is_left_to_dunning(
    listing, basic, buyer, buyer_owner, django_capture_on_commit_callbacks
):
    from billing.models import Payment

    sub = start(basic, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    invoice = Invoice.objects.get(subscription=sub)
    Payment.objects.create(
        invoice=invoice,
        attempt=1,
        idempotency_key="k",
        amount=invoice.total,
        currency=invoice.currency,
        status=Payment.Status.FAILED,
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        due_at=timezone.now() - timedelta(days=2), notified_at=timezone.now()
    )
    _send(django_capture_on_commit_callbacks)
    assert mail.outbox == []  # dunning's own emails tell the buyer


def test_an_organization_gets_its_emails_in_its_own_language(
    listing, basic, buyer, buyer_owner, django_capture_on_commit_callbacks
):
    buyer.language = "zh-hans"
    buyer.save(update_fields=["language"])
    sub = start(basic, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    invoice = Invoice.objects.get(subscription=sub)
    _not_yet_due()

    _send(django_capture_on_commit_callbacks)

    (email,) = mail.outbox
    assert email.subject == f"来自 {listing.vendor.name} 的发票 {invoice.number}：300.00 CNY"
    assert "请通过银行转账付款" in email.body
    assert f"/zh-hans/billing/invoices/{invoice.pk}/" in email.body
