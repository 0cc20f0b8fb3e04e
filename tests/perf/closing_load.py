"""The period-close benchmark's other process: load a month of a marketplace, then close it.

Run as `python -m tests.perf.closing_load load|close|explain` with DATABASE_URL naming a
migrated PostgreSQL database (tests/perf/test_bench_close.py does). The benchmark process
itself cannot reach that database through Django (pytest-django guards it), so the load and the
close run here and print what they measured as one JSON line.

`load`: four vendors with two listings each (three metrics a listing: inspections summed, kWh
summed, alerts counted), two plans a listing (a monthly fee with graduated inspections and
per-unit kWh; a smaller fee with per-unit inspections over an allowance), a few rows through the
ORM; then buyers, subscriptions, installations and usage events with INSERT ... SELECT over
generate_series. Every subscription is active, anchored on a day of October in its buyer's time
zone, its opening fee already invoiced, and its first period ended before CLOSE_AT; each
installation pushes its events over that period in 25 batches, which reach the table
interleaved with everybody else's, as telemetry arrives. The usage table's indexes are
dropped for the load and built again from their own definitions, then VACUUM ANALYZE.

`close`: period_close(now=CLOSE_AT), timed, with the SQL statements it sent and the time the
database took, per kind of statement (an execute wrapper); with --profile, cProfile's top
functions too. To profile by hand: create a database, `manage.py migrate`, then `load` and
`close --profile` with DATABASE_URL set (the load takes about 80 s on 2 cores).

`explain`: EXPLAIN (ANALYZE, BUFFERS) of one chunk's usage query, as the close sends it.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

CLOSE_AT = datetime(2026, 11, 29, tzinfo=UTC)
VENDORS = 4
LISTINGS_PER_VENDOR = 2
BUYERS = 2_000
TIME_ZONES = ("Asia/Shanghai", "Asia/Shanghai", "Europe/Berlin", "America/New_York")
USAGE_TABLE = "billing_usageevent"
PUSHES = 25  # batches of telemetry an installation pushes in a month
SCATTER = 7919  # a prime: (place * SCATTER) mod subscriptions visits every subscription once


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.dev")
    import django

    django.setup()


def _copy_sql(model, *, source: str, overrides: dict[str, str]) -> str:
    """INSERT ... SELECT of `model` rows: every column from the template row `t` (so the ORM's
    defaults hold), except the columns in `overrides`, computed in SQL; `source` is the FROM."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    return (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {values} FROM {source}"
    )


def _catalog():
    """Vendors, listings, metrics, plans and charges: a few rows, through the ORM."""
    from billing.models import MeteredCharge, Metric, Plan, PlanVersion, PriceTier
    from marketplace.accounts.models import Organization
    from marketplace.catalog.models import Listing

    now = datetime(2026, 9, 1, tzinfo=UTC)
    versions = []
    for v in range(VENDORS):
        vendor = Organization.objects.create(
            name=f"Bench Vendor {v}", slug=f"bench-vendor-{v}", is_vendor=True, is_buyer=False
        )
        for n in range(LISTINGS_PER_VENDOR):
            listing = Listing.objects.create(
                vendor=vendor,
                slug=f"bench-vendor-{v}-listing-{n}",
                name=f"Bench Monitor {v}-{n}",
                tagline="Counts inspections and energy",
                status=Listing.Status.PUBLISHED,
                published_at=now,
            )
            inspections, kwh, _alerts = (
                Metric.objects.create(
                    listing=listing, code=code, name=code.title(), unit=code, aggregation=how
                )
                for code, how in (("inspections", "sum"), ("kwh", "sum"), ("alerts", "count"))
            )
            standard = PlanVersion.objects.create(
                plan=Plan.objects.create(listing=listing, name="Standard", is_published=True),
                number=1,
                recurring_amount=Decimal("499.00"),
            )
            graduated = MeteredCharge.objects.create(
                version=standard, metric=inspections, model=MeteredCharge.Model.GRADUATED
            )
            for up_to, price in ((1000, "0"), (10_000, "0.0125"), (None, "0.00875")):
                PriceTier.objects.create(charge=graduated, up_to=up_to, unit_price=Decimal(price))
            MeteredCharge.objects.create(version=standard, metric=kwh, unit_price=Decimal("0.0815"))
            lite = PlanVersion.objects.create(
                plan=Plan.objects.create(listing=listing, name="Lite", is_published=True),
                number=1,
                recurring_amount=Decimal("99.00"),
            )
            MeteredCharge.objects.create(
                version=lite,
                metric=inspections,
                unit_price=Decimal("0.02"),
                included_units=Decimal(500),
            )
            versions += [standard, lite]
    return versions


