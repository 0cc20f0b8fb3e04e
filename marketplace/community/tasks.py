"""Celery entry points for the community: emails about contributions."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from marketplace.catalog.services import staff_emails
from marketplace.community.models import CommunityEvent, Contribution


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
)
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
    base_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "contribution": contribution,
            "action": action,
            "url": base_url
            + reverse(
                "community:moderation"
                if action == CommunityEvent.Action.REPORTED
                else "community:contribution",
                args=[] if action == CommunityEvent.Action.REPORTED else [contribution.pk],
            ),
        }
        subject = render_to_string("community/email/contribution_subject.txt", context).strip()
        body = render_to_string("community/email/contribution_message.txt", context)
    if recipients:
        send_mail(subject, body, None, sorted(set(recipients)))
