from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.demo.bulk import seed_bench_installation


class Command(BaseCommand):
    help = (
        "Create a subscribed installation with metrics and print its API key "
        "(for telemetry benchmarks). Not for production."
    )

    def handle(self, *args, **options):
        if settings.PRECIS_ENVIRONMENT == "production":
            raise CommandError("seed_bench_installation refuses to run under production settings.")
        self.stdout.write(seed_bench_installation())
