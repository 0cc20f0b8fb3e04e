"""`python manage.py prepare_payouts [--month YYYY-MM]`: draft the payouts of a month (UTC) of
paid invoices, as Celery beat does on the first of each month for the month before."""

from argparse import ArgumentTypeError
from datetime import date, datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from billing.services.payouts import payouts_prepare, previous_month


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError as error:
        raise ArgumentTypeError(f"{text!r} is not a month such as 2026-10") from error


class Command(BaseCommand):
    help = (
        "Prepare draft payouts of the invoices paid in a month (UTC), one per vendor and "
        "currency. Invoices already paid out are left alone, so running it again is harmless."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--month", type=_month, help="YYYY-MM (UTC); default: the previous month."
        )

    def handle(self, *args, month=None, **options):
        now = timezone.now()
        month = month or previous_month(now)
        payouts = payouts_prepare(month=month, now=now)
        label = month.strftime("%Y-%m")
        for payout in payouts:
            self.stdout.write(
                f"Payout {payout.pk} to {payout.vendor.name} ({payout.vendor.slug}): "
                f"{payout.invoice_count} invoices, gross {payout.gross} - fees {payout.fees} "
                f"- credits {payout.credits} = {payout.amount} {payout.currency}"
            )
        self.stdout.write(f"Prepared {len(payouts)} payouts for {label}.")
