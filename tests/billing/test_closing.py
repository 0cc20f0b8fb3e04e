"""Period close, worked by hand: every expected amount below is computed in the comments."""

import json
from datetime import datetime
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from billing import selectors
from billing.models import (
    Invoice,
    InvoiceLine,
    LedgerTransaction,
    MeteredCharge,
    Metric,
    OutcomeCharge,
    OutcomeLine,
    OutcomeStatement,
    Plan,
    PlanVersion,
    PriceTier,
    Subscription,
)
from billing.services import installations, invoicing, outcomes, subscriptions, telemetry
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from tests.factories import MembershipFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
D = Decimal


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def lines_of(invoice: Invoice) -> list[tuple[str, str, Decimal]]:
    return [(line.kind, line.description, line.amount) for line in invoice.lines.all()]


@pytest.fixture
def vendor_billing(listing):
    return MembershipFactory(organization=listing.vendor, role=Role.BILLING).user


@pytest.fixture
def pro(listing, metrics):
    """499.00 a month; inspections graduated: the first 1,000 free, up to 5,000 at 0.02, then
    0.01; 2.00 per defect caught, verified within 7 days."""
    plan = Plan.objects.create(listing=listing, name="Pro", is_published=True)
    version = PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("499.00"))
    charge = MeteredCharge.objects.create(
        version=version, metric=metrics["inspections"], model=MeteredCharge.Model.GRADUATED
    )
    PriceTier.objects.create(charge=charge, up_to=D(1000), unit_price=D(0))
    PriceTier.objects.create(charge=charge, up_to=D(5000), unit_price=D("0.02"))
    PriceTier.objects.create(charge=charge, up_to=None, unit_price=D("0.01"))
    OutcomeCharge.objects.create(version=version, metric=metrics["defects"], unit_price=D("2.00"))
    return plan


@pytest.fixture
def basic(listing, metrics):
    """300.00 a month, nothing else."""
    plan = Plan.objects.create(listing=listing, name="Basic", is_published=True, position=1)
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("300.00"))
    return plan


def start(plan, buyer, owner, when: datetime) -> Subscription:
    subscriptions.billing_account_accept_invoice_terms(actor=owner, organization=buyer)
    return subscriptions.subscription_start(actor=owner, buyer=buyer, plan=plan, now=when)


def ingest(subscription, owner, events, *, now: datetime):
    if not subscription.installations.exists():
        issued = installations.installation_create(
            actor=owner, subscription=subscription, name="Plant 1"
        )
        subscription._raw_key = issued.key
    key = selectors.installation_key_for(subscription._raw_key)
    body = json.dumps(
        {
            "events": [
                {"id": ident, "metric": metric, "value": value, "timestamp": when.isoformat()}
                for ident, metric, value, when in events
            ]
        }
    ).encode()
    result = telemetry.usage_ingest_batch(key=key, body=body, now=now)
    assert not result.rejected, result.rejected
    return result


