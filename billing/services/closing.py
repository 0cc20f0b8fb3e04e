"""Period close: ends due trials, rates closed periods, opens outcome statements, issues invoices.

`period_close(now=...)` is what `manage.py close_period` and Celery beat run. It works through
the subscriptions due at `now` in chunks, each chunk in one database transaction with its
subscriptions locked:

- an active subscription whose current period's fee was never invoiced (it just started, or a
  trial converted) gets an invoice for that fee, in advance;
- each period that ended is invoiced: its metered usage in arrears, the next period's fee in
  advance (unless the subscription ends), pending prorations, and adjustments for usage that
  arrived late for earlier periods; when the plan charges for outcomes, an outcome statement
  opens and the invoice waits, as a draft, until the statement settles;
- a subscription canceled mid-period is invoiced for its usage up to the cancellation, and
  one paused mid-period for its usage up to the pause; when it resumes within that period, the
  period's end is rated on the period whole, less what the pause's invoice charged, so
  included units and tiers count once a period.

`Subscription.closed_through` records how far a subscription has been invoiced, and an invoice
is unique per subscription and period end, so running the close again, or twice at once, or
again after it was killed half-way, invoices every period exactly once.

Usage is aggregated for a whole chunk in one query (billing.selectors.usage_totals_many) and
rows are written in bulk: the close of ten thousand subscriptions is a few hundred queries.
"""

import gc
import multiprocessing
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import NamedTuple

from django.db import connection, connections, transaction
from django.db.models import F, Max, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import rating, selectors
from billing.bulk import factory, insert_objects, insert_rows, update_rows
from billing.models import (
    Baseline,
    Invoice,
    InvoiceLine,
    Metric,
    OutcomeLine,
    OutcomeStatement,
    PendingItem,
    PlanVersion,
    Subscription,
    SubscriptionEvent,
    UsageEvent,
)
from billing.money import round_minor
from billing.services import invoicing, outcomes, subscriptions

CHUNK_SIZE = 500
# Telemetry refuses events older than 35 days: a late event not yet adjusted arrived after the
# subscription's last close, so it occurred at most this long before that close's boundary.
LATE_HORIZON = timedelta(days=36)
BILLABLE = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
new_invoice = factory(Invoice)


@dataclass
class CloseReport:
    trials_ended: int = 0
    invoices_created: int = 0
    invoices_issued: int = 0
    statements_opened: int = 0
    statements_settled: int = 0


class _Line(NamedTuple):
    """An invoice line before it is written, without its invoice: thousands are written per
    chunk, as tuples (billing.bulk.insert_rows) rather than InvoiceLine instances."""

    kind: str
    description: str
    amount: Decimal
    metric_id: int | None = None
    quantity: Decimal | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    pending_item_id: int | None = None
    adjusts_id: int | None = None


LINE_FIELDS = _Line._fields


@dataclass
class _Boundary:
    """Where a subscription is invoiced: the period [start, end) it closes (empty when it only
    opens one) and the period whose fee is billed in advance."""

    subscription: Subscription
    start: datetime
    end: datetime
    fee_period: tuple[datetime, datetime] | None
    # Where the period this boundary ends began, when a pause already invoiced its start (see
    # _continued); else the boundary's own start.
    period_start: datetime | None = None
    invoice: Invoice | None = None
    lines: list[_Line] = field(default_factory=list)
    statement: OutcomeStatement | None = None


