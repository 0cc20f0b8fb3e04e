"""Billing periods, computed in the buyer's time zone.

A period starts and ends at local midnight: a monthly period that starts on 31 January ends at
the start of 28 (or 29) February, then the next runs to 31 March, always counted from the
anchor day, so short months do not shift later periods.
"""

import calendar
import functools
import zoneinfo
from datetime import date, datetime, time, timedelta

from billing.models import PlanVersion


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def local_date(instant: datetime, tz: zoneinfo.ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def day_ended_by(instant: datetime, tz: zoneinfo.ZoneInfo) -> date:
    """The local day that ends at `instant`. Deadlines (an invoice's due date) are stored as
    the local midnight that ends their last day, so the date of the instant is a day late."""
    return local_date(instant - timedelta(microseconds=1), tz)


def period_start(anchor: date, n: int, interval: str, tz: zoneinfo.ZoneInfo) -> datetime:
    months = n * (12 if interval == PlanVersion.Interval.YEAR else 1)
    return local_midnight(add_months(anchor, months), tz)


@functools.lru_cache(maxsize=4096)
def period_at(
    anchor: date, instant: datetime, interval: str, tz: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """The period [start, end) of a subscription anchored on `anchor` that contains `instant`.

    Remembered: the period close asks for the same few periods for thousands of subscriptions
    (anchored on the same day in the same time zone), and the answer depends on nothing else.
    """
    step = 12 if interval == PlanVersion.Interval.YEAR else 1
    here = local_date(instant, tz)
    n = ((here.year - anchor.year) * 12 + here.month - anchor.month) // step
    while period_start(anchor, n, interval, tz) > instant:
        n -= 1
    while period_start(anchor, n + 1, interval, tz) <= instant:
        n += 1
    return period_start(anchor, n, interval, tz), period_start(anchor, n + 1, interval, tz)


def trial_end(started_at: datetime, days: int, tz: zoneinfo.ZoneInfo) -> datetime:
    """A trial of N days runs N whole days after the day it starts: it ends at local midnight."""
    return local_midnight(local_date(started_at, tz) + timedelta(days=days + 1), tz)
