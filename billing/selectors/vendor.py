"""A vendor's billing in figures: trials and conversions, recurring revenue, what was invoiced per
listing, and what waits for the vendor (disputes to answer, statements being verified).

Everything is aggregated by the database, a fixed handful of queries whatever the number of
subscriptions or invoices. Amounts come out as billing.money.Money (a Decimal and its currency),
one figure per currency: amounts in different currencies are never added together.

Conversions are counted by cohort: a trial that started in March and converted in April counts
as a conversion of March, so a month's rate compares like with like.
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from billing import selectors
from billing.models import (
    Baseline,
    Invoice,
    InvoiceLine,
    Metric,
    OutcomeCharge,
    OutcomeLine,
    OutcomeStatement,
    Subscription,
    SubscriptionEvent,
)
from billing.money import Money, round_minor
from billing.periods import add_months, local_midnight
from billing.selectors.invoicing import disputes_awaiting_vendor
from marketplace.accounts.models import Organization

DEFAULT_MONTHS = 12
MONTH_CHOICES = (3, 6, 12, 24)
# Invoices that count as revenue: final and owed, or paid (drafts may change; void and
# uncollectible ones were reversed).
INVOICED = (Invoice.Status.ISSUED, Invoice.Status.PAID)
# Subscriptions that pay a recurring fee now.
PAYING = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
USAGE_KINDS = (
    InvoiceLine.Kind.METERED,
    InvoiceLine.Kind.ADJUSTMENT,
    InvoiceLine.Kind.PRORATION,
)
# How many disputes and open statements the dashboard lists (it counts them all).
TO_DO_LIMIT = 10
PERCENT = Decimal("0.1")


def _on_listings_of(organization: Organization, path: str = "") -> Q:
    return Q(**{f"{path}plan_version__plan__listing__vendor": organization})


def _amount(value) -> Decimal:
    """A sum from the database as a Decimal (None: nothing to sum). SQLite sums decimals in
    double precision: its float is read through its shortest repr, never used as a float."""
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _money(value, currency: str) -> Money:
    """A sum of amounts already rounded to the minor unit, rounded again to drop SQLite noise."""
    return Money(round_minor(_amount(value), currency), currency)


def _rate(part: int, whole: int) -> Decimal | None:
    """`part` as a percentage of `whole`, to one decimal (None when there is no whole)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


# --- The window of months ------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Whole calendar months in the vendor's time zone, the last one being the current month."""

    first_month: date
    months: int
    tz: zoneinfo.ZoneInfo
    now: datetime

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_month, self.tz)

    @property
    def month_starts(self) -> list[date]:
        return [add_months(self.first_month, n) for n in range(self.months)]


def window_of(organization: Organization, *, months: int, now: datetime) -> Window:
    tz = zoneinfo.ZoneInfo(organization.time_zone)
    this_month = now.astimezone(tz).date().replace(day=1)
    return Window(add_months(this_month, -(months - 1)), months, tz, now)


# --- Trials and conversions ----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    """Trials started in a month, and how many of them have turned into paid subscriptions."""

    month: date  # the first day of the month
    trials: int
    conversions: int
    # Still in their trial: neither converted nor expired yet.
    trialing: int

    @property
    def rate(self) -> Decimal | None:
        return _rate(self.conversions, self.trials)


def _has_event(action: str) -> Exists:
    return Exists(SubscriptionEvent.objects.filter(subscription=OuterRef("pk"), action=action))


