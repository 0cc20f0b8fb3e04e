"""The billing API for people (subscriptions, installations, usage) and machines (entitlements)."""

import pytest
from rest_framework.authtoken.models import Token

from billing.models import InstallationKey
from marketplace.accounts.models import Role
from tests.billing.conftest import event
from tests.factories import MembershipFactory, OrganizationFactory


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


def test_a_buyer_starts_a_trial_registers_an_installation_and_pushes(client, plan, buyer_owner):
    created = client.post(
        "/api/v1/subscriptions/",
        {"plan": plan.pk},
        content_type="application/json",
        **auth(buyer_owner),
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "trialing"
    assert body["trial_ends_at"]
    installation = client.post(
        f"/api/v1/subscriptions/{body['id']}/installations/",
        {"name": "Plant 1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=buyer_owner).key}",
    )
    assert installation.status_code == 201
    key = installation.json()["key"]
    assert key.startswith("prc_" + installation.json()["key_prefix"])
    record = InstallationKey.objects.get()
    assert key not in record.key_hash  # only its hash is kept

    pushed = client.post(
        "/api/v1/telemetry/events",
        {"events": [event(1, value="1500", minutes_ago=0)]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert pushed.status_code == 202
    assert client.get(f"/api/v1/subscriptions/{body['id']}/usage/").status_code == 403


def test_usage_and_what_the_trial_would_have_cost(client, subscription, push, buyer_owner):
    # Usage counts from the start of the trial.
    push([event(1, value="1500", minutes_ago=0), event(2, metric="kwh", value="10", minutes_ago=0)])
    push([event(3, value="1000", minutes_ago=60)])  # before the trial: stored, not metered
    token = Token.objects.create(user=buyer_owner).key
    usage = client.get(
        f"/api/v1/subscriptions/{subscription.pk}/usage/", HTTP_AUTHORIZATION=f"Token {token}"
    ).json()
    quantities = {m["code"]: m["quantity"] for m in usage["metrics"]}
    assert quantities == {"defects": "0", "inspections": "1500", "kwh": "0"}
    # 499 a month, plus (1500 - 1000 included) * 0.02 = 10.
    assert usage["would_have_paid"]["total"] == "509.00"
    assert usage["would_have_paid"]["currency"] == "CNY"


def test_entitlements_for_the_installation(client, subscription, push, issued):
    push([event(1, value="7", minutes_ago=0)])
    body = client.get("/api/v1/entitlements", HTTP_AUTHORIZATION=f"Bearer {issued.key}").json()
    assert body["status"] == "trialing"
    assert body["entitled"] is True
    assert body["usage"]["inspections"] == "7"
    assert body["limits"] == {"included": {"inspections": "1000"}}
    assert body["plan"]["name"] == "Standard"
    subscription.status = "expired"
    subscription.save()
    body = client.get("/api/v1/entitlements", HTTP_AUTHORIZATION=f"Bearer {issued.key}").json()
    assert body["entitled"] is False
    assert client.get("/api/v1/entitlements").status_code == 401


def test_another_buyer_sees_nothing_of_a_subscription(client, subscription):
    stranger = MembershipFactory(
        organization=OrganizationFactory(name="Other Works"), role=Role.OWNER
    ).user
    headers = auth(stranger)
    base = f"/api/v1/subscriptions/{subscription.pk}/"
    assert client.get(base + "usage/", **headers).status_code == 404
    created = client.post(
        base + "installations/", {"name": "Mine"}, content_type="application/json", **headers
    )
    assert created.status_code == 404
    assert client.get("/api/v1/subscriptions/", **headers).json() == []


def test_subscribing_to_an_unknown_or_unpublished_plan_is_404(client, plan, buyer_owner):
    headers = auth(buyer_owner)
    missing = client.post(
        "/api/v1/subscriptions/", {"plan": 999999}, content_type="application/json", **headers
    )
    assert missing.status_code == 404
    plan.is_published = False
    plan.save()
    hidden = client.post(
        "/api/v1/subscriptions/", {"plan": plan.pk}, content_type="application/json", **headers
    )
    assert hidden.status_code == 404
    assert hidden.json()["error"]["message"] == "This plan is not on offer."


@pytest.mark.parametrize("role", [Role.MEMBER])
def test_plain_members_cannot_register_installations(client, subscription, buyer, role):
    member = MembershipFactory(organization=buyer, role=role).user
    response = client.post(
        f"/api/v1/subscriptions/{subscription.pk}/installations/",
        {"name": "Line 4"},
        content_type="application/json",
        **auth(member),
    )
    assert response.status_code == 403


def test_the_listing_api_shows_its_offered_plans(client, plan, listing):
    body = client.get(f"/api/v1/listings/{listing.slug}/").json()
    [offered] = body["plans"]
    assert offered["name"] == "Standard"
    assert offered["trial_days"] == 14
    assert offered["recurring_amount"] == "499.000000"
    assert offered["currency"] == "CNY"
    [charge] = offered["metered_charges"]
    assert (charge["metric"], charge["unit_price"], charge["included_units"]) == (
        "inspections",
        "0.020000",
        "1000.000000000",
    )
    plan.is_published = False
    plan.save()
    assert client.get(f"/api/v1/listings/{listing.slug}/").json()["plans"] == []
