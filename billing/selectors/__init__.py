"""Billing's reads: keys, subscriptions a person may see, metered usage, entitlements.

Metering happens in SQL: totals per metric and period (and per day for charts) are aggregated
by the database, never by looping over events in Python.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Lag, TruncDate
from django.utils import timezone

from billing import keys, rating
from billing.lookups import array_literal
from billing.models import (
    Baseline,
    InstallationKey,
    LedgerEntry,
    Metric,
    Plan,
    Subscription,
    UsageEvent,
)
from billing.money import QUANTITY_PLACES, round_minor
from marketplace.accounts.models import User
from marketplace.accounts.policies import scope


def installation_key_for(raw_key: str) -> InstallationKey | None:
    """The active key matching this secret, with its installation and subscription; else None."""
    prefix = keys.prefix_of(raw_key)
    if prefix is None:
        return None
    # No more joins than ingestion needs: at this size, planning the query costs more than
    # running it, and it runs for every batch.
    record = (
        InstallationKey.objects.select_related("installation__subscription__plan_version__plan")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if record is None or not keys.matches(raw_key, record.key_hash):
        return None
    return record


def subscriptions_for(user: User) -> QuerySet[Subscription]:
    """Subscriptions of the organizations the user belongs to."""
    return scope(Subscription.objects.all(), user, via="buyer").select_related(
        "buyer", "plan_version__plan__listing"
    )


def offered_plans(listing, *, buyer=None) -> list[Plan]:
    """Plans on offer for a listing: the published public ones, and the buyer's private ones."""
    plans = listing.plans.filter(is_published=True).prefetch_related(
        "versions__trial_allowance_metric",
        "versions__metered_charges__tiers",
        "versions__metered_charges__metric",
        "versions__outcome_charges__metric",
    )
    return [
        plan
        for plan in plans
        if plan.private_for_id is None or (buyer is not None and plan.private_for_id == buyer.pk)
    ]


def current_offer(plan: Plan):
    """The version a new subscriber gets: the highest number (from prefetched versions)."""
    return max(plan.versions.all(), key=lambda version: version.number)


# --- Metering ---------------------------------------------------------------------------------

QUANTUM = Decimal(1).scaleb(-QUANTITY_PLACES)
# A running total's increase between two readings; lower than before means it restarted at 0.
INCREASE_SQL = "CASE WHEN prev IS NULL THEN 0 WHEN value >= prev THEN value - prev ELSE value END"


def _events(subscription: Subscription, metrics: list[Metric], end: datetime):
    return UsageEvent.objects.filter(
        subscription=subscription, metric__in=metrics, occurred_at__lt=end
    )


def _cumulative(
    subscription: Subscription,
    metrics: list[Metric],
    start: datetime,
    end: datetime,
    *,
    by_day: zoneinfo.ZoneInfo | None = None,
) -> list[tuple]:
    """Increases of running totals in [start, end), per metric (and per local day).

    Readings are ordered by time, then id, per installation, whatever order they arrived in;
    the reading before `start` is the baseline of the first one inside. The ORM computes the
    previous reading (a window); the outer sum over it is SQL, as SQL cannot aggregate a window
    in the same query.
    """
    if not metrics:
        return []
    inner = _events(subscription, metrics, end).annotate(
        prev=Window(
            Lag("value"),
            partition_by=[F("installation_id"), F("metric_id")],
            order_by=[F("occurred_at").asc(), F("client_id").asc()],
        )
    )
    columns = ["metric_id", "value", "occurred_at", "prev"]
    if by_day is not None:
        inner = inner.annotate(day=TruncDate("occurred_at", tzinfo=by_day))
        columns.append("day")
    inner_sql, params = inner.values(*columns).query.sql_with_params()
    group = "metric_id, day" if by_day is not None else "metric_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {group}, SUM({INCREASE_SQL}) FROM ({inner_sql}) readings "  # noqa: S608
            f"WHERE occurred_at >= %s GROUP BY {group}",
            [*params, connection.ops.adapt_datetimefield_value(start)],
        )
        return cursor.fetchall()


def _aggregate(metric: Metric):
    """The metric's aggregate over the events of that metric only (queries mix metrics)."""
    only = Q(metric_id=metric.pk)
    if metric.aggregation == Metric.Aggregation.COUNT:
        return Count("pk", filter=only)
    if metric.aggregation == Metric.Aggregation.MAX:
        return Max("value", filter=only)
    if metric.aggregation == Metric.Aggregation.UNIQUE:
        if metric.unique_property:
            prop = KT(f"properties__{metric.unique_property}")
            return Count(prop, distinct=True, filter=only)
        return Count("value", distinct=True, filter=only)
    return Sum("value", filter=only)


