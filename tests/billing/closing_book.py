"""A small book of subscriptions to close, built through the services, the same every time.

`book_build(prefix)` makes three vendors (five plans: monthly fees, graduated, per-unit,
volume and package charges with fractional prices, a trial, an outcome charge) and 18 buyers in
four time zones who subscribed in October 2026 (every sixth cancels at the end of its first
period, or at once during a trial), with two months of telemetry. Closing at CLOSE_AT ends the
trials and invoices the opening fees, the ended periods (up to two a subscription) and the
outcome statements whose verification window ended; the others wait as drafts. Names carry the
prefix, so two copies live side by side in one database, and `book_snapshot` compares them
without database ids.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Count

from billing import selectors
from billing.models import (
    Invoice,
    LedgerTransaction,
    MeteredCharge,
    Metric,
    OutcomeCharge,
    OutcomeStatement,
    Plan,
    PlanVersion,
    PriceTier,
)
from billing.services import installations, invoicing, subscriptions, telemetry
from marketplace.accounts.models import Role
from tests.factories import ListingFactory, MembershipFactory, OrganizationFactory, VendorFactory

D = Decimal
CLOSE_AT = datetime(2026, 12, 16, 12, tzinfo=UTC)
TIME_ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC")
# Telemetry arrives in two pushes: October's usage on 31 October, November's on 1 December.
PUSHES = (
    (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)),
    (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
)


def _metric(listing, code: str, **fields) -> Metric:
    return Metric.objects.create(listing=listing, code=code, name=code.title(), unit=code, **fields)


def _tiers(charge: MeteredCharge, tiers) -> None:
    for up_to, price in tiers:
        PriceTier.objects.create(charge=charge, up_to=up_to, unit_price=D(price))


def _plans(prefix: str) -> list[Plan]:
    """Five plans of three vendors, in an order that makes neighbouring subscriptions belong to
    different vendors (so every chunk of a close issues for several)."""
    lumen = ListingFactory(
        vendor=VendorFactory(name=f"{prefix} Lumen", slug=f"{prefix}-lumen"),
        name=f"{prefix} Weave Eye",
    )
    spindle = ListingFactory(
        vendor=VendorFactory(name=f"{prefix} Spindle", slug=f"{prefix}-spindle"),
        name=f"{prefix} Spindle Watch",
    )
    kiln = ListingFactory(
        vendor=VendorFactory(name=f"{prefix} Kiln", slug=f"{prefix}-kiln"),
        name=f"{prefix} Kiln Guard",
    )
    inspections = _metric(lumen, "inspections")
    defects = _metric(lumen, "defects", kind=Metric.Kind.OUTCOME)
    hours = _metric(spindle, "hours")
    alerts = _metric(spindle, "alerts", aggregation=Metric.Aggregation.COUNT)
    kwh = _metric(kiln, "kwh", mode=Metric.Mode.CUMULATIVE)

    def plan(listing, name: str, **terms) -> tuple[Plan, PlanVersion]:
        created = Plan.objects.create(listing=listing, name=name, is_published=True)
        return created, PlanVersion.objects.create(plan=created, number=1, **terms)

    pro, version = plan(lumen, "Pro", recurring_amount=D("499.00"))
    charge = MeteredCharge.objects.create(
        version=version, metric=inspections, model=MeteredCharge.Model.GRADUATED
    )
    _tiers(charge, [(D(1000), "0"), (D(5000), "0.0125"), (None, "0.00875")])

    metered, version = plan(spindle, "Metered")
    MeteredCharge.objects.create(
        version=version, metric=hours, unit_price=D("0.35"), included_units=D(10)
    )
    MeteredCharge.objects.create(
        version=version,
        metric=alerts,
        model=MeteredCharge.Model.PACKAGE,
        package_size=D(2),
        package_price=D("9.90"),
    )

    standard, version = plan(kiln, "Standard", recurring_amount=D("120.00"), trial_days=14)
    MeteredCharge.objects.create(version=version, metric=kwh, unit_price=D("0.0815"))

    verified, version = plan(lumen, "Verified", recurring_amount=D("199.00"))
    OutcomeCharge.objects.create(version=version, metric=defects, unit_price=D("2.50"))

    volume, version = plan(spindle, "Volume", recurring_amount=D("99.00"))
    charge = MeteredCharge.objects.create(
        version=version, metric=hours, model=MeteredCharge.Model.VOLUME
    )
    _tiers(charge, [(D(50), "1.10"), (None, "0.733")])
    return [pro, metered, standard, verified, volume]


def _events(codes: list[str], k: int, push: int) -> list[tuple[str, str, str, datetime]]:
    """(id, metric, value, when) of buyer k's events in a push: values differ per buyer and
    make tiers, packages and included units matter."""
    first, _arrives = PUSHES[push]
    events = []
    for n in range(6):
        when = first + timedelta(days=n, hours=k % 7, minutes=13 * n)
        for code in codes:
            value = {
                "inspections": str(250 * (k + 1) + 37 * n),
                "defects": str(k % 4 + n),
                "hours": f"{k + n}.25",
                "alerts": "1",
                # An energy register: a running total, restarted at zero once.
                "kwh": f"{(n if n < 4 or k % 2 else n - 4) * (40 + k) + 0.5:.3f}",
            }[code]
            events.append((f"{code}-{push}-{n}", code, value, when))
    return events


def book_build(prefix: str, *, buyers: int = 18) -> None:
    plans = _plans(prefix)
    for k in range(buyers):
        buyer = OrganizationFactory(
            name=f"{prefix} Plant {k}", slug=f"{prefix}-plant-{k}", time_zone=TIME_ZONES[k % 4]
        )
        owner = MembershipFactory(organization=buyer, role=Role.OWNER).user
        started = datetime(2026, 10, 1 + (3 * k) % 14, 9, tzinfo=UTC)
        subscriptions.billing_account_accept_invoice_terms(
            actor=owner, organization=buyer, now=started
        )
        plan = plans[k % len(plans)]
        sub = subscriptions.subscription_start(actor=owner, buyer=buyer, plan=plan, now=started)
        if k % 6 == 5:
            subscriptions.subscription_cancel(
                actor=owner, subscription=sub, now=started + timedelta(days=3)
            )
        issued = installations.installation_create(actor=owner, subscription=sub, name="Plant")
        key = selectors.installation_key_for(issued.key)
        codes = sorted(plan.listing.metrics.values_list("code", flat=True))
        for push, (_first, arrives) in enumerate(PUSHES):
            body = json.dumps(
                {
                    "events": [
                        {"id": ident, "metric": code, "value": value, "timestamp": when.isoformat()}
                        for ident, code, value, when in _events(codes, k, push)
                    ]
                }
            ).encode()
            result = telemetry.usage_ingest_batch(key=key, body=body, now=arrives)
            assert not result.rejected, result.rejected


def _unprefixed(prefix: str, text: str) -> str:
    return text.replace(prefix, "<book>")


def book_snapshot(prefix: str) -> dict:
    """What the close wrote for a book, without ids or the prefix: per (buyer, plan, period),
    the invoice's status, total, fee and lines, and its outcome statement's claims."""
    invoices = (
        Invoice.objects.filter(issuer__slug__startswith=f"{prefix}-")
        .select_related("buyer", "plan_version__plan", "statement")
        .prefetch_related("lines__metric", "statement__lines__metric")
    )
    snapshot = {}
    for invoice in invoices:
        key = (
            _unprefixed(prefix, invoice.buyer.slug),
            invoice.plan_version.plan.name,
            invoice.period_start,
            invoice.period_end,
        )
        lines = sorted(
            (
                line.kind,
                _unprefixed(prefix, line.description),
                line.metric.code if line.metric else "",
                line.quantity,
                line.amount,
                line.period_start,
                line.period_end,
            )
            for line in invoice.lines.all()
        )
        claims = (
            sorted(
                (line.metric.code, line.measured, line.claimed_amount, line.status)
                for line in invoice.statement.lines.all()
            )
            if invoice.statement
            else []
        )
        snapshot[key] = (invoice.status, invoice.total, invoice.platform_fee, lines, claims)
    return snapshot


def book_numbers(prefix: str) -> dict[str, list[int]]:
    """Per issuer (unprefixed), the sequence numbers of its issued invoices, in order."""
    numbers: dict[str, list[int]] = {}
    for slug, number in (
        Invoice.objects.filter(issuer__slug__startswith=f"{prefix}-")
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("issuer__slug", "sequence_number")
        .values_list("issuer__slug", "sequence_number")
    ):
        numbers.setdefault(_unprefixed(prefix, slug), []).append(number)
    return numbers


def assert_book_sound(prefix: str) -> None:
    """The invariants of a closed book, whatever ran the close and how often."""
    invoices = Invoice.objects.filter(issuer__slug__startswith=f"{prefix}-")
    doubled = invoices.values("subscription", "period_end").annotate(n=Count("pk")).filter(n__gt=1)
    assert not doubled.exists(), list(doubled)
    # Gap-free numbering per issuer.
    for numbers in book_numbers(prefix).values():
        assert numbers == list(range(1, len(numbers) + 1)), numbers
    issued = list(
        invoices.exclude(status=Invoice.Status.DRAFT)
        .select_related("issuer")
        .prefetch_related("lines")
    )
    for invoice in issued:
        assert invoice.number == invoicing.invoice_number(invoice.issuer, invoice.sequence_number)
        assert invoice.total == sum(line.amount for line in invoice.lines.all())
        if invoice.total == 0:  # the opening of a plan without a fee: nothing to pay
            assert invoice.status == Invoice.Status.PAID
    # One ledger transaction per issued invoice that moves money, each balanced.
    records = list(
        LedgerTransaction.objects.filter(
            idempotency_key__startswith="invoice:",
            entries__organization__slug__startswith=f"{prefix}-",
        )
        .distinct()
        .prefetch_related("entries")
    )
    assert sorted(record.idempotency_key for record in records) == sorted(
        f"invoice:{invoice.pk}:issued" for invoice in issued if invoice.total
    )
    for record in records:
        assert record.kind == LedgerTransaction.Kind.INVOICE_ISSUED
        assert sum(entry.amount for entry in record.entries.all()) == 0, record
    # The book opened outcome statements, so that path was closed too; once per period.
    statements = OutcomeStatement.objects.filter(subscription__buyer__slug__startswith=f"{prefix}-")
    assert statements.exists()
    assert (
        not statements.values("subscription", "period_end").annotate(n=Count("pk")).filter(n__gt=1)
    )
