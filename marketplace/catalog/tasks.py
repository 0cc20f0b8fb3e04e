"""Celery entry points for the catalog: emails about a listing's moderation."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from marketplace.accounts.models import Membership, Role
from marketplace.catalog.models import Listing, ModerationEvent
from marketplace.catalog.services import staff_emails


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
)
def listing_notify_vendor(listing_id: int, action: str) -> None:
    """Email the vendor's owners and admins (and staff, for a submission) about a step."""
    listing = Listing.objects.select_related("vendor").filter(pk=listing_id).first()
    if listing is None:
        return
    event = listing.moderation.filter(action=action).first()
    recipients = list(
        Membership.objects.filter(
            organization=listing.vendor, role__in=[Role.OWNER, Role.ADMIN]
        ).values_list("user__email", flat=True)
    )
    if action == ModerationEvent.Action.SUBMITTED:
        recipients += staff_emails()
    context = {
        "listing": listing,
        "event": event,
        "base_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/"),
    }
    with translation.override(listing.vendor.language or settings.LANGUAGE_CODE):
        subject = render_to_string("catalog/email/moderation_subject.txt", context).strip()
        body = render_to_string("catalog/email/moderation_message.txt", context)
    send_mail(subject, body, None, sorted(set(recipients)))
