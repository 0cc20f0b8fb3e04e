"""Celery entry points for the community: emails about contributions."""

from marketplace.catalog.services import staff_emails
from marketplace.community.models import CommunityEvent, Contribution
from marketplace.emails import email_send, email_task


@email_task
def contribution_notify(contribution_id: int, action: str) -> None:
    """A new proposal or an abuse report, to the moderators; a decision, to the author."""
    contribution = (
        Contribution.objects.select_related("author", "listing").filter(pk=contribution_id).first()
    )
    if contribution is None:
        return
    if action in (CommunityEvent.Action.PROPOSED, CommunityEvent.Action.REPORTED):
        recipients = staff_emails()
    else:
        recipients = [contribution.author.email]
    if action == CommunityEvent.Action.REPORTED:
        link = ("community:moderation", [])
    else:
        link = ("community:contribution", [contribution.pk])
    email_send(
        "community/email/contribution",
        {"contribution": contribution, "action": action},
        recipients,
        link=link,
    )
