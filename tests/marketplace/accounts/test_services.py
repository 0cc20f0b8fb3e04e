"""Organizations, memberships and invitations, through their services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from marketplace.accounts import services
from marketplace.accounts.models import Invitation, Membership, Role
from marketplace.errors import Conflict, ServiceError
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creating_an_organization_makes_its_creator_the_owner(user):
    organization = services.organization_create(owner=user, name="  Huaxin Precision  ")
    assert organization.name == "Huaxin Precision"
    assert organization.slug == "huaxin-precision"
    assert organization.time_zone == "Asia/Shanghai"
    assert Membership.objects.get(organization=organization).role == Role.OWNER


def test_slugs_stay_unique_and_avoid_page_names(user):
    first = services.organization_create(owner=user, name="New")
    second = services.organization_create(owner=user, name="New")
    assert first.slug == "new-2"
    assert second.slug == "new-3"


def test_an_organization_must_buy_or_sell(user):
    with pytest.raises(ServiceError, match="at least one"):
        services.organization_create(owner=user, name="Idle", is_buyer=False, is_vendor=False)


def test_unknown_time_zone_is_refused(user):
    with pytest.raises(Exception, match="not a known time zone"):
        services.organization_create(owner=user, name="Nowhere", time_zone="Mars/Olympus")


def test_invitation_is_emailed_after_commit_and_accepted_by_its_addressee(
    organization, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=owner, organization=organization, email="Engineer@Plant.example", role="admin"
        )
    assert invitation.email == "engineer@plant.example"
    assert len(mail.outbox) == 1
    assert invitation.key in mail.outbox[0].body
    assert organization.name in mail.outbox[0].subject

    invitee = UserFactory(email="engineer@plant.example")
    membership = services.invitation_accept(invitation=invitation, user=invitee)
    assert membership.role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    with pytest.raises(ServiceError, match="no longer valid"):
        services.invitation_accept(invitation=invitation, user=invitee)


def test_invitation_cannot_be_taken_by_someone_else(organization, owner):
    invitation = services.invitation_create(
        actor=owner, organization=organization, email="a@plant.example"
    )
    with pytest.raises(ServiceError, match=r"sent to a@plant\.example"):
        services.invitation_accept(invitation=invitation, user=UserFactory())
    assert not Membership.objects.filter(organization=organization, role=Role.MEMBER).exists()


def test_members_cannot_invite_and_admins_cannot_make_owners(organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER).user
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    with pytest.raises(ServiceError) as denied:
        services.invitation_create(actor=member, organization=organization, email="x@y.example")
    assert denied.value.status_code == 403
    with pytest.raises(ServiceError, match="Only owners"):
        services.invitation_create(
            actor=admin, organization=organization, email="x@y.example", role=Role.OWNER
        )


def test_duplicate_invitations_and_existing_members_are_refused(organization, owner):
    services.invitation_create(actor=owner, organization=organization, email="x@y.example")
    with pytest.raises(Conflict, match="pending invitation"):
        services.invitation_create(actor=owner, organization=organization, email="X@y.example")
    with pytest.raises(Conflict, match="already a member"):
        services.invitation_create(actor=owner, organization=organization, email=owner.email)


def test_expired_invitations_are_closed_by_the_scheduled_task(organization, owner):
    from marketplace.accounts.tasks import invitations_expire

    invitation = services.invitation_create(
        actor=owner, organization=organization, email="late@plant.example"
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert invitations_expire.delay().get() == 1
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED
    assert invitations_expire.delay().get() == 0


def test_the_last_owner_can_neither_leave_nor_be_demoted(organization, owner):
    membership = Membership.objects.get(user=owner, organization=organization)
    with pytest.raises(Conflict, match="at least one owner"):
        services.membership_change_role(actor=owner, membership=membership, role=Role.ADMIN)
    with pytest.raises(Conflict, match="at least one owner"):
        services.membership_remove(actor=owner, membership=membership)

    second = MembershipFactory(organization=organization, role=Role.OWNER)
    services.membership_change_role(actor=second.user, membership=membership, role=Role.ADMIN)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_invitation_email_is_written_in_the_inviters_language(
    organization, owner, django_capture_on_commit_callbacks
):
    from django.utils import translation

    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=owner, organization=organization, email="li@plant.cn")
    assert mail.outbox[0].subject.startswith("您")
    assert "/zh-hans/orgs/invitations/" in mail.outbox[0].body
