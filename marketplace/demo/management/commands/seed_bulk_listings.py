from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.demo.bulk import refresh_statistics, seed_bulk_listings


class Command(BaseCommand):
    help = "Add COUNT published listings of a bulk vendor (for benchmarks). Not for production."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=10_000)

    def handle(self, *args, count: int, **options):
        if settings.PRECIS_ENVIRONMENT == "production":
            raise CommandError("seed_bulk_listings refuses to run under production settings.")
        created = seed_bulk_listings(count)
        refresh_statistics()
        self.stdout.write(self.style.SUCCESS(f"{created} listings added."))