def due_for_close(now: datetime) -> list[int]:
    """Subscriptions with something to invoice at `now`."""
    billable = Q(status__in=BILLABLE, started_at__lte=now) & (
        Q(current_period_end__lte=now)
        | Q(closed_through__isnull=True)
        | Q(closed_through__lt=F("current_period_start"))
    )
    ended = Q(
        status=Subscription.Status.CANCELED,
        closed_through__isnull=False,
        closed_through__lt=F("ended_at"),
    )
    paused = Q(
        status=Subscription.Status.PAUSED,
        closed_through__isnull=False,
        closed_through__lt=F("paused_at"),
        paused_at__lte=now,
    )
    return list(
        Subscription.objects.filter(billable | ended | paused)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def period_close(
    *, now: datetime | None = None, chunk_size: int = CHUNK_SIZE, workers: int = 1
) -> CloseReport:
    """Close everything due at `now` (see the module docstring); returns what it did.

    With `workers` above one (PostgreSQL only), the chunks are closed by that many processes
    side by side (see _close_apart).
    """
    now = now or timezone.now()
    report = CloseReport()
    for subscription_id in subscriptions.trials_due(now):
        ended = subscriptions.subscription_end_trial(subscription_id=subscription_id, now=now)
        report.trials_ended += ended.status != Subscription.Status.TRIALING
    due = due_for_close(now)
    chunks = [due[first : first + chunk_size] for first in range(0, len(due), chunk_size)]
    # Loaded once for every chunk: a version is frozen once subscribed to (a chunk loads any
    # that a subscription moved to meanwhile).
    versions = _versions(Subscription.objects.filter(pk__any=due).values("plan_version_id"))
    # The chunks make objects by the hundred thousand, and now and then Python's cycle
    # collector walks every object the process holds (Django and the apps: some 190,000, a
    # tenth of a second a walk). What the process holds already is set aside for the close
    # (the forked workers inherit that), so the collector walks only what the close makes.
    gc.freeze()
    try:
        if workers > 1 and len(chunks) > 1 and connection.vendor == "postgresql":
            _close_apart(_schedule(chunks, workers), now, report, workers, versions)
        else:
            for chunk in chunks:
                _close_chunk(chunk, now, report, versions)
    finally:
        gc.unfreeze()
    settled = outcomes.statements_settle_due(now=now)
    report.statements_settled += settled
    report.invoices_issued += settled
    return report


def _schedule(chunks: list[list[int]], workers: int) -> list[list[int]]:
    """The order in which the workers take the chunks.

    Every worker but the first starts with half a chunk (its other half comes near the end):
    workers that started together would reach the issuers' invoice sequences together, and a
    chunk holds those until it commits. The last chunks are halved, so the workers finish
    near together.
    """
    if len(chunks) <= 2 * workers:
        return chunks
    halved = [_halves(chunk) for chunk in chunks[1:workers]]
    ending = [half for chunk in chunks[-workers:] for half in _halves(chunk)]
    ordered = [
        chunks[0],
        *(first for first, _second in halved),
        *chunks[workers:-workers],
        *(second for _first, second in halved),
        *ending,
    ]
    return [chunk for chunk in ordered if chunk]  # a chunk of one has an empty half


def _halves(chunk: list[int]) -> tuple[list[int], list[int]]:
    middle = (len(chunk) + 1) // 2
    return chunk[:middle], chunk[middle:]


def _close_apart(
    chunks: list[list[int]],
    now: datetime,
    report: CloseReport,
    workers: int,
    versions: dict[int, PlanVersion],
):
    """Close the chunks in `workers` forked processes, each with its own connection.

    Chunks hold disjoint subscriptions, so they only meet at the issuers' invoice sequences,
    which a chunk locks last (see _close_chunk). SQLite takes one writer at a time, so it gets
    no workers; nor does a caller inside a transaction, whose rows the workers could not see.
    """
    if connection.in_atomic_block:
        raise RuntimeError("period_close with workers runs outside a database transaction.")
    connections.close_all()  # a forked process must not share its parent's connection
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start,
        initargs=(versions,),  # inherited by the fork, not pickled for every chunk
    ) as pool:
        for done in pool.map(_close_chunk_apart, chunks, repeat(now)):
            for name, value in vars(done).items():
                setattr(report, name, getattr(report, name) + value)


# A worker process's own plan versions (_worker_start), which its chunks share.
_worker_versions: dict[int, PlanVersion] = {}


def _worker_start(versions: dict[int, PlanVersion]) -> None:
    _worker_versions.update(versions)


def _close_chunk_apart(ids: list[int], now: datetime) -> CloseReport:
    """One chunk closed in a worker process (_close_apart)."""
    report = CloseReport()
    _close_chunk(ids, now, report, _worker_versions)
    return report


