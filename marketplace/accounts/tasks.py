"""Celery entry points for accounts: thin, id-based, safe to run twice."""

from celery import shared_task

from marketplace.accounts import services
from marketplace.accounts.models import Invitation, VerificationEvent
from marketplace.accounts.selectors import owners_and_admins_of
from marketplace.emails import email_send, email_task


@email_task
def invitation_send(invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id, status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:  # revoked or accepted since: nothing to send
        return
    email_send(
        "accounts/email/invitation",
        {"invitation": invitation},
        [invitation.email],
        language=invitation.language,
        link=("accounts:invitation", [invitation.key]),
    )


@email_task
def organization_verification_notify(event_id: int) -> None:
    """Email the organization's owners and admins about one step of its verification."""
    event = VerificationEvent.objects.select_related("organization").filter(pk=event_id).first()
    if event is None:  # the organization was deleted since
        return
    email_send(
        "accounts/email/verification",
        {"organization": event.organization, "event": event},
        owners_and_admins_of(event.organization).values_list("user__email", flat=True),
        language=event.organization.language,
    )


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def invitations_expire() -> int:
    return services.invitations_expire()