def load(subscriptions: int, events: int) -> dict:
    """Load the data set (see the module docstring); returns seconds per step."""
    from django.db import connection, transaction

    from billing.models import Installation, Subscription, UsageEvent
    from marketplace.accounts.models import Organization

    steps = {}
    started = time.perf_counter()
    with transaction.atomic():
        versions = _catalog()
        template_buyer = Organization.objects.create(name="Bench Buyer", slug="bench-buyer")
        template_sub = Subscription.objects.create(
            buyer=template_buyer,
            plan_version=versions[0],
            status=Subscription.Status.ACTIVE,
            current_period_start=CLOSE_AT,
            current_period_end=CLOSE_AT,
        )
        template_installation = Installation.objects.create(subscription=template_sub, name="Plant")
        zones = "ARRAY[" + ", ".join(f"'{zone}'" for zone in TIME_ZONES) + "]"
        with connection.cursor() as cursor:
            cursor.execute(
                _copy_sql(
                    Organization,
                    source="accounts_organization t, generate_series(0, %s) g",
                    overrides={
                        "name": "'Bench Plant ' || g",
                        "slug": "'bench-plant-' || g",
                        "time_zone": f"({zones})[1 + g %% {len(TIME_ZONES)}]",
                    },
                )
                + " WHERE t.id = %s",
                [BUYERS - 1, template_buyer.pk],
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_buyer AS SELECT row_number() OVER (ORDER BY id) - 1 "
                "AS k, id, time_zone FROM accounts_organization WHERE slug LIKE 'bench-plant-%'"
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_version AS SELECT row_number() OVER (ORDER BY v.id) - 1 "
                "AS k, v.id, p.listing_id FROM billing_planversion v "
                "JOIN billing_plan p ON p.id = v.plan_id WHERE v.id = ANY(%s)",
                [[version.pk for version in versions]],
            )
            # Subscription g: buyer g mod BUYERS, one of the 16 plan versions (a buyer's five
            # differ), anchored on the (g mod 28)+1st of October at local midnight; its October
            # is invoiced, November now due.
            local_day = "(date '2026-10-01' + (g %% 28))"
            start = f"({local_day}::timestamp AT TIME ZONE b.time_zone)"
            end = f"(({local_day} + interval '1 month')::timestamp AT TIME ZONE b.time_zone)"
            cursor.execute(
                _copy_sql(
                    Subscription,
                    source="billing_subscription t, generate_series(0, %s) g "
                    f"JOIN bench_buyer b ON b.k = g %% {BUYERS} "
                    f"JOIN bench_version v ON v.k = (g + g / {BUYERS}) %% {len(versions)}",
                    overrides={
                        "buyer_id": "b.id",
                        "plan_version_id": "v.id",
                        "started_at": f"{start} - interval '1 month'",
                        "current_period_start": start,
                        "current_period_end": end,
                        "period_anchor": local_day,
                        "closed_through": start,
                        "created_at": f"{start} - interval '1 month'",
                        "updated_at": f"{start} - interval '1 month'",
                    },
                )
                + " WHERE t.id = %s",
                [subscriptions - 1, template_sub.pk],
            )
            cursor.execute(
                "DELETE FROM billing_installation WHERE id = %s", [template_installation.pk]
            )
            cursor.execute("DELETE FROM billing_subscription WHERE id = %s", [template_sub.pk])
            cursor.execute("DELETE FROM accounts_organization WHERE id = %s", [template_buyer.pk])
            cursor.execute(
                _copy_sql(
                    Installation,
                    source="billing_subscription s",
                    overrides={
                        "subscription_id": "s.id",
                        "name": "'Plant 1'",
                        "kind": "'plant'",
                        "created_at": "s.started_at",
                    },
                )
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_sub AS SELECT row_number() OVER (ORDER BY s.id) - 1 AS k, "
                "s.id, i.id AS installation_id, s.current_period_start AS period_start, "
                "s.current_period_end - s.current_period_start AS period_length, "
                "v.listing_id FROM billing_subscription s "
                "JOIN billing_installation i ON i.subscription_id = s.id "
                "JOIN billing_planversion pv ON pv.id = s.plan_version_id "
                "JOIN billing_plan v ON v.id = pv.plan_id"
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_metric AS SELECT listing_id, "
                "CASE code WHEN 'inspections' THEN 0 WHEN 'kwh' THEN 1 ELSE 2 END AS k, "
                "id AS metric_id FROM billing_metric"
            )
            cursor.execute("ANALYZE bench_sub")
            cursor.execute("ANALYZE bench_metric")
    steps["catalog, buyers, subscriptions"] = time.perf_counter() - started

    # The usage table: its indexes dropped for the load and built again as the migrations
    # define them (their definitions read back from the catalog).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [USAGE_TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = %s::regclass)",
            [USAGE_TABLE, USAGE_TABLE],
        )
        indexes = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {USAGE_TABLE} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')

        started = time.perf_counter()
        per_subscription = events // subscriptions
        size = per_subscription // PUSHES
        # Each installation pushes its month in PUSHES batches of `size` events: the table
        # fills in rounds, each with a batch of every installation (in a scattered order of
        # subscriptions), so a subscription's month lies in PUSHES runs across the table. Event
        # g is the e-th of batch b of the installation in place j of its round; n numbers the
        # subscription's events. What each subscription needs comes in arrays indexed by i, so
        # the rows are made in order, with no join.
        cursor.execute(
            "SELECT s.installation_id, s.id, s.period_start, s.period_length, "
            "m0.metric_id, m1.metric_id, m2.metric_id FROM bench_sub s "
            "JOIN bench_metric m0 ON m0.listing_id = s.listing_id AND m0.k = 0 "
            "JOIN bench_metric m1 ON m1.listing_id = s.listing_id AND m1.k = 1 "
            "JOIN bench_metric m2 ON m2.listing_id = s.listing_id AND m2.k = 2 ORDER BY s.k"
        )
        arrays = [list(column) for column in zip(*cursor.fetchall(), strict=True)]
        types = ["bigint", "bigint", "timestamptz", "interval", "bigint", "bigint", "bigint"]
        names = ["inst", "sub", "start", "length", "m0", "m1", "m2"]
        at = {name: f"(%s::{kind}[])[x.i]" for name, kind in zip(names, types, strict=True)}
        occurred = f"{at['start']} + {at['length']} * ((x.n + 0.5) / {per_subscription})::float8"
        metric = f"CASE x.n %% 3 WHEN 0 THEN {at['m0']} WHEN 1 THEN {at['m1']} ELSE {at['m2']} END"
        value = (
            "CASE x.n %% 3 WHEN 0 THEN ((g * 7919) %% 50 + 1)::numeric "
            "WHEN 1 THEN ((g * 104729) %% 10000)::numeric / 1000 ELSE 1 END"
        )
        expressions = {
            "installation_id": (at["inst"], ["inst"]),
            "subscription_id": (at["sub"], ["sub"]),
            "metric_id": (metric, ["m0", "m1", "m2"]),
            "client_id": ("'e' || x.n", []),
            "value": (value, []),
            "occurred_at": (occurred, ["start", "length"]),
            "received_at": (f"{occurred} + interval '1 minute'", ["start", "length"]),
            "properties": ("'{}'::jsonb", []),
            "content_hash": ("md5(g::text)", []),
            "flagged": ("false", []),
            "late": ("false", []),
        }
        columns = [f.column for f in UsageEvent._meta.concrete_fields if not f.primary_key]
        by_name = dict(zip(names, arrays, strict=True))
        params = [by_name[name] for column in columns for name in expressions[column][1]]
        cursor.execute(
            f"INSERT INTO {USAGE_TABLE} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(expressions[column][0] for column in columns)} "
            "FROM generate_series(0::bigint, %s) g "
            f"CROSS JOIN LATERAL (SELECT g / {size * subscriptions} AS b, "
            f"(g / {size}) %% {subscriptions} AS j, g %% {size} AS e) p "
            f"CROSS JOIN LATERAL (SELECT p.b * {size} + p.e AS n, "
            f"1 + (p.j * {SCATTER}) %% {subscriptions} AS i) x",
            [*params, size * PUSHES * subscriptions - 1],
        )
        steps["usage events"] = time.perf_counter() - started

        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {USAGE_TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cursor.execute(definition)
        steps["indexes"] = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    steps["vacuum analyze"] = time.perf_counter() - started
    return {"steps": steps}


def _statement_kind(sql: str) -> str:
    """What a statement is, for the figures: "INSERT billing_invoice", "usage totals", ..."""
    if sql.startswith("WITH w (k, sub, s, e, listing)"):
        return "usage totals"
    if sql.lstrip().startswith("WITH issued AS"):
        return "ledger of the issue"
    verb = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:INTO|UPDATE|FROM)\s+"?(\w+)', sql, re.IGNORECASE)
    return f"{verb} {table.group(1)}" if table and verb != "SAVEPOINT" else verb