def _plan(subscription: Subscription, now: datetime) -> tuple[list[_Boundary], list[tuple]]:
    """The boundaries to invoice for a locked subscription, advancing its periods, and the
    history rows of the periods it advanced (see _save)."""
    boundaries, events = [], []
    sub = subscription
    if sub.started_at > now:  # a close "as of" a past instant leaves later subscriptions alone
        return boundaries, events
    paused = sub.paused_at
    if (
        paused is not None
        and paused <= now
        and sub.closed_through
        and sub.closed_through < paused
        and (sub.status == Subscription.Status.PAUSED or sub.current_period_start >= paused)
    ):
        # Usage up to a pause, while it lasts or when the resume started a new period; nothing
        # is owed in advance while paused. (Resumed within its paid period, the period just
        # goes on, and is invoiced whole at its end.)
        boundaries.append(_Boundary(sub, sub.closed_through, paused, None, _begun(sub)))
        sub.closed_through = paused
    if sub.status in BILLABLE and (
        sub.closed_through is None or sub.closed_through < sub.current_period_start
    ):
        start = sub.current_period_start
        if sub.plan_version.recurring_amount:  # nothing is owed in advance without a fee
            boundaries.append(_Boundary(sub, start, start, (start, sub.current_period_end)))
        sub.closed_through = start
    while sub.status in BILLABLE and sub.current_period_end <= now:
        # From where the last invoice left it: a pause invoiced the start of this period.
        start = max(sub.current_period_start, sub.closed_through)
        sub_period_start, end = sub.current_period_start, sub.current_period_end
        events.append((sub.pk, *subscriptions.period_advance(sub)))
        fee = (sub.current_period_start, sub.current_period_end) if sub.status in BILLABLE else None
        boundaries.append(_Boundary(sub, start, end, fee, sub_period_start))
        sub.closed_through = end
    if (
        sub.status == Subscription.Status.CANCELED
        and sub.closed_through is not None
        and sub.ended_at is not None
        and sub.closed_through < sub.ended_at
    ):
        boundaries.append(_Boundary(sub, sub.closed_through, sub.ended_at, None, _begun(sub)))
        sub.closed_through = sub.ended_at
    return boundaries, events


def _begun(sub: Subscription) -> datetime:
    """The start of the period a boundary from `closed_through` belongs to: the current one's,
    when it is invoiced from within it."""
    if sub.current_period_start <= sub.closed_through < sub.current_period_end:
        return sub.current_period_start
    return sub.closed_through


def _versions(ids) -> dict[int, PlanVersion]:
    """Plan versions with everything rating reads, each loaded once for the whole close."""
    return {
        version.pk: version
        for version in PlanVersion.objects.filter(pk__in=ids)
        .select_related("plan__listing__vendor")
        .prefetch_related(
            "metered_charges__tiers", "metered_charges__metric", "outcome_charges__metric"
        )
    }


