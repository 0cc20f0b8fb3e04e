from marketplace.accounts import selectors
from marketplace.accounts.middleware import active_organization


def organizations(request):
    """The active organization and the others the person can switch to, for the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(selectors.memberships_of(user))
    return {
        "active_organization": active_organization(request, memberships),
        "my_memberships": memberships,
    }
