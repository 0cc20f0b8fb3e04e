"""`POST /billing/webhooks/stripe/`: Stripe's events, verified on the raw body and stored once.

The answer comes as soon as the event is stored (processing is a Celery task), so Stripe never
waits on Precis's own work; a bad signature, a missing header, the wrong secret or an event
older than 300 seconds gets 400 and nothing is stored.
"""

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import gateway, tasks
from billing.services.stripe_events import stripe_event_store

MAX_BODY = 512 * 1024  # bytes; Stripe's events are a few kilobytes


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "The body is larger than a Stripe event."}, status=400)
    try:
        event = gateway.webhook_verify(request.body, request.headers.get("Stripe-Signature"))
    except gateway.WebhookRejected as error:
        return JsonResponse({"error": f"Rejected: {error}."}, status=400)
    stored = stripe_event_store(event)
    if stored is not None:
        transaction.on_commit(lambda: tasks.stripe_event_process.delay(stored.pk))
    return JsonResponse({"received": True, "duplicate": stored is None})