def trials_by_month(organization: Organization, window: Window) -> list[MonthFigures]:
    """One row per month of the window, months without trials included (one query)."""
    rows = (
        Subscription.objects.filter(
            _on_listings_of(organization),
            _has_event(SubscriptionEvent.Action.TRIAL_STARTED),
            started_at__gte=window.start,
            started_at__lte=window.now,
        )
        .annotate(month=TruncMonth("started_at", tzinfo=window.tz))
        .values("month")
        .annotate(
            trials=Count("pk"),
            conversions=Count("pk", filter=_has_event(SubscriptionEvent.Action.ACTIVATED)),
            trialing=Count("pk", filter=Q(status=Subscription.Status.TRIALING)),
        )
    )
    found = {_as_date(row["month"]): row for row in rows}
    empty = {"trials": 0, "conversions": 0, "trialing": 0}
    return [
        MonthFigures(
            month=month,
            trials=found.get(month, empty)["trials"],
            conversions=found.get(month, empty)["conversions"],
            trialing=found.get(month, empty)["trialing"],
        )
        for month in window.month_starts
    ]


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # SQLite without a converter
        return date.fromisoformat(value[:10])
    return value


# --- Recurring revenue ---------------------------------------------------------------------------


def monthly_recurring_revenue(organization: Organization) -> list[Money]:
    """Recurring fees of the subscriptions paying now, per month: a yearly fee counts for a
    twelfth. One figure per currency, rounded to its minor unit once (one query)."""
    rows = (
        Subscription.objects.filter(
            _on_listings_of(organization),
            status__in=PAYING,
            plan_version__recurring_amount__isnull=False,
        )
        .values("plan_version__currency", "plan_version__recurring_interval")
        .annotate(total=Sum("plan_version__recurring_amount"))
        .order_by()
    )
    per_month: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        total = _amount(row["total"])
        if row["plan_version__recurring_interval"] == "year":
            total /= 12
        per_month[row["plan_version__currency"]] += total
    return [
        Money(round_minor(amount, currency), currency)
        for currency, amount in sorted(per_month.items())
    ]


# --- Invoiced revenue per listing ----------------------------------------------------------------


@dataclass(frozen=True)
class ListingRevenue:
    """What a listing's issued and paid invoices in the window amount to, in one currency.

    Recurring fees, usage (metered charges, late-usage adjustments and prorations) and verified
    outcomes add up to the total; the vendor's share is the total less the platform fee, as
    each invoice was split when it was issued. Credit notes are not taken off.
    """

    listing_id: int
    name: str
    slug: str
    currency: str
    invoices: int
    recurring: Money
    usage: Money
    outcomes: Money
    total: Money
    platform_fee: Money
    vendor_share: Money


def _invoiced(organization: Organization, window: Window) -> Q:
    return Q(
        issuer=organization,
        status__in=INVOICED,
        issued_at__gte=window.start,
        issued_at__lte=window.now,
    )


def revenue_by_listing(organization: Organization, window: Window) -> list[ListingRevenue]:
    """Per listing and currency, by name (two queries: lines by kind, invoice totals)."""
    listing = "plan_version__plan__listing"
    keys = (f"{listing}_id", f"{listing}__name", f"{listing}__slug", "currency")
    lines = {
        tuple(row[f"invoice__{key}"] for key in keys): row
        for row in InvoiceLine.objects.filter(
            invoice__in=Invoice.objects.filter(_invoiced(organization, window))
        )
        .values(*(f"invoice__{key}" for key in keys))
        .annotate(
            recurring=Sum("amount", filter=Q(kind=InvoiceLine.Kind.RECURRING)),
            usage=Sum("amount", filter=Q(kind__in=USAGE_KINDS)),
            outcomes=Sum("amount", filter=Q(kind=InvoiceLine.Kind.OUTCOME)),
        )
        .order_by()
    }
    invoices = (
        Invoice.objects.filter(_invoiced(organization, window))
        .values(*keys)
        .annotate(count=Count("pk"), total=Sum("total"), fee=Sum("platform_fee"))
        .order_by()
    )
    result = []
    for row in invoices:
        key = tuple(row[k] for k in keys)
        listing_id, name, slug, currency = key
        kinds = lines.get(key, {})
        total = _money(row["total"], currency)
        fee = _money(row["fee"], currency)
        result.append(
            ListingRevenue(
                listing_id=listing_id,
                name=name,
                slug=slug,
                currency=currency,
                invoices=row["count"],
                recurring=_money(kinds.get("recurring"), currency),
                usage=_money(kinds.get("usage"), currency),
                outcomes=_money(kinds.get("outcomes"), currency),
                total=total,
                platform_fee=fee,
                vendor_share=total - fee,
            )
        )
    return sorted(result, key=lambda r: (r.name.lower(), r.currency))