def test_a_month_closes_with_a_graduated_boundary_and_late_usage_becomes_an_adjustment(
    listing, pro, buyer, buyer_owner
):
    sub = start(pro, buyer, buyer_owner, at(10, 10, 9))
    assert (sub.current_period_start, sub.current_period_end) == (at(10, 10), at(11, 10))

    # Opening: the first month's fee, in advance.
    period_close(now=at(10, 10, 10))
    opening = Invoice.objects.get(subscription=sub)
    assert opening.status == Invoice.Status.ISSUED
    assert opening.number == f"{listing.vendor.slug.upper()[:16]}-000001"
    assert [(k, a) for k, _d, a in lines_of(opening)] == [("recurring", D("499.00"))]
    assert opening.total == D("499.00")
    assert opening.due_at == at(10, 11)  # payment terms of 0 days: by the end of the issue day

    # 5,000 inspections: 1,000 free + 4,000 x 0.02 = 80.00, exactly at the tier boundary.
    ingest(
        sub,
        buyer_owner,
        [(f"i{n}", "inspections", "1000", at(11, 1, n)) for n in range(5)]
        + [("d1", "defects", "45", at(11, 2))],
        now=at(11, 2, 12),
    )
    period_close(now=at(11, 10))
    october = Invoice.objects.get(subscription=sub, period_end=at(11, 10))
    # Defects are an outcome: the invoice waits for the buyer to verify them.
    assert october.status == Invoice.Status.DRAFT
    assert october.number == ""
    statement = october.statement
    (claim,) = statement.lines.all()
    assert (claim.measured, claim.claimed_amount) == (D(45), D("90.00"))  # 45 x 2.00
    assert statement.window_ends_at == at(11, 17)

    # A late inspection for October arrives after the close.
    ingest(sub, buyer_owner, [("late-1", "inspections", "1", at(11, 9, 23))], now=at(11, 10, 8))

    # Nobody disputes within 7 days: the claim settles and the invoice is issued.
    period_close(now=at(11, 17))
    october.refresh_from_db()
    claim.refresh_from_db()
    assert claim.resolution == OutcomeLine.Resolution.UNDISPUTED
    assert october.status == Invoice.Status.ISSUED
    assert october.number.endswith("-000002")
    assert sorted((k, a) for k, _d, a in lines_of(october)) == [
        ("metered", D("80.00")),
        ("outcome", D("90.00")),
        ("recurring", D("499.00")),  # November's fee, in advance
    ]
    assert october.total == D("669.00")  # 499.00 + 80.00 + 90.00
    assert october.platform_fee == D("66.90")  # 10%
    assert selectors.ledger_balance("receivable", organization=buyer, currency="CNY") == D(
        "1168.00"
    )  # 499.00 + 669.00
    vendor_owed = partial(selectors.ledger_balance, organization=listing.vendor, currency="CNY")
    assert vendor_owed("payable_on_collection") == D("-1051.20")  # 90% of 1168.00, unpaid
    assert vendor_owed("payable") == D("0.00")  # owed to the vendor once the buyer pays

    # December's close re-rates October: 5,001 inspections cost 80.01, so 0.01 is owed.
    period_close(now=at(12, 10))
    november = Invoice.objects.get(subscription=sub, period_end=at(12, 10))
    adjustment = november.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert adjustment.amount == D("0.01")
    assert adjustment.adjusts == october
    assert adjustment.quantity == D(5001)

    # Running the close again, for the same instant, changes nothing.
    counts = (
        Invoice.objects.count(),
        InvoiceLine.objects.count(),
        LedgerTransaction.objects.count(),
    )
    period_close(now=at(12, 10))
    call_command("close_period", "--as-of", at(12, 10).isoformat())
    again = (
        Invoice.objects.count(),
        InvoiceLine.objects.count(),
        LedgerTransaction.objects.count(),
    )
    assert again == counts
    # And the adjustment is made once: the next close finds nothing more to adjust.
    period_close(now=at(12, 10) + (at(12, 10) - at(11, 10)))
    assert not InvoiceLine.objects.filter(kind="adjustment").exclude(pk=adjustment.pk).exists()


def test_a_mid_period_upgrade_is_prorated_on_the_next_invoice(
    listing, basic, pro, buyer, buyer_owner
):
    sub = start(basic, buyer, buyer_owner, at(11, 10, 9))
    period_close(now=at(11, 10, 10))
    # The period 10 Nov - 10 Dec has 30 days; upgrading at midnight on 25 Nov leaves 15.
    subscriptions.subscription_change_plan(
        actor=buyer_owner, subscription=sub, plan=pro, now=at(11, 25)
    )
    period_close(now=at(12, 10))
    invoice = Invoice.objects.get(subscription=sub, period_end=at(12, 10))
    amounts = {kind: amount for kind, _d, amount in lines_of(invoice)}
    assert amounts["proration"] == D("99.50")  # (499.00 - 300.00) x 15/30
    assert amounts["recurring"] == D("499.00")  # December on the new plan
    assert invoice.plan_version.plan == pro


