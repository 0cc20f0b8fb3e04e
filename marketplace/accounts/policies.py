"""Who may see and do what, for every object that belongs to an organization.

This is the one place that decides object-level access. Views and API endpoints ask it for the
organization (or a queryset scoped to the caller's organizations) instead of filtering by hand:

- someone who is not a member of an organization gets 404 for anything of it, as if it did not
  exist, so ids and slugs of other companies leak nothing;
- a member whose role lacks a permission gets 403: they know the object exists.
"""

from enum import StrEnum
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from marketplace.accounts.models import Membership, Organization, Role, User

M = TypeVar("M", bound=Model)


class Permission(StrEnum):
    VIEW = "view"
    EDIT_ORGANIZATION = "edit_organization"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_OWNERS = "manage_owners"
    MANAGE_BILLING = "manage_billing"
    PUBLISH = "publish"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - {Permission.MANAGE_OWNERS},
    Role.BILLING: frozenset({Permission.VIEW, Permission.MANAGE_BILLING}),
    Role.MEMBER: frozenset({Permission.VIEW}),
}


def role_allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def membership_for(user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def has_permission(user: User, organization: Organization, permission: Permission) -> bool:
    membership = membership_for(user, organization)
    return membership is not None and role_allows(membership.role, permission)


def organizations_for(user: User) -> QuerySet[Organization]:
    """The organizations the user is a member of."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def membership_in(user: User, slug: str, permission: Permission = Permission.VIEW) -> Membership:
    """The user's membership in the organization with this slug; 404 if none, 403 by role."""
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such organization.")
    if not role_allows(membership.role, permission):
        raise PermissionDenied("Your role in this organization does not allow this.")
    return membership


def organization_for(
    user: User, slug: str, permission: Permission = Permission.VIEW
) -> Organization:
    """The organization with this slug if the user belongs to it; 404 otherwise, 403 by role."""
    return membership_in(user, slug, permission).organization


def scope(queryset: QuerySet[M], user: User, *, via: str = "organization") -> QuerySet[M]:
    """Narrow a queryset to objects whose organization (reached through `via`) has the user."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{via}__memberships__user": user}).distinct()


def object_for(queryset: QuerySet[M], user: User, *, via: str = "organization", **lookup) -> M:
    """One object of the user's organizations, or 404 whether it is missing or someone else's."""
    try:
        return scope(queryset, user, via=via).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404("Not found.") from exc
