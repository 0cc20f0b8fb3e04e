"""`python manage.py stripe_reconcile [--days N]`: what Precis and Stripe disagree on."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.gateway import PaymentError
from billing.services.reconcile import RECONCILE_DAYS, stripe_reconcile


class Command(BaseCommand):
    help = (
        "Compare the card payments of the last days, and the invoices paid by card, with "
        "Stripe's PaymentIntents; print each difference on one line and a summary. Changes "
        "nothing, and exits 0 whether or not something differs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=RECONCILE_DAYS,
            help=f"How many days back to look (default {RECONCILE_DAYS}).",
        )

    def handle(self, *args, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        now = timezone.now()
        try:
            report = stripe_reconcile(since=now - timedelta(days=days), now=now)
        except PaymentError as error:  # Stripe unreachable or refusing: not a clean report
            raise CommandError(f"Stripe could not be asked: {error.message}") from error
        for difference in report.differences:
            self.stdout.write(str(difference))
        self.stdout.write(report.summary)