def close(*, profile: bool, workers: int = 1) -> dict:
    """period_close(now=CLOSE_AT), timed; statements and database time counted (those of the
    parent process only when `workers` close the chunks)."""
    from django.db import connection

    from billing import bulk
    from billing.models import Invoice
    from billing.services.closing import period_close

    statements: Counter = Counter()
    seconds_by_kind: Counter = Counter()

    def count(execute, sql, params, many, context):
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = _statement_kind(sql)
            seconds_by_kind[kind] += time.perf_counter() - begun
            statements[kind] += 1

    copy = bulk._copy  # rows written by COPY do not pass the execute wrapper: timed here

    def copy_counted(cursor, table, columns, rows):
        begun = time.perf_counter()
        try:
            return copy(cursor, table, columns, rows)
        finally:
            kind = f"COPY {table.strip(chr(34))}"
            seconds_by_kind[kind] += time.perf_counter() - begun
            statements[kind] += 1

    bulk._copy = copy_counted
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = period_close(now=CLOSE_AT, workers=workers)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "database_seconds": sum(seconds_by_kind.values()),
        "statements": dict(statements),
        "database_seconds_by_statement": {
            kind: round(spent, 3) for kind, spent in seconds_by_kind.most_common()
        },
        "invoices": Invoice.objects.count(),
        "report": vars(report),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(
            os.environ.get("PROFILE_SORT", "cumulative")
        ).print_stats(45)
        result["profile"] = out.getvalue()
    return result


def explain() -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the first chunk's usage query, as the close sends it."""
    from django.db import connection, transaction

    from billing import selectors
    from billing.models import Metric, Subscription
    from billing.services.closing import CHUNK_SIZE

    subs = list(
        Subscription.objects.select_related("plan_version__plan").order_by("pk")[:CHUNK_SIZE]
    )
    metrics: dict[int, list] = {}
    for metric in Metric.objects.all():
        metrics.setdefault(metric.listing_id, []).append(metric)
    captured = []

    def keep(execute, sql, params, many, context):
        if "WITH w (k, sub, s, e, listing)" in sql:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    # Windows of the period the close rates (each subscription's current period, as loaded).
    windows = [
        selectors.UsageWindow(sub, sub.current_period_start, sub.current_period_end) for sub in subs
    ]
    with connection.execute_wrapper(keep):
        selectors.usage_totals_many(windows, metrics)
    sql, params = captured[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {"plan": plan}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.closing_load")
    parser.add_argument("step", choices=["load", "close", "explain"])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    _setup()
    if args.step == "load":
        result = load(args.subscriptions, args.events)
    elif args.step == "close":
        result = close(profile=args.profile, workers=args.workers)
    else:
        result = explain()
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
