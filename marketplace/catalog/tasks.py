"""Celery entry points for the catalog: emails about a listing's moderation."""

from marketplace.accounts.selectors import owners_and_admins_of
from marketplace.catalog.models import Listing, ModerationEvent
from marketplace.catalog.services import staff_emails
from marketplace.emails import email_send, email_task


@email_task
def listing_notify_vendor(listing_id: int, action: str) -> None:
    """Email the vendor's owners and admins (and staff, for a submission) about a step."""
    listing = Listing.objects.select_related("vendor").filter(pk=listing_id).first()
    if listing is None:
        return
    event = listing.moderation.filter(action=action).first()
    recipients = list(owners_and_admins_of(listing.vendor).values_list("user__email", flat=True))
    if action == ModerationEvent.Action.SUBMITTED:
        recipients += staff_emails()
    email_send(
        "catalog/email/moderation",
        {"listing": listing, "event": event},
        recipients,
        language=listing.vendor.language,
    )
