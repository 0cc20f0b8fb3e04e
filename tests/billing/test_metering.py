"""Metering: usage per metric and period, in SQL, whatever order or batching events came in."""

import itertools
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors
from billing.models import Metric, UsageEvent
from billing.services.telemetry import usage_ingest_batch

NOW = timezone.now().replace(microsecond=0)
START = NOW - timedelta(days=3)
END = NOW + timedelta(minutes=1)


@pytest.fixture
def key(issued):
    return selectors.installation_key_for(issued.key)


def ingest(key, events):
    return usage_ingest_batch(key=key, body=json.dumps({"events": events}).encode(), now=NOW)


def reading(n: int, metric: str, value: str, minutes: int) -> dict:
    at = START + timedelta(minutes=minutes)
    return {"id": f"{metric}-{n}", "metric": metric, "value": value, "timestamp": at.isoformat()}


def expected(events: list[dict]) -> dict[str, Decimal]:
    """The obvious computation: sums of amounts; increases of running totals, in time order."""
    totals = {"inspections": Decimal(0), "kwh": Decimal(0), "defects": Decimal(0)}
    for e in events:
        if e["metric"] != "kwh":
            totals[e["metric"]] += Decimal(e["value"])
    counter = sorted(
        (e for e in events if e["metric"] == "kwh"), key=lambda e: (e["timestamp"], e["id"])
    )
    for before, after in itertools.pairwise(counter):
        a, b = Decimal(before["value"]), Decimal(after["value"])
        totals["kwh"] += b - a if b >= a else b
    return totals


def test_sums_and_running_totals_with_a_reset(key, subscription):
    ingest(
        key,
        [
            reading(1, "inspections", "120", 5),
            reading(2, "inspections", "80.5", 50),
            reading(1, "kwh", "1000", 0),  # the baseline reading
            reading(2, "kwh", "1250.5", 60),
            reading(3, "kwh", "30", 120),  # the meter restarted at zero
            reading(4, "kwh", "45", 180),
        ],
    )
    totals = selectors.usage_totals(subscription, START, END)
    assert totals == {
        "inspections": Decimal("200.5"),
        "kwh": Decimal("250.5") + Decimal("30") + Decimal("15"),
        "defects": Decimal(0),
    }


def test_the_reading_before_the_period_is_the_baseline(key, subscription):
    ingest(key, [reading(1, "kwh", "500", 0), reading(2, "kwh", "520", 100)])
    later = START + timedelta(minutes=50)
    assert selectors.usage_totals(subscription, later, END)["kwh"] == Decimal(20)


@pytest.mark.parametrize(
    ("aggregation", "unique_property", "total"),
    [
        ("sum", "", Decimal("13")),
        ("count", "", Decimal(4)),
        ("max", "", Decimal("7")),
        ("unique", "", Decimal(3)),
        ("unique", "line", Decimal(2)),
        ("latest", "", Decimal("2")),
    ],
)
def test_aggregations(key, subscription, metrics, aggregation, unique_property, total):
    metric = metrics["inspections"]
    metric.aggregation = aggregation
    metric.unique_property = unique_property
    metric.save()
    events = [
        reading(1, "inspections", "3", 1),
        reading(2, "inspections", "7", 2),
        reading(3, "inspections", "1", 3),
        reading(4, "inspections", "2", 4),
    ]
    for e, line in zip(events, ["a", "b", "a", "b"], strict=True):
        e["properties"] = {"line": line}
    events[2]["value"] = "3"  # two equal values: 3 unique values
    events[1]["value"], events[3]["value"] = "7", "2"
    if aggregation == "sum":
        events[2]["value"] = "1"
        events[0]["value"] = "3"
    ingest(key, events)
    assert selectors.usage_totals(subscription, START, END)["inspections"] == total


def test_usage_by_day_in_the_buyers_time_zone(key, subscription):
    # 23:30 and 00:30 in Shanghai fall on two local days.
    local = datetime(2026, 11, 20, 23, 30, tzinfo=timezone.get_fixed_timezone(8 * 60))
    events = [
        {"id": "a", "metric": "inspections", "value": "5", "timestamp": local.isoformat()},
        {
            "id": "b",
            "metric": "inspections",
            "value": "7",
            "timestamp": (local + timedelta(hours=1)).isoformat(),
        },
    ]
    body = json.dumps({"events": events}).encode()
    usage_ingest_batch(key=key, body=body, now=local + timedelta(hours=2))
    daily = {
        d.metric.code: d.days
        for d in selectors.usage_by_day(
            subscription, local - timedelta(days=1), local + timedelta(days=1)
        )
    }
    assert [(day.isoformat(), total) for day, total in daily["inspections"]] == [
        ("2026-11-20", Decimal(5)),
        ("2026-11-21", Decimal(7)),
    ]


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["inspections", "kwh", "defects"]),
        st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False),
        st.integers(min_value=0, max_value=3 * 24 * 60 - 1),
    ),
    min_size=1,
    max_size=40,
).map(lambda rows: [reading(n, m, str(v), at) for n, (m, v, at) in enumerate(rows)])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=EVENTS, data=st.data())
def test_batching_duplicating_and_reordering_never_change_usage(key, subscription, events, data):
    UsageEvent.objects.all().delete()
    shuffled = data.draw(st.permutations(events))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(events), max_size=10))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(repeated)), max_size=5)))
    batches = [repeated[a:b] for a, b in zip([0, *cuts], [*cuts, len(repeated)], strict=True)]
    for batch in batches:
        if batch:
            assert ingest(key, batch).rejected == []
    assert UsageEvent.objects.count() == len(events)
    assert selectors.usage_totals(subscription, START, END) == expected(events)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(
        st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False), max_size=30
    )
)
def test_counter_resets_never_make_usage_negative(key, subscription, values):
    UsageEvent.objects.all().delete()
    if values:
        ingest(key, [reading(n, "kwh", str(v), n * 30) for n, v in enumerate(values)])
    assert selectors.usage_totals(subscription, START, END)["kwh"] >= 0
    for daily in selectors.usage_by_day(subscription, START, END):
        assert all(total >= 0 for _day, total in daily.days)


def test_metrics_without_events_meter_zero(subscription, metrics):
    assert selectors.usage_totals(subscription, START, END) == {
        code: Decimal(0) for code in metrics
    }
    assert Metric.objects.count() == 3
