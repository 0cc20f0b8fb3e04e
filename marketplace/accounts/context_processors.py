from marketplace.accounts import selectors


def organizations(request):
    """The active organization and the others the person can switch to, for the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "active_organization": getattr(request, "organization", None),
        "my_memberships": selectors.memberships_of(user),
    }
