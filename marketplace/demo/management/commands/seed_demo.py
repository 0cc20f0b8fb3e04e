import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.demo.seed import USERS, seed_demo


class Command(BaseCommand):
    help = (
        "Load the demo catalog and the demo accounts (buyer@demo.test, vendor@demo.test, "
        "staff@demo.test; password from PRECIS_DEMO_PASSWORD, default precis-demo). "
        "Idempotent; refuses to run under production settings."
    )

    def handle(self, *args, **options):
        if settings.PRECIS_ENVIRONMENT == "production":
            raise CommandError(
                "seed_demo refuses to run under production settings: it creates accounts with a "
                "known password."
            )
        password = os.environ.get("PRECIS_DEMO_PASSWORD") or "precis-demo"
        seed_demo(password=password)
        accounts = ", ".join(user.email for user in USERS)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Accounts: {accounts}."))
