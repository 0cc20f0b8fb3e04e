"""`python manage.py close_period [--as-of RFC3339] [--chunk-size N] [--workers N]`: the period
close, as Celery beat runs it."""

from argparse import ArgumentTypeError
from datetime import datetime

from django.core.management.base import BaseCommand

from billing.services.closing import CHUNK_SIZE, period_close


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ArgumentTypeError(f"{text!r} is not an RFC 3339 timestamp: {error}") from error
    if instant.tzinfo is None:
        raise ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-12-01T00:00:00+08:00")
    return instant


def _positive(text: str) -> int:
    number = int(text) if text.isdigit() else 0
    if number < 1:
        raise ArgumentTypeError(f"{text!r} is not a positive whole number")
    return number


class Command(BaseCommand):
    help = (
        "End due trials, invoice the billing periods that ended, open outcome statements and "
        "settle those whose window ended. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=_instant,
            help="Close what is due at this instant (RFC 3339, with offset); default: now.",
        )
        parser.add_argument(
            "--chunk-size",
            type=_positive,
            default=CHUNK_SIZE,
            help=f"Subscriptions closed per database transaction (default {CHUNK_SIZE}).",
        )

        parser.add_argument(
            "--workers",
            type=_positive,
            default=1,
            help="Processes closing chunks side by side, on PostgreSQL (default 1).",
        )

    def handle(self, *args, as_of=None, chunk_size=CHUNK_SIZE, workers=1, **options):
        report = period_close(now=as_of, chunk_size=chunk_size, workers=workers)
        self.stdout.write(
            f"Trials ended: {report.trials_ended}; invoices created: {report.invoices_created}, "
            f"issued: {report.invoices_issued}; outcome statements opened: "
            f"{report.statements_opened}, settled: {report.statements_settled}."
        )
