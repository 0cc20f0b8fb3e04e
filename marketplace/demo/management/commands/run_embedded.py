"""`python manage.py run_embedded [ADDRESS:PORT]`: the embedded default's site, what `make run`
starts after the demo data.

Besides Django's development server, it starts localstripe on 127.0.0.1 (billing/stripe_local.py)
with a fresh state, points localstripe's webhooks at this site's /billing/webhooks/stripe/ with
STRIPE_WEBHOOK_SECRET, and stops it when the site stops, so that cards, payments and webhooks
work offline (card 4242 4242 4242 4242). When STRIPE_API_BASE names another server, or is empty
(Stripe itself), nothing is started: the same code talks to that one.
"""

import subprocess
import sys
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from billing import gateway


class Command(BaseCommand):
    help = "Run the site with a local Stripe-compatible server (the embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, address="127.0.0.1:8000", **options):
        stripe_server = self._start_localstripe()
        try:
            if stripe_server is not None:
                gateway.webhook_endpoint_register(
                    url=f"http://{address}/billing/webhooks/stripe/",
                    secret=settings.STRIPE_WEBHOOK_SECRET,
                )
                self.stdout.write(
                    f"localstripe: {settings.STRIPE_API_BASE} (webhooks to this site); "
                    "test card 4242 4242 4242 4242."
                )
            call_command("runserver", address, use_reloader=False)
        finally:
            if stripe_server is not None:
                stripe_server.terminate()
                stripe_server.wait(timeout=10)

    def _start_localstripe(self) -> subprocess.Popen | None:
        base = urlsplit(settings.STRIPE_API_BASE or "")
        if base.hostname not in ("127.0.0.1", "localhost"):
            return None
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "billing.stripe_local", "--port", str(base.port or 8420)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(
                    f"localstripe could not start on port {base.port}: is the port taken?"
                )
            try:
                requests.get(f"{settings.STRIPE_API_BASE}/js.stripe.com/v3/", timeout=1)
                return server
            except requests.ConnectionError:
                time.sleep(0.1)
        server.kill()
        raise CommandError("localstripe did not answer within 20 s.")
