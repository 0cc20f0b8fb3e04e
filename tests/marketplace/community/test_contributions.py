"""Proposals, their discussion and moderation: the diff, accepting and rejecting, credits,
abuse reports, the append-only history, and the spam rules."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.catalog.models import Listing, ModerationEvent
from marketplace.community import services
from marketplace.community.models import (
    AbuseReport,
    AppendOnlyError,
    Comment,
    CommunityEvent,
    Contribution,
    Maintainer,
)
from marketplace.errors import Conflict, ServiceError
from tests.factories import UserFactory

NEW = {
    "name": "OPC Mini Server",
    "tagline": "A tiny OPC UA server for edge gateways",
    "description": "Serves PLC tags over **OPC UA**.",
    "license": "mit",
    "repository_url": "https://github.com/example/opc-mini",
    "security_contact": "security@opc-mini.example",
    "edge_hardware": "Raspberry Pi 4",
    "protocols": ["opc-ua"],
}


def form_data(values: dict, summary="From the project README.", **extra) -> dict:
    return {**values, "summary": summary, **extra}


def test_a_new_component_is_accepted_published_and_credits_its_author(contributor, staff):
    contribution = services.contribution_propose_new(
        actor=contributor, summary="It is widely used.", values=NEW
    )
    assert contribution.proposed["license"] == "MIT"  # normalized SPDX
    assert not Listing.objects.filter(name="OPC Mini Server").exists()

    services.contribution_accept(actor=staff, contribution=contribution, reason="Checked.")

    listing = Listing.objects.get(name="OPC Mini Server")
    assert (listing.kind, listing.status, listing.license) == ("component", "published", "MIT")
    assert listing.security_contact == "security@opc-mini.example"
    assert [t.slug for t in listing.terms.all()] == ["opc-ua"]
    assert Maintainer.objects.filter(listing=listing, user=contributor).exists()
    assert listing.moderation.filter(action=ModerationEvent.Action.APPROVED).exists()
    contribution.refresh_from_db()
    assert (contribution.status, contribution.listing) == ("accepted", listing)
    actions = list(contribution.events.values_list("action", flat=True))
    assert actions == ["accepted", "proposed"]


def test_an_invalid_licence_is_refused_at_proposal(contributor):
    with pytest.raises(ServiceError, match="not a valid SPDX licence expression"):
        services.contribution_propose_new(
            actor=contributor, summary="x", values={**NEW, "license": "Not-A-Licence"}
        )
    assert not Contribution.objects.exists()


def test_an_edit_keeps_only_changed_fields_and_shows_a_word_diff(client, contributor, component):
    contribution = services.contribution_propose_edit(
        actor=contributor,
        listing=component,
        summary="The README says so.",
        values={**services.component_values(component), "tagline": "Modbus TCP and RTU poller"},
    )
    assert contribution.proposed == {"tagline": "Modbus TCP and RTU poller"}
    assert contribution.original == {"tagline": "Modbus TCP poller that publishes to MQTT"}

    page = client.get(reverse("community:contribution", args=[contribution.pk])).content.decode()
    assert (
        '<p class="community-diff__text">Modbus TCP <ins>and RTU </ins>poller'
        "<del> that publishes to MQTT</del></p>"
    ) in page


def test_an_edit_that_changes_nothing_is_refused(contributor, component):
    with pytest.raises(ServiceError, match="Nothing would change"):
        services.contribution_propose_edit(
            actor=contributor,
            listing=component,
            summary="x",
            values=services.component_values(component),
        )


def test_accepting_an_edit_applies_it_and_rejecting_needs_a_reason(
    client, contributor, staff, component
):
    accepted = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="x", values={"edge_hardware": "Any ARMv7"}
    )
    rejected = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="x", values={"license": "GPL-3.0-only"}
    )
    client.force_login(staff)
    response = client.post(reverse("community:contribution_reject", args=[rejected.pk]))
    assert response.status_code == 400
    assert "a reason is required to reject" in response.content.decode()
    client.post(
        reverse("community:contribution_reject", args=[rejected.pk]),
        {"reason": "The repository says Apache-2.0."},
    )
    client.post(reverse("community:contribution_accept", args=[accepted.pk]))

    component.refresh_from_db()
    assert (component.edge_hardware, component.license) == ("Any ARMv7", "Apache-2.0")
    rejected.refresh_from_db()
    assert rejected.status == "rejected"
    assert rejected.decision_reason == "The repository says Apache-2.0."
    with pytest.raises(ServiceError, match="already accepted"):
        services.contribution_accept(actor=staff, contribution=accepted)

    page = client.get(reverse("community:component", args=[component.slug])).content.decode()
    assert "Ada Lovelace" in page  # credited
    profile = client.get(reverse("community:contributor", args=[contributor.pk]))
    assert profile.status_code == 200
    assert "1 accepted contribution" in profile.content.decode()
    assert contributor.email not in profile.content.decode()


def test_only_staff_moderate(client, contributor, component):
    contribution = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="x", values={"tagline": "Better"}
    )
    with pytest.raises(ServiceError, match="moderators"):
        services.contribution_accept(actor=contributor, contribution=contribution)
    client.force_login(contributor)
    response = client.post(reverse("community:contribution_accept", args=[contribution.pk]))
    assert response.status_code == 404
    assert client.get(reverse("community:moderation")).status_code == 404


def test_anyone_signed_in_proposes_and_comments_through_the_pages(client, contributor, staff):
    client.force_login(contributor)
    response = client.post(reverse("community:propose"), form_data(NEW))
    contribution = Contribution.objects.get()
    assert response.url == reverse("community:contribution", args=[contribution.pk])
    client.post(
        reverse("community:comment_add", args=[contribution.pk]), {"body": "Version 2 is out."}
    )
    assert Comment.objects.get().body == "Version 2 is out."
    client.force_login(staff)
    queue = client.get(reverse("community:moderation")).content.decode()
    assert "OPC Mini Server" in queue


def test_abuse_reports_reach_the_queue_and_hiding_is_recorded(client, contributor, staff):
    contribution = services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    spammer = UserFactory(first_name="Spam", last_name="Bot")
    comment = services.comment_add(actor=spammer, contribution=contribution, body="Buy now")
    client.force_login(contributor)
    client.post(
        reverse("community:comment_report", args=[contribution.pk, comment.pk]),
        {"reason": "Advertising"},
    )
    report = AbuseReport.objects.get()
    assert (report.comment, report.status) == (comment, "open")

    client.force_login(staff)
    assert "Advertising" in client.get(reverse("community:moderation")).content.decode()
    client.post(reverse("community:report_hide", args=[report.pk]))
    comment.refresh_from_db()
    report.refresh_from_db()
    assert comment.hidden
    assert report.status == "upheld"
    client.logout()
    page = client.get(reverse("community:contribution", args=[contribution.pk])).content.decode()
    assert "Buy now" not in page
    actions = list(contribution.events.values_list("action", flat=True))
    assert actions == ["hidden", "reported", "proposed"]


def test_the_history_is_append_only(contributor):
    contribution = services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    event = CommunityEvent.objects.get()
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert contribution.events.get().reason == ""


# --- Spam rules ---------------------------------------------------------------------------------


def test_proposals_are_rate_limited_with_a_clear_message(client, contributor, settings):
    settings.COMMUNITY_RATE_LIMITS = {"proposal": (2, 3600)}
    client.force_login(contributor)
    for n in range(2):
        response = client.post(
            reverse("community:propose"), form_data({**NEW, "name": f"Tool {n}"})
        )
        assert response.status_code == 302
    response = client.post(reverse("community:propose"), form_data({**NEW, "name": "Tool 3"}))
    assert response.status_code == 429
    assert (
        "You have made 2 proposals recently, the most allowed in 60 minutes. "
        "Please try again in 60 minutes." in response.content.decode()
    )
    assert Contribution.objects.count() == 2


def test_the_limit_counts_only_the_window(contributor, settings):
    settings.COMMUNITY_RATE_LIMITS = {"proposal": (1, 3600)}
    old = services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    Contribution.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    with pytest.raises(ServiceError) as caught:
        services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    assert caught.value.status_code == 429


def test_comments_are_rate_limited(client, contributor, settings):
    settings.COMMUNITY_RATE_LIMITS = {"comment": (3, 600)}
    contribution = services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    client.force_login(contributor)
    url = reverse("community:comment_add", args=[contribution.pk])
    for n in range(3):
        assert client.post(url, {"body": f"Note {n}"}).status_code == 302
    response = client.post(url, {"body": "One more"})
    assert response.status_code == 429
    assert "You have written 3 comments recently" in response.content.decode()
    assert Comment.objects.count() == 3


def test_the_honeypot_refuses_robots(client, contributor):
    client.force_login(contributor)
    response = client.post(reverse("community:propose"), form_data(NEW, nickname="bot"))
    assert response.status_code == 400
    assert "automated submission" in response.content.decode()
    assert not Contribution.objects.exists()


def test_new_accounts_may_post_only_one_link(contributor):
    contribution = services.contribution_propose_new(actor=contributor, summary="x", values=NEW)
    links = "See https://a.example and [this](https://b.example)."
    with pytest.raises(ServiceError, match="New accounts may include at most 1 link"):
        services.comment_add(actor=contributor, contribution=contribution, body=links)
    contributor.date_joined = timezone.now() - timedelta(days=30)
    services.comment_add(actor=contributor, contribution=contribution, body=links)


def test_an_edit_made_stale_by_another_is_refused_and_changes_nothing(
    contributor, staff, component
):
    first = services.contribution_propose_edit(
        actor=contributor,
        listing=component,
        summary="Clearer.",
        values={"description": "Polls holding registers."},
    )
    other = UserFactory()
    second = services.contribution_propose_edit(
        actor=other,
        listing=component,
        summary="Mine.",
        values={"description": "Polls input registers.", "tagline": "A Modbus poller"},
    )
    services.contribution_accept(actor=staff, contribution=second)

    with pytest.raises(Conflict) as refused:
        services.contribution_accept(actor=staff, contribution=first)

    assert "Description" in refused.value.message
    component.refresh_from_db()
    assert component.description == "Polls input registers."
    first.refresh_from_db()
    assert first.status == Contribution.Status.OPEN  # still open: a moderator may reject it
    services.contribution_reject(actor=staff, contribution=first, reason="Overtaken.")


def test_an_edit_whose_other_fields_did_not_move_is_still_accepted(contributor, staff, component):
    tagline = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="Shorter.", values={"tagline": "Modbus"}
    )
    services.contribution_accept(
        actor=staff,
        contribution=services.contribution_propose_edit(
            actor=UserFactory(),
            listing=component,
            summary="Clearer.",
            values={"description": "Polls holding registers."},
        ),
    )
    services.contribution_accept(actor=staff, contribution=tagline)
    component.refresh_from_db()
    assert (component.tagline, component.description) == ("Modbus", "Polls holding registers.")


def test_the_author_withdraws_an_open_proposal(client, contributor, staff, component):
    proposal = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="Oops.", values={"tagline": "Modbus"}
    )
    page = reverse("community:contribution", args=[proposal.pk])
    withdraw = reverse("community:contribution_withdraw", args=[proposal.pk])
    client.force_login(UserFactory())
    assert withdraw not in client.get(page).content.decode()
    answer = client.post(withdraw, follow=True)
    assert "Only its author" in answer.content.decode()

    client.force_login(contributor)
    assert withdraw in client.get(page).content.decode()
    answer = client.post(withdraw, follow=True)
    assert "withdrawn" in answer.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == Contribution.Status.WITHDRAWN
    assert proposal.events.filter(action=CommunityEvent.Action.WITHDRAWN).exists()
    with pytest.raises(Conflict):  # a moderator can no longer accept it
        services.contribution_accept(actor=staff, contribution=proposal)
    component.refresh_from_db()
    assert component.tagline != "Modbus"


def test_moderators_hear_of_proposals_and_authors_of_decisions(
    contributor, staff, component, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = services.contribution_propose_edit(
            actor=contributor, listing=component, summary="Clearer.", values={"tagline": "Modbus"}
        )
    (to_staff,) = mailoutbox
    assert to_staff.to == [staff.email]
    assert to_staff.subject == "New community proposal: ModbusLink"
    assert reverse("community:contribution", args=[proposal.pk]) in to_staff.body

    with django_capture_on_commit_callbacks(execute=True):
        services.contribution_reject(actor=staff, contribution=proposal, reason="Too short.")
    to_author = mailoutbox[-1]
    assert to_author.to == [contributor.email]
    assert to_author.subject == "Your proposal for ModbusLink was not accepted"
    assert "Too short." in to_author.body


def test_reports_reach_the_moderators_by_email_in_plain_text(
    contributor, staff, component, mailoutbox, django_capture_on_commit_callbacks
):
    component.name = "Modbus & MQTT <Link>"
    component.save(update_fields=["name"])
    proposal = services.contribution_propose_edit(
        actor=contributor, listing=component, summary="Clearer.", values={"tagline": "Modbus"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.abuse_report(actor=UserFactory(), contribution=proposal, reason="Spam link.")
    (email,) = mailoutbox
    assert email.to == [staff.email]
    assert email.subject == "Reported for moderation: Modbus & MQTT <Link>"  # not &amp;
    assert reverse("community:moderation") in email.body