def _decimal(value) -> Decimal:
    """A total from the database as a Decimal of QUANTITY_PLACES decimals.

    PostgreSQL sums numeric exactly. SQLite has no decimal type and sums in double precision
    (about 15 significant digits): its float is read through its shortest repr and quantized,
    as Django does for DecimalField.
    """
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(QUANTUM)


@dataclass(frozen=True)
class UsageWindow:
    """A subscription's usage between two instants, [start, end)."""

    subscription: Subscription
    start: datetime
    end: datetime


def _plain_totals(windows: list[UsageWindow], metrics: list[Metric]) -> list[dict[int, Decimal]]:
    """Totals of delta metrics aggregated by sum, count, max or unique, for many windows in one
    query (period close rates thousands of subscriptions at once): per window, metric id -> total.

    Hand-written because the ORM cannot join a table of windows; the aggregates are the same as
    the metric's aggregation says, and only the columns some metric needs are computed.
    """
    totals: list[dict[int, Decimal]] = [{} for _window in windows]
    if not windows or not metrics:
        return totals
    by_id = {metric.pk: metric for metric in metrics}
    # MAX is computed only when a metric asks for it: it costs a tenth of the query.
    wants_max = any(metric.aggregation == Metric.Aggregation.MAX for metric in metrics)
    # Values are summed only for the metrics that sum them: adding numerics is most of the
    # query's work per event, and counting is nearly free.
    columns = [
        "SUM(u.value) FILTER (WHERE m.summed)",
        "COUNT(*)",
        "MAX(u.value)" if wants_max else "NULL",
    ]
    params = []
    unique_values = [m.pk for m in metrics if m.aggregation == "unique" and not m.unique_property]
    if unique_values:
        marks = ", ".join(["%s"] * len(unique_values))
        columns.append(f"COUNT(DISTINCT u.value) FILTER (WHERE u.metric_id IN ({marks}))")
        params += unique_values
    by_property = [m for m in metrics if m.aggregation == "unique" and m.unique_property]
    for metric in by_property:
        if connection.vendor == "postgresql":
            columns.append("COUNT(DISTINCT u.properties ->> %s) FILTER (WHERE u.metric_id = %s)")
            params += [metric.unique_property, metric.pk]
        else:
            columns.append(
                "COUNT(DISTINCT json_extract(u.properties, %s)) FILTER (WHERE u.metric_id = %s)"
            )
            params += [f'$."{metric.unique_property}"', metric.pk]
    subs = [window.subscription.pk for window in windows]
    adapt = connection.ops.adapt_datetimefield_value
    starts = [adapt(window.start) for window in windows]
    ends = [adapt(window.end) for window in windows]
    listings = [window.subscription.plan_version.plan.listing_id for window in windows]
    metric_rows = [
        (metric.pk, metric.listing_id, metric.aggregation == Metric.Aggregation.SUM)
        for metric in metrics
    ]
    if connection.vendor == "postgresql":
        # Array literals rather than parameters per window: see billing.lookups.
        tables = (
            "w (k, sub, s, e, listing) AS (SELECT * FROM unnest(%s::integer[], %s::bigint[], "
            "%s::timestamptz[], %s::timestamptz[], %s::bigint[])), "
            "m (metric, listing, summed) AS "
            "(SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::boolean[]))"
        )
        window_params = [
            array_literal(column)
            for column in (
                range(len(windows)),
                subs,
                starts,
                ends,
                listings,
                *zip(*metric_rows, strict=True),
            )
        ]
    else:
        window_values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(windows))
        metric_values = ", ".join(["(%s, %s, %s)"] * len(metric_rows))
        tables = (
            f"w (k, sub, s, e, listing) AS (VALUES {window_values}), "
            f"m (metric, listing, summed) AS (VALUES {metric_values})"
        )
        window_params = [
            value
            for row in zip(range(len(windows)), subs, starts, ends, listings, strict=True)
            for value in row
        ]
        window_params += [value for row in metric_rows for value in row]
    # Each window is read metric by metric, so the metering index (subscription, metric, time)
    # bounds the scan to the window: with the metric left free it would read every event the
    # subscription ever sent, a year of them at a monthly close.
    events = UsageEvent._meta.db_table
    within = (
        "u.subscription_id = w.sub AND u.metric_id = m.metric "
        "AND u.occurred_at >= w.s AND u.occurred_at < w.e"
    )
    if connection.vendor == "postgresql":
        # Window and metric at a time (LATERAL), the index hands over the events to sum as they
        # come, where one GROUP BY over the whole join would hash them all.
        named = ", ".join(f"{column} AS c{number}" for number, column in enumerate(columns))
        source = (
            f"SELECT w.k, m.metric, x.* FROM w JOIN m ON m.listing = w.listing "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {named} FROM {events} u WHERE {within}) x "
            "WHERE x.c1 > 0"
        )
    else:  # SQLite has no LATERAL
        source = (
            f"SELECT w.k, u.metric_id, {', '.join(columns)} FROM w "  # noqa: S608
            f"JOIN m ON m.listing = w.listing JOIN {events} u ON {within} "
            "GROUP BY w.k, u.metric_id"
        )
    sql = f"WITH {tables} {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*window_params, *params])
        for key, metric_id, total, count, maximum, *distinct in cursor.fetchall():
            metric = by_id.get(metric_id)
            if metric is None:
                continue
            if metric.aggregation == Metric.Aggregation.COUNT:
                value = count
            elif metric.aggregation == Metric.Aggregation.MAX:
                value = maximum
            elif metric in by_property:
                value = distinct[(1 if unique_values else 0) + by_property.index(metric)]
            elif metric.aggregation == Metric.Aggregation.UNIQUE:
                value = distinct[0]
            else:
                value = total
            totals[key][metric_id] = _decimal(value)
    return totals


