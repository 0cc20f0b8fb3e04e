"""`python manage.py stripe_replay [EVENT_ID ...]`: process failed Stripe events again."""

from django.core.management.base import BaseCommand

from billing.services.stripe_events import stripe_events_replay


class Command(BaseCommand):
    help = (
        "Process Stripe webhook events again: every failed one, or the events given by id "
        "(evt_...). Handlers are idempotent, so an event already applied changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", metavar="EVENT_ID")

    def handle(self, *args, event_ids=(), **options):
        events = stripe_events_replay(event_ids=list(event_ids))
        for event in events:
            line = f"{event.event_id} {event.type}: {event.status}"
            self.stdout.write(line + (f" ({event.error})" if event.error else ""))
        self.stdout.write(f"{len(events)} event(s) processed.")