def test_a_disputed_outcome_settles_at_the_answered_value(
    listing, pro, buyer, buyer_owner, vendor_billing
):
    sub = start(pro, buyer, buyer_owner, at(10, 10, 9))
    ingest(sub, buyer_owner, [("d1", "defects", "45", at(11, 2))], now=at(11, 2, 12))
    period_close(now=at(11, 10))
    line = OutcomeLine.objects.get()
    outcomes.outcome_line_dispute(
        actor=buyer_owner, line=line, reason="5 were false alarms", now=at(11, 11)
    )
    with pytest.raises(ServiceError):  # the buyer cannot answer for the vendor
        outcomes.outcome_line_answer(actor=buyer_owner, line=line, note="x", now=at(11, 12))
    outcomes.outcome_line_answer(
        actor=vendor_billing,
        line=line,
        quantity=D(40),
        note="Agreed: 5 re-checked as good",
        now=at(11, 13),
    )
    # The window ends with the dispute answered but not accepted: nothing settles yet.
    period_close(now=at(11, 18))
    assert Invoice.objects.get(period_end=at(11, 10)).status == Invoice.Status.DRAFT
    outcomes.outcome_line_accept(actor=buyer_owner, line=line, now=at(11, 19))
    line.refresh_from_db()
    assert (line.settled_quantity, line.settled_amount) == (D(40), D("80.00"))  # 40 x 2.00
    assert line.resolution == OutcomeLine.Resolution.AGREED
    invoice = Invoice.objects.get(period_end=at(11, 10))
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.lines.get(kind="outcome").amount == D("80.00")
    assert invoice.statement.status == OutcomeStatement.Status.SETTLED
    assert [e.action for e in line.events.all()] == ["disputed", "answered", "answer_accepted"]


@pytest.fixture
def energy(listing, buyer):
    """20% of the kWh saved against the agreed baseline, at 0.80 a kWh, between 50 and 500."""
    used = Metric.objects.create(
        listing=listing, code="kwh_used", name="Energy used", unit="kWh", kind="outcome"
    )
    plan = Plan.objects.create(listing=listing, name="Shared savings", is_published=True)
    version = PlanVersion.objects.create(plan=plan, number=1)
    OutcomeCharge.objects.create(
        version=version,
        metric=used,
        method=OutcomeCharge.Method.SAVINGS_SHARE,
        share_percent=D(20),
        tariff=D("0.80"),
        floor=D("50.00"),
        cap=D("500.00"),
        verification_window_days=5,
    )
    return plan, used


def agreed_baseline(sub, metric, value, vendor_user, buyer_user, *, proposed, effective):
    baseline = outcomes.baseline_propose(
        actor=vendor_user,
        subscription=sub,
        metric=metric,
        value=D(value),
        effective_from=effective,
        now=proposed,
    )
    return outcomes.baseline_agree(actor=buyer_user, baseline=baseline, now=proposed)


@pytest.mark.parametrize(
    ("used", "claimed"),
    [
        ("6000", D("500.00")),  # (10,000 - 6,000) x 0.80 x 20% = 640.00, capped at 500.00
        ("9800", D("50.00")),  # (10,000 - 9,800) x 0.80 x 20% = 32.00, raised to the 50.00 floor
        ("8000", D("320.00")),  # (10,000 - 8,000) x 0.80 x 20% = 320.00
    ],
)
def test_a_savings_share_is_held_between_floor_and_cap(
    energy, buyer, buyer_owner, vendor_billing, used, claimed
):
    plan, metric = energy
    sub = start(plan, buyer, buyer_owner, at(10, 10, 9))
    agreed_baseline(
        sub,
        metric,
        "10000",
        vendor_billing,
        buyer_owner,
        proposed=at(10, 10, 10),
        effective=at(11, 10),
    )
    period_close(now=at(11, 10))  # October: no baseline was agreed before it began
    october = OutcomeStatement.objects.filter(subscription=sub).first()
    assert october is None
    ingest(sub, buyer_owner, [("k1", "kwh_used", used, at(11, 20))], now=at(11, 21))
    period_close(now=at(12, 10))
    (line,) = OutcomeLine.objects.filter(statement__subscription=sub)
    assert (line.baseline_value, line.claimed_amount) == (D(10000), claimed)


def test_a_baseline_agreed_after_its_period_began_is_refused(
    energy, buyer, buyer_owner, vendor_billing
):
    plan, metric = energy
    sub = start(plan, buyer, buyer_owner, at(10, 10, 9))
    baseline = outcomes.baseline_propose(
        actor=vendor_billing,
        subscription=sub,
        metric=metric,
        value=D(10000),
        effective_from=at(11, 10),
        now=at(10, 20),
    )
    with pytest.raises(ServiceError, match="started"):
        outcomes.baseline_agree(actor=buyer_owner, baseline=baseline, now=at(11, 11))
    with pytest.raises(ServiceError):  # the side that proposed cannot agree with itself
        outcomes.baseline_agree(actor=vendor_billing, baseline=baseline, now=at(10, 21))