def usage_totals_many(
    windows: list[UsageWindow], metrics: dict[int, list[Metric]]
) -> list[dict[str, Decimal]]:
    """Metered usage per metric code for each window, every metric of the listing present.

    `metrics` maps a listing id to its metrics. Sums, counts, maxima and unique counts of all
    windows come from one query; running totals and latest values (rare) per window.
    """
    results: list[dict[str, Decimal]] = []
    plain = {
        metric.pk: metric
        for listing_metrics in metrics.values()
        for metric in listing_metrics
        if metric.mode == Metric.Mode.DELTA and metric.aggregation != Metric.Aggregation.LATEST
    }
    aggregated = _plain_totals(windows, list(plain.values()))
    for window, found in zip(windows, aggregated, strict=True):
        listing_metrics = metrics[window.subscription.plan_version.plan.listing_id]
        totals = {metric.code: found.get(metric.pk, Decimal(0)) for metric in listing_metrics}
        others = [m for m in listing_metrics if m.pk not in plain]
        if others:
            totals.update(_other_totals(window, others))
        results.append(totals)
    return results


def _other_totals(window: UsageWindow, metrics: list[Metric]) -> dict[str, Decimal]:
    """Running totals and latest values of one window."""
    subscription, start, end = window.subscription, window.start, window.end
    totals = {}
    by_id = {metric.pk: metric for metric in metrics}
    cumulative = [m for m in metrics if m.mode == Metric.Mode.CUMULATIVE]
    for metric_id, total in _cumulative(subscription, cumulative, start, end):
        totals[by_id[metric_id].code] = _decimal(total)
    latest = [m for m in metrics if m.mode == Metric.Mode.DELTA]
    if latest:
        newest = UsageEvent.objects.filter(
            subscription=subscription,
            occurred_at__gte=start,
            occurred_at__lt=end,
            metric=OuterRef("pk"),
        ).order_by("-occurred_at", "-client_id")
        for metric_id, value in Metric.objects.filter(pk__in=[m.pk for m in latest]).values_list(
            "pk", Subquery(newest.values("value")[:1])
        ):
            totals[by_id[metric_id].code] = _decimal(value)
    return totals


def usage_totals(
    subscription: Subscription,
    start: datetime,
    end: datetime,
    *,
    metrics: list[Metric] | None = None,
) -> dict[str, Decimal]:
    """Metered usage per metric code in [start, end), every metric of the listing present."""
    listing_id = subscription.plan_version.plan.listing_id
    if metrics is None:
        metrics = list(Metric.objects.filter(listing_id=listing_id))
    window = UsageWindow(subscription, start, end)
    return usage_totals_many([window], {listing_id: metrics})[0]


@dataclass(frozen=True)
class DailyUsage:
    metric: Metric
    days: list[tuple[date, Decimal]]


