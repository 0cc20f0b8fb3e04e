"""Properties of the period close (Hypothesis): money adds up, order does not matter, and each
line is rounded once.

The database is not emptied between examples: each example runs inside a savepoint that is
rolled back at its end (`_rolled_back`), so every example starts from the same state (a vendor
with five metrics, a buyer with invoice terms, a staff member), numbering included.
"""

import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import rating, selectors
from billing.models import (
    Invoice,
    InvoiceLine,
    LedgerTransaction,
    MeteredCharge,
    Metric,
    Plan,
    PlanVersion,
    PriceTier,
)
from billing.money import round_minor
from billing.services import installations, invoicing, subscriptions, telemetry
from billing.services.closing import period_close
from tests.factories import UserFactory

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
STARTED = datetime(2026, 10, 10, 9, tzinfo=SH)
# The periods of a subscription started then, in the buyer's time zone.
P0 = (datetime(2026, 10, 10, tzinfo=SH), datetime(2026, 11, 10, tzinfo=SH))
P1 = (P0[1], datetime(2026, 12, 10, tzinfo=SH))
MINUTES_IN_P0 = int((P0[1] - P0[0]).total_seconds() // 60)

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextmanager
def _rolled_back():
    """Run an example in a savepoint and undo everything it wrote."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def meters(metrics, listing):
    """The conftest's metrics (inspections summed, a kWh register, defects) and two more: alerts
    counted, and the peak power of the period."""
    return {
        **metrics,
        "alerts": Metric.objects.create(
            listing=listing,
            code="alerts",
            name="Alerts",
            unit="alerts",
            aggregation=Metric.Aggregation.COUNT,
        ),
        "peak": Metric.objects.create(
            listing=listing, code="peak", name="Peak", unit="kW", aggregation="max"
        ),
    }


@pytest.fixture
def payer(buyer, buyer_owner):
    subscriptions.billing_account_accept_invoice_terms(
        actor=buyer_owner, organization=buyer, now=STARTED
    )
    return buyer_owner


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


# --- Strategies ------------------------------------------------------------------------------

# Quantities in thousandths, prices in millionths of the currency: fractions of a fen.
quantities = st.integers(min_value=0, max_value=5_000_000).map(lambda n: D(n).scaleb(-3))
prices = st.integers(min_value=0, max_value=3_000_000).map(lambda n: D(n).scaleb(-6))


@st.composite
def tiered(draw, model: str) -> dict:
    bounds = sorted(
        draw(st.sets(st.integers(min_value=1, max_value=20_000), min_size=0, max_size=3))
    )
    ups = [D(bound).scaleb(-1) for bound in bounds] + [None]
    return {
        "model": model,
        "included_units": draw(st.sampled_from([D(0), D(0), D("10.5"), D(100)])),
        "tiers": [
            (up, draw(prices), draw(st.sampled_from([D(0), D(0), D("1.234567"), D(5)])))
            for up in ups
        ],
    }


charge_specs = st.one_of(
    st.fixed_dictionaries(
        {"model": st.just("per_unit"), "unit_price": prices, "included_units": quantities}
    ),
    tiered("graduated"),
    tiered("volume"),
    st.fixed_dictionaries(
        {
            "model": st.just("package"),
            "package_size": st.integers(min_value=1, max_value=100_000).map(
                lambda n: D(n).scaleb(-3)
            ),
            "package_price": prices,
            "included_units": st.sampled_from([D(0), D(25)]),
        }
    ),
)
USAGE_METRICS = ("inspections", "kwh", "alerts", "peak")
plans = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["CNY", "JPY"]),
        "fee": st.one_of(st.none(), prices.map(lambda p: p * 300)),
        "charges": st.dictionaries(st.sampled_from(USAGE_METRICS), charge_specs, min_size=1),
    }
)
# (metric, value, minute of the first period): a kWh value is the register's reading.
events = st.lists(
    st.tuples(
        st.sampled_from(USAGE_METRICS),
        quantities,
        st.integers(min_value=0, max_value=MINUTES_IN_P0 - 1),
    ),
    min_size=1,
    max_size=30,
)


# --- Helpers ---------------------------------------------------------------------------------


def _plan(listing, meters, spec: dict) -> Plan:
    plan = Plan.objects.create(listing=listing, name="Drawn", is_published=True)
    version = PlanVersion.objects.create(
        plan=plan, number=1, currency=spec["currency"], recurring_amount=spec["fee"]
    )
    for code, charge in spec["charges"].items():
        created = MeteredCharge.objects.create(
            version=version,
            metric=meters[code],
            model=charge["model"],
            unit_price=charge.get("unit_price"),
            package_size=charge.get("package_size"),
            package_price=charge.get("package_price"),
            included_units=charge["included_units"],
        )
        for up_to, price, flat in charge.get("tiers", []):
            PriceTier.objects.create(
                charge=created, up_to=up_to, unit_price=price, flat_amount=flat
            )
    return plan


def _subscribe(plan, buyer, owner):
    sub = subscriptions.subscription_start(actor=owner, buyer=buyer, plan=plan, now=STARTED)
    issued = installations.installation_create(actor=owner, subscription=sub, name="Line 1")
    return sub, selectors.installation_key_for(issued.key)


def _push(key, drawn: list, *, now: datetime) -> None:
    """Send events, given as (index, (metric, value, minute)), in one batch."""
    body = {
        "events": [
            {
                "id": f"e{index}",
                "metric": code,
                "value": format(value, "f"),
                "timestamp": (P0[0] + timedelta(minutes=minute)).isoformat(),
            }
            for index, (code, value, minute) in drawn
        ]
    }
    result = telemetry.usage_ingest_batch(key=key, body=json.dumps(body).encode(), now=now)
    assert not result.rejected, result.rejected


def _batches(draw, items: list) -> list[list]:
    """`items` shuffled and cut into batches of random sizes."""
    shuffled = draw(st.permutations(items))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(len(items) - 1, 1)))))
    edges = [0, *[cut for cut in cuts if cut < len(items)], len(items)]
    return [shuffled[a:b] for a, b in pairwise(edges) if a < b]


def _invoice_of(sub, period) -> Invoice:
    return Invoice.objects.get(subscription=sub, period_start=period[0], period_end=period[1])


def _lines(invoice: Invoice) -> list[tuple]:
    return sorted(
        (line.kind, line.metric.code if line.metric else "", line.quantity, line.amount)
        for line in invoice.lines.select_related("metric")
    )


def _expected_quantity(code: str, drawn: list) -> Decimal:
    """What the period's usage of a metric is, computed here from the events."""
    values = [(minute, f"e{i}", value) for i, (c, value, minute) in drawn if c == code]
    if code == "alerts":
        return D(len(values))
    if code == "peak":
        return max((value for *_key, value in values), default=D(0))
    if code == "kwh":  # increases of the register, in time order; a drop is a restart at zero
        readings = [value for *_key, value in sorted(values)]
        return sum(
            (now - before if now >= before else now for before, now in pairwise(readings)),
            D(0),
        )
    return sum((value for *_key, value in values), D(0))


def _whole_minor(amount: Decimal, currency: str) -> bool:
    return amount == round_minor(amount, currency)


# --- Properties ------------------------------------------------------------------------------


@EXAMPLES
@given(spec=plans, drawn=events)
def test_each_line_is_rounded_once_and_the_total_is_their_exact_sum(
    listing, meters, buyer, payer, spec, drawn
):
    with _rolled_back():
        plan = _plan(listing, meters, spec)
        sub, key = _subscribe(plan, buyer, payer)
        _push(key, list(enumerate(drawn)), now=P0[1] - timedelta(minutes=1))
        period_close(now=P0[1])
        invoice = _invoice_of(sub, P0)
        currency = spec["currency"]
        version = plan.versions.get()
        lines = list(invoice.lines.select_related("metric"))
        assert all(_whole_minor(line.amount, currency) for line in lines)
        # The total is the sum of the rounded lines, exactly: never re-rounded.
        assert invoice.total == sum((line.amount for line in lines), D(0))
        if invoice.total:
            assert invoice.status == Invoice.Status.ISSUED
        expected_fee = [round_minor(spec["fee"], currency)] if spec["fee"] else []
        assert [line.amount for line in lines if line.kind == "recurring"] == expected_fee
        metered = {line.metric.code: line for line in lines if line.kind == "metered"}
        assert metered.keys() == spec["charges"].keys()
        for charge in version.metered_charges.select_related("metric"):
            line = metered[charge.metric.code]
            assert line.quantity == _expected_quantity(charge.metric.code, list(enumerate(drawn)))
            # Rounded once, from the unrounded price of the whole quantity.
            exact = rating.metered_amount(charge, line.quantity)
            assert line.amount == round_minor(exact, currency)


@EXAMPLES
@given(spec=plans, drawn=events, data=st.data())
def test_shuffled_and_batched_events_rate_to_the_same_invoice(
    listing, meters, buyer, payer, spec, drawn, data
):
    indexed = list(enumerate(drawn))

    def close(batches: list[list]) -> tuple:
        with _rolled_back():
            plan = _plan(listing, meters, spec)
            sub, key = _subscribe(plan, buyer, payer)
            for batch in batches:
                _push(key, batch, now=P0[1] - timedelta(minutes=1))
            period_close(now=P0[1])
            invoice = _invoice_of(sub, P0)
            return invoice.number, invoice.total, _lines(invoice)

    at_once = close([indexed])
    assert close([[event] for event in reversed(indexed)]) == at_once  # one by one, newest first
    assert close(_batches(data.draw, indexed)) == at_once


@EXAMPLES
@given(drawn=events, data=st.data())
def test_late_usage_brings_its_period_to_what_all_its_events_rate_at(
    listing, meters, buyer, payer, drawn, data
):
    """Events that arrive after their period was invoiced are billed as adjustments on the next
    invoice: per metric, the period's usage lines and adjustments add up to the amount the
    period's events rate at when they all arrive in time."""
    spec = {
        "currency": "CNY",
        "fee": D("499.00"),
        "charges": {
            "inspections": {
                "model": "graduated",
                "included_units": D(0),
                "tiers": [(D(1000), D("0.0125"), D(0)), (None, D("0.00875"), D(0))],
            },
            "kwh": {"model": "per_unit", "unit_price": D("0.0815"), "included_units": D(0)},
            "alerts": {
                "model": "package",
                "package_size": D(3),
                "package_price": D("9.90"),
                "included_units": D(0),
            },
            "peak": {
                "model": "volume",
                "included_units": D(0),
                "tiers": [(D(500), D("0.333333"), D(0)), (None, D("0.25"), D("7.5"))],
            },
        },
    }
    indexed = list(enumerate(drawn))
    late = data.draw(st.sets(st.sampled_from([i for i, _event in indexed])))
    arrives = P0[1] + timedelta(minutes=data.draw(st.integers(min_value=1, max_value=3 * 24 * 60)))

    def rated(on_time: list, after: list) -> dict[str, Decimal]:
        """Per metric, what the first period's usage was billed, adjustments included."""
        with _rolled_back():
            sub, key = _subscribe(_plan(listing, meters, spec), buyer, payer)
            if on_time:
                _push(key, on_time, now=P0[1] - timedelta(minutes=1))
            period_close(now=P0[1])
            if after:
                _push(key, after, now=arrives)
            period_close(now=P1[1])
            billed: dict[str, Decimal] = {}
            for line in InvoiceLine.objects.filter(
                invoice__subscription=sub,
                period_start=P0[0],
                kind__in=[InvoiceLine.Kind.METERED, InvoiceLine.Kind.ADJUSTMENT],
            ).select_related("metric"):
                billed[line.metric.code] = billed.get(line.metric.code, D(0)) + line.amount
            return billed

    in_time = rated(indexed, [])
    assert rated(
        [e for e in indexed if e[0] not in late], [e for e in indexed if e[0] in late]
    ) == (in_time)


def test_usage_from_early_in_a_period_that_arrives_late_is_adjusted_at_the_next_close(
    listing, meters, buyer, payer
):
    """The first day of a period is more than 36 days before the next close: its late usage is
    still billed (the property above found it was not: the close looked only 36 days back)."""
    spec = {
        "currency": "CNY",
        "fee": None,
        "charges": {
            "inspections": {"model": "per_unit", "unit_price": D("0.02"), "included_units": 0}
        },
    }
    sub, key = _subscribe(_plan(listing, meters, spec), buyer, payer)
    _push(key, [(0, ("inspections", D(100), 60))], now=P0[1] - timedelta(minutes=1))
    period_close(now=P0[1])
    # 400 more inspections of 10 October arrive on 12 November, after October was invoiced.
    _push(key, [(1, ("inspections", D(400), 60))], now=P0[1] + timedelta(days=2))
    period_close(now=P1[1])
    november = _invoice_of(sub, P1)
    (adjustment,) = november.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert (adjustment.quantity, adjustment.amount) == (D(500), D("8.00"))  # 500 x 0.02 - 2.00
    assert adjustment.adjusts == _invoice_of(sub, P0)


# A scenario step: usage now, a close at the end of the current period, a payment, a credit
# note or a void of an invoice picked by index.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("usage"), quantities, st.integers(min_value=0, max_value=28 * 24 * 60)),
        st.tuples(st.just("close")),
        st.tuples(st.just("pay"), st.integers(min_value=0, max_value=20)),
        st.tuples(
            st.just("credit"),
            st.integers(min_value=0, max_value=20),
            st.integers(min_value=1, max_value=100),
        ),
        st.tuples(st.just("void"), st.integers(min_value=0, max_value=20)),
    ),
    min_size=1,
    max_size=14,
)