def test_staff_mark_paid_void_and_credit(listing, basic, buyer, buyer_owner):
    staff = UserFactory(is_staff=True)
    sub = start(basic, buyer, buyer_owner, at(11, 10, 9))
    period_close(now=at(11, 10, 10))
    invoice = Invoice.objects.get(subscription=sub)
    with pytest.raises(ServiceError):
        invoicing.invoice_mark_paid(actor=buyer_owner, invoice=invoice, reference="x")
    note = invoicing.credit_note_create(
        actor=staff, invoice=invoice, amount=D("100.00"), reason="Outage on 12 Nov"
    )
    assert note.number.endswith("-CN-000001")
    invoicing.invoice_mark_paid(actor=staff, invoice=invoice, reference="ICBC 7781")
    invoicing.invoice_mark_paid(actor=staff, invoice=invoice, reference="ICBC 7781")
    assert selectors.ledger_balance("receivable", organization=buyer, currency="CNY") == 0
    assert selectors.ledger_balance("cash", currency="CNY") == D("200.00")  # 300 - 100 credited
    assert selectors.ledger_balance("platform_fees", currency="CNY") == D("-20.00")
    with pytest.raises(ServiceError):
        invoicing.invoice_close(actor=staff, invoice=invoice, status="void", reason="late")


@pytest.fixture
def metered(listing, metrics):
    """100.00 a month and 0.05 per inspection."""
    plan = Plan.objects.create(listing=listing, name="Metered", is_published=True, position=2)
    version = PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("100.00"))
    MeteredCharge.objects.create(
        version=version, metric=metrics["inspections"], unit_price=D("0.05")
    )
    return plan


def test_an_issued_invoice_is_recorded_as_its_issue_movement_says(metered, buyer, buyer_owner):
    """On PostgreSQL the close writes issues in SQL from the invoice rows: the same
    transactions and entries as the movement ledger_record_many records on SQLite."""
    sub = start(metered, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    ingest(sub, buyer_owner, [("a", "inspections", "301", at(10, 20))], now=at(10, 20, 1))
    period_close(now=at(11, 10))

    invoices = list(
        Invoice.objects.filter(subscription=sub).select_related("buyer", "issuer").order_by("pk")
    )
    assert [i.total for i in invoices] == [D("100.00"), D("115.05")]  # 301 x 0.05 = 15.05
    for invoice in invoices:
        movement = invoicing._issue_movement(invoice)
        record = LedgerTransaction.objects.get(idempotency_key=movement.idempotency_key)
        assert (record.kind, record.description, record.currency, record.actor_id) == (
            movement.kind,
            movement.description,
            movement.currency,
            None,
        )
        entries = list(
            record.entries.order_by("pk").values_list("account", "organization", "amount")
        )
        assert entries == [
            (line.account, line.organization.pk if line.organization else None, line.amount)
            for line in movement.lines
        ]
    # Issuing again records nothing new, and checks that what is recorded says the same.
    invoicing.invoices_record_issue(invoices=invoices)
    assert LedgerTransaction.objects.filter(kind="invoice_issued").count() == 2


@pytest.mark.parametrize("closed_while_paused", [True, False])
def test_usage_before_a_pause_is_invoiced_whether_or_not_a_close_ran_during_it(
    metered, buyer, buyer_owner, closed_while_paused
):
    sub = start(metered, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))  # the first month's fee
    # 300 inspections before the pause: 300 x 0.05 = 15.00.
    ingest(sub, buyer_owner, [("a", "inspections", "300", at(10, 20))], now=at(10, 20, 1))
    sub = subscriptions.subscription_pause(actor=buyer_owner, subscription=sub, now=at(10, 25))
    if closed_while_paused:
        period_close(now=at(11, 10))  # its period ends while paused
    sub = subscriptions.subscription_resume(actor=buyer_owner, subscription=sub, now=at(11, 15, 8))
    period_close(now=at(11, 15, 9))

    paused = Invoice.objects.get(subscription=sub, period_end=at(10, 25))
    assert (paused.period_start, paused.status) == (at(10, 10), Invoice.Status.ISSUED)
    assert [(k, a) for k, _d, a in lines_of(paused)] == [("metered", D("15.00"))]  # no fee
    # Resumed: a new month from 15 November, its fee in advance; nothing for the paused days.
    resumed = Invoice.objects.get(subscription=sub, period_end=at(11, 15))
    assert [(k, a) for k, _d, a in lines_of(resumed)] == [("recurring", D("100.00"))]
    assert Invoice.objects.filter(subscription=sub).count() == 3
    period_close(now=at(11, 15, 9))  # again: nothing more
    assert Invoice.objects.filter(subscription=sub).count() == 3


