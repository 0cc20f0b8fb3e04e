"""Request-wide account state: the active organization, and the MFA requirement."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from marketplace.accounts import selectors

ACTIVE_ORGANIZATION_SESSION_KEY = "precis_active_organization"


def active_organization(request, memberships=None):
    """The organization chosen in the switcher if still a member there, else the first joined.

    Pass the person's memberships when they are already loaded to save the query.
    """
    if not request.user.is_authenticated:
        return None
    if memberships is None:
        memberships = list(selectors.memberships_of(request.user))
    wanted = request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    chosen = next((m for m in memberships if m.organization_id == wanted), None)
    if chosen is None and memberships:
        chosen = min(memberships, key=lambda m: m.created_at)
    return chosen.organization if chosen else None


class ActiveOrganizationMiddleware:
    """Sets `request.organization`: the organization the person is acting for right now.

    Chosen with the organization switcher and kept in the session; falls back to the person's
    first organization, or None. It is a convenience for navigation only: access is still
    decided by policies.py on every object.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = SimpleLazyObject(lambda: active_organization(request))
        return self.get_response(request)


class RequireMfaMiddleware:
    """Sends staff and vendor owners without an authenticator to set one up first.

    Only pages a person needs to do that (MFA setup, sign-out, email confirmation) stay open.
    API calls are not redirected: they carry a token that was issued after a second factor.
    """

    exempt_prefixes = ("/static/", "/media/", "/api/", "/billing/webhooks/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.exempt_prefixes)
            and not self._is_allowed_page(request.path)
            and selectors.user_requires_mfa(user)
            and not selectors.user_has_mfa(user)
        ):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _is_allowed_page(path: str) -> bool:
        allowed = (
            reverse("mfa_index"),
            reverse("mfa_activate_totp"),
            reverse("account_logout"),
            reverse("account_reauthenticate"),
        )
        return path.startswith(allowed) or "/accounts/confirm-email/" in path
