"""Celery entry points for accounts: thin, id-based, safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from marketplace.accounts import services
from marketplace.accounts.models import Invitation, VerificationEvent
from marketplace.accounts.selectors import owners_and_admins_of


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
)
def invitation_send(invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id, status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:  # revoked or accepted since: nothing to send
        return
    base_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    with translation.override(invitation.language):
        context = {
            "invitation": invitation,
            "accept_url": base_url + reverse("accounts:invitation", args=[invitation.key]),
        }
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(subject, body, None, [invitation.email])


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
)
def organization_verification_notify(event_id: int) -> None:
    """Email the organization's owners and admins about one step of its verification."""
    event = VerificationEvent.objects.select_related("organization").filter(pk=event_id).first()
    if event is None:  # the organization was deleted since
        return
    recipients = sorted(
        set(owners_and_admins_of(event.organization).values_list("user__email", flat=True))
    )
    if not recipients:
        return
    context = {
        "organization": event.organization,
        "event": event,
        "base_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/"),
    }
    subject = render_to_string("accounts/email/verification_subject.txt", context).strip()
    body = render_to_string("accounts/email/verification_message.txt", context)
    send_mail(subject, body, None, recipients)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def invitations_expire() -> int:
    return services.invitations_expire()