@dataclass(frozen=True)
class RevenueTotal:
    """The revenue of all listings in one currency."""

    currency: str
    total: Money
    platform_fee: Money
    vendor_share: Money


def revenue_totals(rows: list[ListingRevenue]) -> list[RevenueTotal]:
    by_currency: dict[str, list[ListingRevenue]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    totals = []
    for currency, listed in sorted(by_currency.items()):
        zero = Money.zero(currency)
        totals.append(
            RevenueTotal(
                currency=currency,
                total=sum((r.total for r in listed), zero),
                platform_fee=sum((r.platform_fee for r in listed), zero),
                vendor_share=sum((r.vendor_share for r in listed), zero),
            )
        )
    return totals


# --- What waits for the vendor -------------------------------------------------------------------


def open_statements(organization: Organization) -> QuerySet[OutcomeStatement]:
    """Outcome statements of the vendor's listings still being verified, the soonest due first."""
    return (
        OutcomeStatement.objects.filter(
            _on_listings_of(organization, "subscription__"),
            status=OutcomeStatement.Status.OPEN,
        )
        .select_related("subscription__buyer", "subscription__plan_version__plan__listing")
        .order_by("window_ends_at", "pk")
    )


# --- The dashboard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorBilling:
    organization: Organization
    window: Window
    months: list[MonthFigures]
    mrr: list[Money]
    revenue: list[ListingRevenue]
    totals: list[RevenueTotal]
    disputes: list[OutcomeLine]
    dispute_count: int
    statements: list[OutcomeStatement]
    statement_count: int

    @property
    def trials(self) -> int:
        return sum(month.trials for month in self.months)

    @property
    def conversions(self) -> int:
        return sum(month.conversions for month in self.months)

    @property
    def trialing(self) -> int:
        return sum(month.trialing for month in self.months)

    @property
    def conversion_rate(self) -> Decimal | None:
        """Trials that converted, in percent of the trials started in the window."""
        return _rate(self.conversions, self.trials)


def vendor_billing(
    organization: Organization, *, months: int = DEFAULT_MONTHS, now: datetime | None = None
) -> VendorBilling:
    """The vendor's billing figures over the last `months` calendar months (eight queries)."""
    window = window_of(organization, months=months, now=now or timezone.now())
    revenue = revenue_by_listing(organization, window)
    disputes = disputes_awaiting_vendor(organization).select_related(
        "statement__subscription__plan_version__plan__listing"
    )
    statements = open_statements(organization)
    return VendorBilling(
        organization=organization,
        window=window,
        months=trials_by_month(organization, window),
        mrr=monthly_recurring_revenue(organization),
        revenue=revenue,
        totals=revenue_totals(revenue),
        disputes=list(disputes.order_by("statement__window_ends_at", "pk")[:TO_DO_LIMIT]),
        dispute_count=disputes.count(),
        statements=list(statements[:TO_DO_LIMIT]),
        statement_count=statements.count(),
    )


# --- Customers ------------------------------------------------------------------------------------


def _savings_share(version_path: str) -> Exists:
    return Exists(
        OutcomeCharge.objects.filter(
            version=OuterRef(version_path), method=OutcomeCharge.Method.SAVINGS_SHARE
        )
    )


def customers_of(
    organization: Organization, *, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Subscriptions on the vendor's listings, newest first, each with its number of invoices,
    its latest outcome statement, whether its plan shares savings (so has baselines), and
    whether the buyer proposed a baseline the vendor has yet to agree to (one query a page)."""
    now = now or timezone.now()
    latest_statement = OutcomeStatement.objects.filter(subscription=OuterRef("pk")).order_by(
        "-period_end", "-pk"
    )
    invoice_count = (
        Invoice.objects.filter(subscription=OuterRef("pk"))
        .order_by()
        .values("subscription")
        .annotate(n=Count("pk"))
        .values("n")
    )
    buyer_proposals = Baseline.objects.filter(
        subscription=OuterRef("pk"),
        proposed_by_vendor=False,
        agreed_at__isnull=True,
        effective_from__gt=now,
    )
    return (
        Subscription.objects.filter(_on_listings_of(organization))
        .select_related("buyer", "plan_version__plan__listing")
        .annotate(
            invoice_count=Subquery(invoice_count),
            latest_statement_id=Subquery(latest_statement.values("pk")[:1]),
            shares_savings=_savings_share("plan_version"),
            baseline_to_agree=Exists(buyer_proposals),
        )
        .order_by("-started_at", "-pk")
    )


def invoices_issued_by(organization: Organization) -> QuerySet[Invoice]:
    """Invoices the vendor issued (and drafts waiting for verification), newest period first."""
    return (
        Invoice.objects.filter(issuer=organization)
        .select_related("buyer", "plan_version__plan__listing", "subscription")
        .order_by("-period_end", "-pk")
    )


# --- Baselines ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineVersion:
    baseline: Baseline
    # Proposed by the buyer, not agreed yet, and still in time: the vendor may agree.
    awaits_vendor: bool
    # Proposed by the vendor, not agreed yet, and still in time: the buyer may agree.
    awaits_buyer: bool
    # Not agreed before the periods it was meant for began: it applies to nothing.
    lapsed: bool


@dataclass(frozen=True)
class SavingsMetric:
    """A share-of-savings charge of a subscription's plan, with the baselines of its metric."""

    charge: OutcomeCharge
    metric: Metric
    versions: list[BaselineVersion]
    # The baseline the current period is measured against, if any.
    current: Baseline | None


def savings_baselines(
    subscription: Subscription, *, now: datetime | None = None
) -> list[SavingsMetric]:
    """Per share-of-savings charge of the subscription's plan: its baseline versions, newest
    first, and the one in force for the current period (two queries)."""
    now = now or timezone.now()
    charges = list(
        OutcomeCharge.objects.filter(
            version_id=subscription.plan_version_id,
            method=OutcomeCharge.Method.SAVINGS_SHARE,
        ).select_related("metric")
    )
    by_metric: dict[int, list[Baseline]] = defaultdict(list)
    for baseline in Baseline.objects.filter(
        subscription=subscription, metric__in=[c.metric_id for c in charges]
    ).select_related("proposed_by", "agreed_by"):
        by_metric[baseline.metric_id].append(baseline)
    result = []
    for charge in charges:
        baselines = sorted(by_metric[charge.metric_id], key=lambda b: b.number)
        agreed = [b for b in baselines if b.is_agreed]
        versions = []
        for b in reversed(baselines):
            in_time = not b.is_agreed and b.effective_from > now
            versions.append(
                BaselineVersion(
                    baseline=b,
                    awaits_vendor=in_time and not b.proposed_by_vendor,
                    awaits_buyer=in_time and b.proposed_by_vendor,
                    lapsed=not b.is_agreed and b.effective_from <= now,
                )
            )
        result.append(
            SavingsMetric(
                charge=charge,
                metric=charge.metric,
                versions=versions,
                current=selectors.baseline_for(agreed, subscription.current_period_start),
            )
        )
    return result


def baselines_of(subscription: Subscription) -> QuerySet[Baseline]:
    return Baseline.objects.filter(subscription=subscription).select_related("metric")