@transaction.atomic
def _close_chunk(
    ids: list[int], now: datetime, report: CloseReport, versions: dict[int, PlanVersion]
) -> None:
    subs = list(
        Subscription.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .only(*LOADED)
        .filter(pk__any=ids)
        .order_by("pk")
    )
    versions.update(_versions({sub.plan_version_id for sub in subs} - versions.keys()))
    before = {sub.pk: _state(sub) for sub in subs}  # _plan moves them on
    closed_before = {sub.pk: sub.closed_through for sub in subs}
    boundaries, events = [], []
    for sub in subs:
        sub.plan_version = versions[sub.plan_version_id]
        planned, advanced = _plan(sub, now)
        boundaries += planned
        events += advanced
    if not boundaries:
        _save(subs, before, events, now)
        return
    with_boundaries = {id(b.subscription) for b in boundaries}
    closing = [sub for sub in subs if id(sub) in with_boundaries]
    listing_ids = {sub.plan_version.plan.listing_id for sub in closing}
    metrics: dict[int, list[Metric]] = defaultdict(list)
    for metric in Metric.objects.filter(listing_id__in=listing_ids):
        metrics[metric.listing_id].append(metric)
    metric_by_code = {(m.listing_id, m.code): m for ms in metrics.values() for m in ms}
    rated = [b for b in boundaries if b.start < b.end]
    usage = dict(
        zip(
            (id(b) for b in rated),
            selectors.usage_totals_many(
                [selectors.UsageWindow(b.subscription, _from(b), b.end) for b in rated], metrics
            ),
            strict=True,
        )
    )
    continued = _continued([b for b in rated if _from(b) < b.start], metrics)
    baselines = _baselines(closing)
    extras = _pending_lines(closing, now)
    for sub_id, lines in _late_adjustments(closing, metrics, versions, closed_before).items():
        extras[sub_id] += lines
    statements, statement_lines, labels = [], [], {}
    for boundary in boundaries:
        sub = boundary.subscription
        version = sub.plan_version
        boundary.invoice = new_invoice(
            issuer=version.plan.listing.vendor,
            buyer=sub.buyer,
            subscription=sub,
            plan_version=version,
            period_start=boundary.start,
            period_end=boundary.end,
            currency=version.currency,
            created_at=now,
        )
        if boundary.fee_period and version.recurring_amount:
            if version.pk not in labels:  # translated once per plan version, not per invoice
                labels[version.pk] = rating.recurring_label(version)
            boundary.lines.append(
                _Line(
                    kind=InvoiceLine.Kind.RECURRING,
                    description=labels[version.pk],
                    amount=round_minor(version.recurring_amount, version.currency),
                    period_start=boundary.fee_period[0],
                    period_end=boundary.fee_period[1],
                )
            )
        if id(boundary) in usage:
            listing_id = version.plan.listing_id
            earlier = continued.get(id(boundary))
            for line in rating.metered_lines(version, usage[id(boundary)]):
                metric_id = metric_by_code[(listing_id, line.metric)].pk
                quantity, amount = line.quantity, line.amount.amount
                if earlier is not None:  # the period's rest: all of it, less what was charged
                    quantity = earlier.quantities.get(line.metric, Decimal(0))
                    amount -= earlier.charged.get(metric_id, Decimal(0))
                boundary.lines.append(
                    _Line(
                        kind=InvoiceLine.Kind.METERED,
                        description=line.description,
                        metric_id=metric_id,
                        quantity=quantity,
                        amount=amount,
                        period_start=boundary.start,
                        period_end=boundary.end,
                    )
                )
            # Outcomes of its own days: a period's start was verified on the pause's statement.
            own = earlier.quantities if earlier is not None else usage[id(boundary)]
            statement = _statement(boundary, own, baselines, now)
            if statement is not None:
                boundary.statement = statement
                statements.append(statement)
                statement_lines += statement.new_lines
        boundary.lines += extras.pop(sub.pk, [])
    # A boundary with nothing on it (no fee, no charges, no statement) needs no invoice.
    boundaries = [b for b in boundaries if b.lines or b.statement]
    insert_objects(statements)
    for boundary in boundaries:
        if boundary.statement:
            boundary.invoice.statement = boundary.statement
            for line in boundary.statement.new_lines:
                line.statement = boundary.statement
    insert_objects(statement_lines)
    PendingItem.objects.filter(
        subscription_id__any=[s.pk for s in closing], invoiced_at__isnull=True
    ).update(invoiced_at=now)
    _save(subs, before, events, now)
    for boundary in boundaries:  # a draft shows what it adds up to so far
        boundary.invoice.total = sum((line.amount for line in boundary.lines), Decimal(0))
    ready = [b.invoice for b in boundaries if b.statement is None]
    # Numbering comes last: it locks the issuers' sequences until this chunk commits, so chunks
    # closed side by side (period_close's workers) wait for each other only from here on.
    invoicing.invoices_number(invoices=ready, now=now)
    invoices = insert_objects([b.invoice for b in boundaries])
    insert_rows(
        InvoiceLine,
        ["invoice_id", *LINE_FIELDS],
        [(b.invoice.pk, *line) for b in boundaries for line in b.lines],
    )
    invoicing.invoices_record_issue(invoices=ready)
    report.invoices_created += len(invoices)
    report.invoices_issued += len(ready)
    report.statements_opened += len(statements)