def usage_by_day(subscription: Subscription, start: datetime, end: datetime) -> list[DailyUsage]:
    """Per metric, its usage on each local day (in the buyer's time zone) of [start, end)."""
    tz = zoneinfo.ZoneInfo(subscription.buyer.time_zone)
    metrics = list(Metric.objects.filter(listing_id=subscription.plan_version.plan.listing_id))
    days: dict[int, dict[date, Decimal]] = {m.pk: {} for m in metrics}
    cumulative = [m for m in metrics if m.mode == Metric.Mode.CUMULATIVE]
    for metric_id, day, total in _cumulative(subscription, cumulative, start, end, by_day=tz):
        days[metric_id][_as_date(day)] = _decimal(total)
    plain = [m for m in metrics if m.mode == Metric.Mode.DELTA]
    if plain:
        rows = (
            UsageEvent.objects.filter(
                subscription=subscription,
                metric__in=plain,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            .annotate(day=TruncDate("occurred_at", tzinfo=tz))
            .values("metric_id", "day")
            .annotate(
                **{f"m{m.pk}": _aggregate(m) for m in plain if m.aggregation != "latest"},
                latest=Max("value"),
            )
        )
        by_id = {m.pk: m for m in plain}
        for row in rows:
            metric = by_id[row["metric_id"]]
            key = "latest" if metric.aggregation == Metric.Aggregation.LATEST else f"m{metric.pk}"
            days[metric.pk][_as_date(row["day"])] = _decimal(row[key])
    return [DailyUsage(m, sorted(days[m.pk].items())) for m in metrics]


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


# --- Entitlements and usage summaries ----------------------------------------------------------


def _quantity(value: Decimal) -> str:
    """A quantity for JSON: an exact decimal string without trailing zeros (never a float)."""
    text = format(value.normalize(), "f")
    return text if value else "0"


def trial_allowance_used(subscription: Subscription, usage: dict[str, Decimal]) -> bool:
    version = subscription.plan_version
    if subscription.status != Subscription.Status.TRIALING or version.trial_allowance is None:
        return False
    return usage.get(version.trial_allowance_metric.code, Decimal(0)) >= version.trial_allowance


def entitlement_for(subscription: Subscription, *, now: datetime | None = None) -> dict:
    """What an industrial platform needs to decide whether to enable the solution now."""
    now = now or timezone.now()
    version = subscription.plan_version
    usage = usage_totals(
        subscription, subscription.current_period_start, subscription.current_period_end
    )
    allowance_used = trial_allowance_used(subscription, usage)
    limits = {}
    if version.trial_allowance is not None and subscription.status == Subscription.Status.TRIALING:
        limits["trial_allowance"] = {
            "metric": version.trial_allowance_metric.code,
            "quantity": _quantity(version.trial_allowance),
            "used": _quantity(usage.get(version.trial_allowance_metric.code, Decimal(0))),
        }
    for charge in version.metered_charges.select_related("metric"):
        if charge.included_units:
            limits.setdefault("included", {})[charge.metric.code] = _quantity(charge.included_units)
    return {
        "subscription": subscription.pk,
        "status": subscription.status,
        "entitled": subscription.is_entitled and not allowance_used,
        # Every retry of a failed payment failed: off until an invoice is paid.
        "suspended": subscription.suspended_at is not None,
        "listing": version.plan.listing.slug,
        "plan": {"id": version.plan_id, "name": version.plan.name, "version": version.number},
        "trial_ends_at": subscription.trial_ends_at,
        "period": {
            "start": subscription.current_period_start,
            "end": subscription.current_period_end,
        },
        "limits": limits,
        "usage": {code: _quantity(total) for code, total in usage.items()},
        "checked_at": now,
    }


def usage_summary(subscription: Subscription, *, now: datetime) -> dict:
    """Per-metric totals of the current period and, during a trial, what it would have cost."""
    version = subscription.plan_version
    metrics = list(Metric.objects.filter(listing_id=version.plan.listing_id))
    usage = usage_totals(
        subscription,
        subscription.current_period_start,
        subscription.current_period_end,
        metrics=metrics,
    )
    summary = {
        "subscription": subscription.pk,
        "status": subscription.status,
        "period": {
            "start": subscription.current_period_start,
            "end": subscription.current_period_end,
        },
        "metrics": [
            {
                "code": m.code,
                "name": m.name,
                "unit": m.unit,
                "kind": m.kind,
                "aggregation": m.aggregation,
                "quantity": _quantity(usage[m.code]),
            }
            for m in metrics
        ],
    }
    if subscription.status == Subscription.Status.TRIALING:
        quote = rating.quote(version, usage)
        summary["would_have_paid"] = {
            "currency": quote.currency,
            "total": str(quote.total.amount),
            "lines": [
                {
                    "description": line.description,
                    "metric": line.metric,
                    "amount": str(line.amount.amount),
                }
                for line in quote.lines
            ],
            "notes": quote.notes,
        }
    return summary


# --- Ledger -----------------------------------------------------------------------------------


def ledger_balance(account: str, *, organization=None, currency: str) -> Decimal:
    """An account's balance, derived from its entries (debits positive).

    Entries are whole minor units, so the sum is too: rounding it to the minor unit is exact on
    PostgreSQL and removes SQLite's double-precision noise.
    """
    total = LedgerEntry.objects.filter(
        account=account, organization=organization, currency=currency
    ).aggregate(total=Sum("amount"))["total"]
    return round_minor(Decimal(0) if total is None else Decimal(total), currency)


# --- Baselines --------------------------------------------------------------------------------


def baseline_for(baselines: list[Baseline], period_start: datetime) -> Baseline | None:
    """The newest version agreed before the period started and in effect by then."""
    applicable = [
        b for b in baselines if b.agreed_at <= period_start and b.effective_from <= period_start
    ]
    return applicable[-1] if applicable else None