@pytest.mark.parametrize("closed_while_paused", [True, False])
def test_resumed_within_its_paid_period_the_subscription_goes_on_without_a_new_fee(
    metered, buyer, buyer_owner, closed_while_paused
):
    sub = start(metered, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))  # the month to 10 November, paid in advance
    ingest(sub, buyer_owner, [("a", "inspections", "300", at(10, 20))], now=at(10, 20, 1))
    pushing = sub  # holds the installation key for `ingest`
    sub = subscriptions.subscription_pause(actor=buyer_owner, subscription=sub, now=at(10, 22))
    if closed_while_paused:
        period_close(now=at(10, 23))
    sub = subscriptions.subscription_resume(actor=buyer_owner, subscription=sub, now=at(10, 25))
    assert (sub.status, sub.current_period_start) == (Subscription.Status.ACTIVE, at(10, 10))
    period_close(now=at(10, 25, 1))  # nothing is owed at the resume
    ingest(pushing, buyer_owner, [("b", "inspections", "100", at(10, 28))], now=at(10, 28, 1))
    period_close(now=at(11, 10))

    invoices = list(Invoice.objects.filter(subscription=sub).order_by("period_end"))
    fees = [a for i in invoices for k, _d, a in lines_of(i) if k == "recurring"]
    assert fees == [D("100.00"), D("100.00")]  # the first month and the next, once each
    usage = [
        (i.period_start, i.period_end, a)
        for i in invoices
        for k, _d, a in lines_of(i)
        if k == "metered"
    ]
    if closed_while_paused:  # 300 x 0.05 up to the pause, then 100 x 0.05
        assert usage == [(at(10, 10), at(10, 22), D("15.00")), (at(10, 22), at(11, 10), D("5.00"))]
    else:  # the month whole: 400 x 0.05
        assert usage == [(at(10, 10), at(11, 10), D("20.00"))]


@pytest.mark.parametrize("closed_while_paused", [True, False])
def test_a_period_a_pause_splits_counts_its_included_units_and_tiers_once(
    listing, metrics, buyer, buyer_owner, closed_while_paused
):
    """100 included inspections a month, then graduated: 0.10 each up to 200 billable, 0.05
    beyond. 300 inspections before the pause and 100 after: the month is 400, so 300 billable,
    200 x 0.10 + 100 x 0.05 = 25.00, in one invoice or two."""
    plan = Plan.objects.create(listing=listing, name="Tiered", is_published=True, position=3)
    version = PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("100.00"))
    charge = MeteredCharge.objects.create(
        version=version,
        metric=metrics["inspections"],
        model=MeteredCharge.Model.GRADUATED,
        included_units=D(100),
    )
    PriceTier.objects.create(charge=charge, up_to=D(200), unit_price=D("0.10"))
    PriceTier.objects.create(charge=charge, up_to=None, unit_price=D("0.05"))
    sub = start(plan, buyer, buyer_owner, at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    ingest(sub, buyer_owner, [("a", "inspections", "300", at(10, 20))], now=at(10, 20, 1))
    pushing = sub
    sub = subscriptions.subscription_pause(actor=buyer_owner, subscription=sub, now=at(10, 22))
    if closed_while_paused:
        period_close(now=at(10, 23))
    subscriptions.subscription_resume(actor=buyer_owner, subscription=sub, now=at(10, 25))
    ingest(pushing, buyer_owner, [("b", "inspections", "100", at(10, 28))], now=at(10, 28, 1))
    period_close(now=at(11, 10))

    metered = [
        (line.invoice.period_start, line.invoice.period_end, line.quantity, line.amount)
        for line in InvoiceLine.objects.filter(
            invoice__subscription=sub, kind=InvoiceLine.Kind.METERED
        ).order_by("invoice__period_end")
    ]
    if closed_while_paused:
        # Up to the pause: 200 billable x 0.10 = 20.00 (rated as the month stood then). Then
        # the month whole, 25.00, less that: the 100 after it are not covered again by the
        # included units.
        assert metered == [
            (at(10, 10), at(10, 22), D(300), D("20.00")),
            (at(10, 22), at(11, 10), D(100), D("5.00")),
        ]
    else:
        assert metered == [(at(10, 10), at(11, 10), D(400), D("25.00"))]