# What _plan changes on a subscription.
PLANNED = ("status", "current_period_start", "current_period_end", "ended_at", "closed_through")
# The columns a chunk reads, of its subscriptions and their buyers (the buyer's time zone sets
# the periods and due dates): loading every column was a tenth of the close's Python.
LOADED = (
    *PLANNED,
    "paused_at",
    "buyer__time_zone",
    "plan_version_id",
    "started_at",
    "period_anchor",
    "cancel_at_period_end",
)


def _state(sub: Subscription) -> tuple:
    return tuple(getattr(sub, name) for name in PLANNED)


def _save(subs: list[Subscription], before: dict[int, tuple], events: list[tuple], now) -> None:
    """Write back the subscriptions _plan moved on (only those), and their history (rows of
    subscription id, action, data and time)."""
    changed = [sub for sub in subs if _state(sub) != before[sub.pk]]
    for sub in changed:
        sub.updated_at = now
    update_rows(Subscription, changed, [*PLANNED, "updated_at"])
    insert_rows(SubscriptionEvent, ["subscription_id", "action", "data", "created_at"], events)


def _from(boundary: _Boundary) -> datetime:
    """Where the usage a boundary is rated on begins."""
    return boundary.period_start or boundary.start


class _Before(NamedTuple):
    quantities: dict[str, Decimal]  # metric code -> usage of the boundary itself
    charged: dict[int, Decimal]  # metric id -> charged for the period's start already


def _continued(boundaries: list[_Boundary], metrics) -> dict[int, _Before]:
    """For boundaries that end a period whose start a pause already invoiced: their own usage,
    and what the period's start was charged per metric (its metered lines and adjustments).

    Such a boundary is rated on the period whole, less what was charged, so included units and
    tiers count once a period, however many invoices it takes; as _late_adjustments does.
    Pauses are rare: a query or two per boundary.
    """
    found = {}
    if not boundaries:
        return found
    own = selectors.usage_totals_many(
        [selectors.UsageWindow(b.subscription, b.start, b.end) for b in boundaries], metrics
    )
    for boundary, quantities in zip(boundaries, own, strict=True):
        charged = (
            InvoiceLine.objects.filter(
                invoice__subscription=boundary.subscription,
                invoice__period_start__gte=_from(boundary),
                invoice__period_end__lte=boundary.start,
                kind__in=[InvoiceLine.Kind.METERED, InvoiceLine.Kind.ADJUSTMENT],
                metric__isnull=False,
            )
            .exclude(invoice__status=Invoice.Status.VOID)
            .values("metric_id")
            .annotate(total=Sum("amount"))
        )
        found[id(boundary)] = _Before(
            quantities,
            {row["metric_id"]: Decimal(str(row["total"])) for row in charged},  # SQLite: floats
        )
    return found


def _baselines(subs: list[Subscription]) -> dict[tuple[int, int], list[Baseline]]:
    """Agreed baselines per (subscription, metric), oldest version first."""
    found: dict[tuple[int, int], list[Baseline]] = defaultdict(list)
    for baseline in Baseline.objects.filter(
        subscription_id__any=[s.pk for s in subs], agreed_at__isnull=False
    ).order_by("number"):
        found[(baseline.subscription_id, baseline.metric_id)].append(baseline)
    return found


def _statement(boundary: _Boundary, usage, baselines, now) -> OutcomeStatement | None:
    """The outcome statement of a closed period, with its lines (not saved), or None."""
    sub = boundary.subscription
    charges = sub.plan_version.outcome_charge_list
    if not charges:
        return None
    days = max(charge.verification_window_days for charge in charges)
    statement = OutcomeStatement(
        subscription=sub,
        period_start=boundary.start,
        period_end=boundary.end,
        window_ends_at=boundary.end + timedelta(days=days),
        created_at=now,
    )
    statement.new_lines = []
    notes = []
    for charge in charges:
        agreed = baselines.get((sub.pk, charge.metric_id), [])
        baseline = selectors.baseline_for(agreed, boundary.start)
        value = baseline.value if baseline else None
        if rating.needs_baseline(charge, value):
            notes.append(
                _("%(metric)s: no baseline was agreed before this period, so nothing is charged.")
                % {"metric": charge.metric.name}
            )
            continue
        measured = usage.get(charge.metric.code, Decimal(0))
        claim = rating.outcome_line(
            charge, measured, baseline=value, currency=sub.plan_version.currency
        )
        statement.new_lines.append(
            OutcomeLine(
                charge=charge,
                metric=charge.metric,
                measured=measured,
                baseline=baseline,
                baseline_value=value,
                claimed_amount=claim.amount.amount,
            )
        )
    statement.notes = "\n".join(notes)
    return statement if statement.new_lines else None


