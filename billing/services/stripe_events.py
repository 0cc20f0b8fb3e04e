"""Stripe's webhook events: stored once on arrival, processed by a task, replayed by staff.

`stripe_event_store` is all the endpoint does after checking the signature: one INSERT that
does nothing when the event id is already stored, so five deliveries of one event at once
store it once. `stripe_event_process` runs the handler of its type under a lock on the row;
handlers read the object from Stripe again (or compare states that only move forward), so
whatever order events arrive in, the outcome is the same.
"""

import logging
import traceback
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import gateway
from billing.models import Payment, StripeEvent
from billing.services import payments

log = logging.getLogger(__name__)


def stripe_event_store(event: dict) -> StripeEvent | None:
    """Store a verified event; None when it was already stored (a repeated delivery)."""
    created = datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC)
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                event_id=str(event["id"])[:255],
                type=str(event["type"])[:100],
                payload=event,
                stripe_created=created,
            )
    except IntegrityError:
        return None


def _payment_intent(event: StripeEvent) -> None:
    """payment_intent.*: the payment's state as Stripe has it now."""
    intent = event.payload["data"]["object"]
    metadata = intent.get("metadata") or {}
    payment = Payment.objects.filter(stripe_payment_intent_id=intent["id"]).first()
    claimed = str(metadata.get("precis_payment", ""))
    if payment is None and claimed.isascii() and claimed.isdigit() and len(claimed) < 19:
        payment = Payment.objects.filter(pk=int(claimed)).first()
    if payment is None:
        raise LookupError(f"No Precis payment for PaymentIntent {intent['id']}")
    charge = gateway.payment_intent_retrieve(intent["id"])  # never trust the event's snapshot
    payments.payment_apply_charge(payment_id=payment.pk, charge=charge)


HANDLERS = {
    "payment_intent.created": _payment_intent,
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "payment_intent.processing": _payment_intent,
    "payment_intent.canceled": _payment_intent,
}


def stripe_event_process(*, event_id: int) -> StripeEvent:
    """Process a stored event once: its handler (if Precis acts on its type) under a lock on
    the event, then processed, ignored, or failed with the error kept for staff."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_id)
        if event.status in (StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED):
            return event
        handler = HANDLERS.get(event.type)
        event.attempts += 1
        if handler is None:
            event.status = StripeEvent.Status.IGNORED
        else:
            try:
                with transaction.atomic():
                    handler(event)
            except Exception as error:  # kept on the event for staff, and for stripe_replay
                log.warning("Stripe event %s failed: %s", event.event_id, error)
                event.status = StripeEvent.Status.FAILED
                event.error = "".join(traceback.format_exception_only(error)).strip()[:4000]
            else:
                event.status = StripeEvent.Status.PROCESSED
                event.error = ""
        event.processed_at = timezone.now()
        event.save()
        return event


def stripe_events_replay(*, event_ids: list[str] | None = None) -> list[StripeEvent]:
    """Process failed events again (or the given ones, whatever their state), oldest first."""
    chosen = (
        StripeEvent.objects.filter(event_id__in=event_ids)
        if event_ids
        else StripeEvent.objects.filter(status=StripeEvent.Status.FAILED)
    )
    ids = list(chosen.order_by("stripe_created", "pk").values_list("pk", flat=True))
    StripeEvent.objects.filter(pk__in=ids).update(status=StripeEvent.Status.RECEIVED)
    return [stripe_event_process(event_id=pk) for pk in ids]
