"""The community in the Django admin: every model opens; the history cannot be edited there."""

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from marketplace.community import services
from marketplace.community.models import CommunityEvent
from tests.factories import UserFactory


def test_community_pages_open_in_the_admin(client, contributor, component):
    contribution = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="x", values={"tagline": "Better"}
    )
    superuser = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(superuser, generate_totp_secret())
    client.force_login(superuser)
    for model in ("maintainer", "sbom", "contribution", "abusereport", "communityevent"):
        assert client.get(reverse(f"admin:community_{model}_changelist")).status_code == 200
    page = client.get(reverse("admin:community_contribution_change", args=[contribution.pk]))
    assert page.status_code == 200
    event = CommunityEvent.objects.get()
    url = reverse("admin:community_communityevent_change", args=[event.pk])
    assert client.post(url, {"reason": "rewritten"}).status_code == 403
    event.refresh_from_db()
    assert event.reason == ""