def _pending_lines(subs: list[Subscription], now: datetime) -> dict[int, list[_Line]]:
    lines: dict[int, list[_Line]] = defaultdict(list)
    for item in PendingItem.objects.filter(
        subscription_id__any=[s.pk for s in subs], invoiced_at__isnull=True
    ):
        lines[item.subscription_id].append(
            _Line(
                kind=item.kind,
                description=item.description,
                amount=round_minor(item.amount, item.currency),
                pending_item_id=item.pk,
            )
        )
    return lines


def _late_adjustments(
    subs: list[Subscription],
    metrics,
    versions: dict[int, PlanVersion],
    closed_before: dict[int, datetime | None],
) -> dict[int, list[_Line]]:
    """Adjustments for usage that arrived after its period was invoiced.

    The period is rated again with every event it now has, and the difference from what its
    invoices already charged (per metric, adjustments included) becomes a line. Rating the
    whole period again, rather than pricing the late events alone, keeps tiers right.
    """
    # Measured from where the last close left each subscription, not from now: the next close
    # of a monthly plan comes a month after the late events arrived (a year for a yearly one).
    since = [closed_before[sub.pk] for sub in subs if closed_before[sub.pk] is not None]
    if not since:
        return {}
    late = (
        UsageEvent.objects.filter(
            subscription_id__any=[s.pk for s in subs],
            late=True,
            occurred_at__gte=min(since) - LATE_HORIZON,
        )
        .values("subscription_id")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
    )
    by_id = {sub.pk: sub for sub in subs}
    adjustments: dict[int, list[_Line]] = defaultdict(list)
    for row in late:
        sub = by_id[row["subscription_id"]]
        earlier = list(
            Invoice.objects.filter(
                subscription=sub,
                period_start__lt=F("period_end"),
                period_end__gt=row["first"],
                period_start__lte=row["last"],
            )
            .exclude(status=Invoice.Status.VOID)
            .order_by("period_end")
        )
        if not earlier:
            continue
        missing = {i.plan_version_id for i in earlier} - versions.keys()
        versions.update(_versions(missing))
        windows = [selectors.UsageWindow(sub, i.period_start, i.period_end) for i in earlier]
        totals = selectors.usage_totals_many(windows, metrics)
        billed = {
            (row["period_start"], row["metric_id"]): Decimal(str(row["total"]))
            for row in InvoiceLine.objects.filter(
                invoice__subscription=sub,
                kind__in=[InvoiceLine.Kind.METERED, InvoiceLine.Kind.ADJUSTMENT],
                metric__isnull=False,
            )
            .exclude(invoice__status=Invoice.Status.VOID)
            .values("period_start", "metric_id")
            .annotate(total=Sum("amount"))
        }
        for invoice, usage in zip(earlier, totals, strict=True):
            version = versions[invoice.plan_version_id]
            codes = {m.code: m for m in metrics[version.plan.listing_id]}
            for line in rating.metered_lines(version, usage):
                metric = codes[line.metric]
                before = round_minor(
                    billed.get((invoice.period_start, metric.pk), Decimal(0)), version.currency
                )
                difference = line.amount.amount - before
                if difference:
                    adjustments[sub.pk].append(
                        _Line(
                            kind=InvoiceLine.Kind.ADJUSTMENT,
                            description=_("%(metric)s, late usage") % {"metric": line.description},
                            metric_id=metric.pk,
                            quantity=line.quantity,
                            amount=difference,
                            period_start=invoice.period_start,
                            period_end=invoice.period_end,
                            adjusts_id=invoice.pk,
                        )
                    )
    return adjustments