@EXAMPLES
@given(fee=prices.map(lambda p: p * 300), unit_price=prices, plan_steps=steps)
def test_totals_are_the_sum_of_lines_and_every_ledger_transaction_balances(
    listing, meters, buyer, payer, staff, fee, unit_price, plan_steps
):
    spec = {
        "currency": "CNY",
        "fee": fee,
        "charges": {
            "inspections": {"model": "per_unit", "unit_price": unit_price, "included_units": 0},
            "kwh": {
                "model": "graduated",
                "included_units": D(0),
                "tiers": [(D("100.5"), unit_price, D("0.005")), (None, unit_price / 3, D(0))],
            },
        },
    }
    with _rolled_back():
        sub, key = _subscribe(_plan(listing, meters, spec), buyer, payer)
        clock, sent, paid, held = STARTED, 0, D(0), D(0)
        for step in [*plan_steps, ("close",)]:
            sub.refresh_from_db()
            invoices = list(
                Invoice.objects.filter(subscription=sub).exclude(status="draft").order_by("pk")
            )
            if step[0] == "usage":
                when = sub.current_period_start + timedelta(minutes=step[2])
                clock = max(clock, when)
                body = {
                    "events": [
                        {
                            "id": f"u{sent}",
                            "metric": "inspections" if sent % 2 else "kwh",
                            "value": format(step[1], "f"),
                            "timestamp": when.isoformat(),
                        }
                    ]
                }
                sent += 1
                result = telemetry.usage_ingest_batch(
                    key=key, body=json.dumps(body).encode(), now=clock
                )
                assert not result.rejected, result.rejected
            elif step[0] == "close":
                clock = max(clock, sub.current_period_end)
                period_close(now=clock)
            elif invoices:
                invoice = invoices[step[1] % len(invoices)]
                if step[0] == "pay" and invoice.status == Invoice.Status.ISSUED:
                    paid += invoicing.amount_due(invoice)
                    invoicing.invoice_mark_paid(
                        actor=staff, invoice=invoice, reference="Bank", now=clock
                    )
                elif step[0] == "credit" and invoice.status in ("issued", "paid"):
                    left = invoice.total - invoicing.credited(invoice)
                    amount = round_minor(left * step[2] / 100, invoice.currency)
                    if amount > 0:
                        # On a paid invoice the credit is the buyer's to use: it holds it.
                        held += amount if invoice.status == Invoice.Status.PAID else 0
                        invoicing.credit_note_create(
                            actor=staff, invoice=invoice, amount=amount, reason="Outage", now=clock
                        )
                elif step[0] == "void" and invoice.status == Invoice.Status.ISSUED:
                    invoicing.invoice_close(
                        actor=staff, invoice=invoice, status="void", reason="Error", now=clock
                    )

            for invoice in Invoice.objects.filter(subscription=sub).exclude(status="draft"):
                amounts = [line.amount for line in invoice.lines.all()]
                assert all(_whole_minor(amount, "CNY") for amount in amounts)
                assert invoice.total == sum(amounts, D(0))
            for record in LedgerTransaction.objects.prefetch_related("entries"):
                entries = [entry.amount for entry in record.entries.all()]
                assert all(_whole_minor(amount, record.currency) for amount in entries)
                assert sum(entries, D(0)) == 0, record.idempotency_key
        # The buyer's receivable is what it still owes on issued invoices, less the credits it
        # holds from credit notes on paid ones; cash is what it paid.
        owed = sum(
            (
                invoicing.amount_due(invoice)
                for invoice in Invoice.objects.filter(subscription=sub, status="issued")
            ),
            D(0),
        )
        receivable = selectors.ledger_balance("receivable", organization=buyer, currency="CNY")
        assert receivable == owed - held
        assert selectors.ledger_balance("cash", currency="CNY") == paid
