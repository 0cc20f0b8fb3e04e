"""Usage as bar charts drawn on the server (per day, or per billing period with the baseline an
outcome is measured against): plain SVG geometry, no script, no library.

The SVG is drawn in a viewBox of one SLOT per day (or period) and HEIGHT units tall and
stretched to the width of the page (preserveAspectRatio="none"); labels are HTML beside it, so
they keep their size on a phone. Geometry is computed with Decimals, as every number on these
pages is.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from billing.models import Metric

SLOT = 10  # viewBox units per day
BAR = Decimal(7)  # the bar's width inside its slot; the rest is the gap
HEIGHT = 100  # viewBox units from the baseline to the top of the scale
# Longer periods (a yearly subscription) show a month of days.
MAX_DAYS = 62
RECENT_DAYS = 31
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Bar:
    day: date
    value: Decimal | None  # None: a day still to come
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal


@dataclass(frozen=True)
class DailyChart:
    """A metric's usage per day over a window of days, with its scale."""

    metric: Metric
    bars: list[Bar]
    scale: Decimal  # the value at the top of the chart

    @property
    def width(self) -> int:
        return len(self.bars) * SLOT

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def half(self) -> Decimal:
        return self.scale / 2

    @property
    def first_day(self) -> date:
        return self.bars[0].day

    @property
    def last_day(self) -> date:
        return self.bars[-1].day

    @property
    def past(self) -> list[Bar]:
        """The days so far, for the table of the same numbers."""
        return [bar for bar in self.bars if bar.value is not None]

    @property
    def peak(self) -> Bar | None:
        return max(self.past, key=lambda bar: bar.value, default=None)

    @property
    def future_x(self) -> int | None:
        """Where the days still to come start (they are shaded), or None."""
        return next((n * SLOT for n, bar in enumerate(self.bars) if bar.value is None), None)

    @property
    def future_width(self) -> int:
        return self.width - (self.future_x or 0)

    @property
    def has_usage(self) -> bool:
        return any(bar.value for bar in self.past)


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value` (1 for 0)."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(1).scaleb(value.adjusted())
    step = next(step for step in NICE_STEPS if value <= step * magnitude)
    return (step * magnitude).normalize()


def window(first: date, last: date, today: date) -> tuple[date, date]:
    """The days to draw for a period running from `first` to `last` (both included)."""
    if (last - first).days + 1 <= MAX_DAYS:
        return first, last
    # A month up to today, or the period's first month (its days to come shaded).
    today = min(max(today, first), last)
    start = max(first, today - timedelta(days=RECENT_DAYS - 1))
    return start, min(last, start + timedelta(days=RECENT_DAYS - 1))


def _units(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


def daily_chart(
    metric: Metric, values: list[tuple[date, Decimal]], *, first: date, last: date, today: date
) -> DailyChart:
    """Bars for each day from `first` to `last`; days after `today` have none yet."""
    by_day = dict(values)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    past = [by_day.get(day, Decimal(0)) for day in days if day <= today]
    scale = nice_ceiling(max(past, default=Decimal(0)))
    bars = []
    for n, day in enumerate(days):
        value = by_day.get(day, Decimal(0)) if day <= today else None
        height = _units(max(value, Decimal(0)) * HEIGHT / scale) if value is not None else 0
        bars.append(
            Bar(
                day=day,
                value=value,
                x=_units(Decimal(n * SLOT) + (SLOT - BAR) / 2),
                y=_units(HEIGHT - Decimal(height)),
                width=BAR,
                height=Decimal(height),
            )
        )
    return DailyChart(metric=metric, bars=bars, scale=scale)


# --- Per period --------------------------------------------------------------------------------

# The periods a period chart shows at most (the newest).
MAX_PERIODS = 12


@dataclass(frozen=True)
class PeriodBar:
    """One billing period: its measured total and, for an outcome, the baseline it is held to."""

    first: date  # the period's first day
    last: date  # its last day
    value: Decimal
    baseline: Decimal | None
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    baseline_y: Decimal | None  # where the baseline's mark is drawn across the slot
    slot_x: int  # where the period's slot starts
    slot_end: int


@dataclass(frozen=True)
class PeriodChart:
    """A metric's total per billing period, oldest first, with its scale (and baselines)."""

    metric: Metric
    bars: list[PeriodBar]
    scale: Decimal

    @property
    def width(self) -> int:
        return len(self.bars) * SLOT

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def half(self) -> Decimal:
        return self.scale / 2

    @property
    def has_values(self) -> bool:
        return any(bar.value for bar in self.bars)

    @property
    def has_baseline(self) -> bool:
        return any(bar.baseline is not None for bar in self.bars)


def period_chart(
    metric: Metric, periods: list[tuple[date, date, Decimal, Decimal | None]]
) -> PeriodChart:
    """Bars for (first day, last day, total, baseline or None) per period, the newest
    MAX_PERIODS; the scale holds the highest total or baseline."""
    periods = sorted(periods, key=lambda period: period[0])[-MAX_PERIODS:]
    highest = [value for _first, _last, value, _base in periods] + [
        base for *_days, base in periods if base is not None
    ]
    scale = nice_ceiling(max(highest, default=Decimal(0)))
    bars = []
    for n, (first, last, value, baseline) in enumerate(periods):
        height = _units(max(value, Decimal(0)) * HEIGHT / scale)
        bars.append(
            PeriodBar(
                first=first,
                last=last,
                value=value,
                baseline=baseline,
                x=_units(Decimal(n * SLOT) + (SLOT - BAR) / 2),
                y=_units(HEIGHT - height),
                width=BAR,
                height=height,
                baseline_y=(
                    _units(HEIGHT - max(baseline, Decimal(0)) * HEIGHT / scale)
                    if baseline is not None
                    else None
                ),
                slot_x=n * SLOT,
                slot_end=(n + 1) * SLOT,
            )
        )
    return PeriodChart(metric=metric, bars=bars, scale=scale)
