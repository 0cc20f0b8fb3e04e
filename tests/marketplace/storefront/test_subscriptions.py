"""A buyer's subscription pages: start a trial, keys shown once, usage, and who may do what."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Installation, InstallationKey, Plan, PlanVersion, Subscription
from billing.services import installations, subscriptions
from marketplace.accounts.models import Role
from marketplace.storefront.charts import daily_chart, nice_ceiling, window
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def page(response) -> str:
    return response.content.decode().replace(NBSP, " ")


def url(name: str, *args) -> str:
    return reverse(f"subscriptions:{name}", args=args)


def push(client, key: str, events: list[dict]):
    return client.post(
        "/api/v1/telemetry/events",
        json.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def event(n: int, *, metric: str = "inspections", value="1", at=None) -> dict:
    at = at or timezone.now() - timedelta(seconds=n + 1)
    return {"id": f"evt-{n}", "metric": metric, "value": value, "timestamp": at.isoformat()}


@pytest.fixture
def owner_client(client, buyer_owner):
    client.force_login(buyer_owner)
    return client


@pytest.fixture
def issued(subscription, buyer_owner):
    return installations.installation_create(
        actor=buyer_owner, subscription=subscription, name="Plant 1, line 3", kind="line"
    )


# --- Starting a trial -----------------------------------------------------------------------------


def test_a_buyer_starts_a_trial_from_the_listing_page(
    owner_client, trial_listing, trial_plan, buyer
):
    response = owner_client.post(url("start"), {"plan": trial_plan.pk})
    subscription = Subscription.objects.get()
    assert response["Location"] == f"/subscriptions/{subscription.pk}/"
    assert (subscription.buyer, subscription.status) == (buyer, Subscription.Status.TRIALING)
    html = page(owner_client.get(response["Location"]))
    assert "Your trial of Weave Eye has started." in html
    assert "Trial · 14 days left" in html
    assert "Free through the end of" in html
    # No way to pay yet: the page explains what accepting invoice terms does.
    assert "has no way to pay on file: the trial stops at its end." in html
    assert "the trial then continues as a paid subscription at its end" in html
    assert "What you would have paid so far" in html
    assert "499.00 CNY" in html
    assert "Register an installation" in html


def test_starting_the_same_plan_twice_says_why(owner_client, trial_listing, subscription):
    response = owner_client.post(
        url("start"), {"plan": subscription.plan_version.plan_id}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/catalog/{trial_listing.slug}/#pricing"
    assert "Huaxin Precision already has this plan." in page(response)
    assert Subscription.objects.count() == 1


def test_starting_an_unknown_plan_is_404(owner_client):
    assert owner_client.post(url("start"), {"plan": "999"}).status_code == 404
    assert owner_client.post(url("start"), {"plan": "x"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, trial_plan):
    response = client.post(url("start"), {"plan": trial_plan.pk})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Subscription.objects.exists()


# --- The list -------------------------------------------------------------------------------------


def test_the_list_shows_each_status(owner_client, subscription, buyer, buyer_owner, trial_plan):
    html = page(owner_client.get(url("list")))
    assert "Trial · 14 days left" in html
    subscriptions.subscription_end_trial(
        subscription_id=subscription.pk, now=subscription.trial_ends_at
    )
    html = page(owner_client.get(url("list")))
    assert "Expired" in html
    assert f'action="{url("resume", subscription.pk)}"' in html


def test_an_expired_trial_resumes_in_one_click_once_it_can_pay(
    owner_client, subscription, buyer_owner, buyer
):
    subscriptions.subscription_end_trial(
        subscription_id=subscription.pk, now=subscription.trial_ends_at
    )
    response = owner_client.post(url("resume", subscription.pk), {"next": url("list")})
    assert response["Location"] == url("list")
    assert "Add a card or accept invoice terms to resume." in page(owner_client.get(url("list")))
    owner_client.post(url("accept_terms", subscription.pk))
    response = owner_client.post(url("resume", subscription.pk), {"next": url("list")})
    html = page(owner_client.get(response["Location"]))
    assert "The subscription is active again." in html
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


def test_an_unsafe_next_address_is_ignored(owner_client, subscription):
    response = owner_client.post(
        url("accept_terms", subscription.pk), {"next": "https://evil.example/"}
    )
    assert response["Location"] == url("detail", subscription.pk)


def test_the_list_is_of_the_active_organization_only(owner_client, trial_plan, subscription):
    other_buyer_owner = MembershipFactory(role=Role.OWNER).user
    subscriptions.subscription_start(
        actor=other_buyer_owner, buyer=other_buyer_owner.memberships.get().organization,
        plan=trial_plan,
    )  # fmt: skip
    html = page(owner_client.get(url("list")))
    assert html.count('data-testid="subscription"') == 1


def test_an_empty_list_points_to_the_catalog(owner_client):
    html = page(owner_client.get(url("list")))
    assert "No subscriptions yet" in html
    assert 'href="/catalog/"' in html


def test_the_account_menu_links_to_subscriptions(owner_client):
    assert f'href="{url("list")}"' in page(owner_client.get("/orgs/"))


# --- Invoice terms, cancel, keep, pause -----------------------------------------------------------


def test_accepting_invoice_terms_lets_the_trial_continue(owner_client, subscription, buyer):
    response = owner_client.post(url("accept_terms", subscription.pk), follow=True)
    html = page(response)
    assert "Invoice terms accepted for Huaxin Precision." in html
    assert "At its end it continues as a paid subscription" in html
    assert "Accept invoice terms" not in html
    buyer.billing_account.refresh_from_db()
    assert buyer.billing_account.can_pay


def test_ending_a_trial_is_confirmed_first(owner_client, subscription):
    html = page(owner_client.get(url("cancel", subscription.pk)))
    assert "Cancel this subscription?" in html
    assert "Cancel now" in html
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.TRIALING
    owner_client.post(url("cancel", subscription.pk))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED


def test_an_active_subscription_cancels_at_period_end_keeps_pauses_and_resumes(
    owner_client, subscription, buyer_owner, buyer
):
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    subscriptions.subscription_end_trial(
        subscription_id=subscription.pk, now=subscription.trial_ends_at
    )
    pk = subscription.pk
    assert "Cancel at the end of the period" in page(owner_client.get(url("cancel", pk)))
    html = page(owner_client.post(url("cancel", pk), follow=True))
    assert "The subscription ends after" in html
    assert "Keep the subscription" in html
    html = page(owner_client.post(url("keep", pk), follow=True))
    assert "the cancellation is withdrawn" in html
    html = page(owner_client.post(url("pause", pk), follow=True))
    assert "The subscription is paused." in html
    assert "to go on with the period already paid for" in html  # its month is not over
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    period = (subscription.current_period_start, subscription.current_period_end)
    owner_client.post(url("resume", pk))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == period


def test_a_service_refusal_is_shown_as_a_message(owner_client, subscription):
    html = page(owner_client.post(url("keep", subscription.pk), follow=True))
    assert "No cancellation is scheduled." in html


# --- Installations and keys -----------------------------------------------------------------------


def test_a_key_is_shown_once_and_never_again(owner_client, subscription):
    response = owner_client.post(
        url("installation_create", subscription.pk), {"name": "Plant 1, line 3", "kind": "line"}
    )
    installation = Installation.objects.get()
    assert (installation.name, installation.kind) == ("Plant 1, line 3", "line")
    key_url = url("installation_key", subscription.pk, installation.pk)
    assert response["Location"] == key_url
    response = owner_client.get(key_url)
    assert "no-store" in response["Cache-Control"]
    html = page(response)
    key = re.search(r'id="installation-key"[^>]*value="([^"]+)"', html, re.S).group(1)
    assert InstallationKey.objects.get().prefix in key
    assert "it is shown this once" in html
    assert f"Authorization: Bearer {key}" in html  # the example request
    assert 'src="/static/js/copy.js"' in html
    # The key works for telemetry ...
    assert push(owner_client, key, [event(1)]).status_code == 202
    # ... and no page shows it again.
    again = owner_client.get(key_url, follow=True)
    assert again.redirect_chain[-1][0] == url("detail", subscription.pk) + "#installations"
    assert "A key is shown only once" in page(again)
    assert key not in page(again)
    detail = page(owner_client.get(url("detail", subscription.pk)))
    assert key not in detail
    assert f"prc_{InstallationKey.objects.get().prefix}_…" in detail


def test_an_installation_needs_a_name(owner_client, subscription):
    response = owner_client.post(url("installation_create", subscription.pk), {"kind": "line"})
    assert response.status_code == 400
    assert "This field is required." in page(response)
    assert not Installation.objects.exists()


def test_rotating_shows_a_new_key_once_and_stops_the_old_one(owner_client, subscription, issued):
    pk, installation = subscription.pk, issued.installation.pk
    html = page(owner_client.get(url("installation_rotate", pk, installation)))
    assert "Issue a new key for Plant 1, line 3?" in html
    assert "The current key stops working at once" in html
    response = owner_client.post(url("installation_rotate", pk, installation), follow=True)
    html = page(response)
    new_key = re.search(r'value="(prc_[^"]+)"', html).group(1)
    assert new_key != issued.key
    assert push(owner_client, issued.key, [event(1)]).status_code == 401
    assert push(owner_client, new_key, [event(2)]).status_code == 202
    assert "A key is shown only once" in page(
        owner_client.get(url("installation_key", pk, installation), follow=True)
    )


def test_revoking_is_confirmed_then_the_key_stops_working(owner_client, subscription, issued):
    pk, installation = subscription.pk, issued.installation.pk
    html = page(owner_client.get(url("installation_revoke", pk, installation)))
    assert "Revoke the key of Plant 1, line 3?" in html
    assert f"prc_{issued.record.prefix}_…" in html
    assert push(owner_client, issued.key, [event(1)]).status_code == 202
    html = page(owner_client.post(url("installation_revoke", pk, installation), follow=True))
    assert "The key of Plant 1, line 3 is revoked" in html
    assert "Issue a new key" in html
    assert push(owner_client, issued.key, [event(2)]).status_code == 401
    html = page(owner_client.post(url("installation_revoke", pk, installation), follow=True))
    assert "Plant 1, line 3 has no key to revoke." in html


def test_the_installations_list_shows_prefix_and_last_use(owner_client, subscription, issued):
    html = page(owner_client.get(url("detail", subscription.pk)))
    assert "Plant 1, line 3" in html
    assert "Never" in html
    push(owner_client, issued.key, [event(1)])
    html = page(owner_client.get(url("detail", subscription.pk)))
    assert f"prc_{issued.record.prefix}_…" in html
    assert "Never" not in html
    assert issued.key not in html


# --- Usage ----------------------------------------------------------------------------------------


def test_the_usage_page_shows_totals_and_a_chart(owner_client, subscription, issued):
    start = subscription.current_period_start
    events = [
        event(1, value="1200", at=start + timedelta(seconds=1)),
        event(2, value="34.5", at=start + timedelta(seconds=2)),
        event(3, metric="defects", value="3", at=start + timedelta(seconds=3)),
    ]
    assert json.loads(push(owner_client, issued.key, events).content)["accepted"] == 3
    html = page(owner_client.get(url("usage", subscription.pk)))
    assert "Usage of Weave Eye" in html
    totals = re.search(r'data-testid="usage-totals".*?</ul>', html, re.S).group(0)
    assert re.search(r"Inspections</span>\s*<span[^>]*>1,234.5</span>", totals)
    assert re.search(r"Defects caught</span>\s*<span[^>]*>3</span>", totals)
    # Usage before outcomes.
    assert totals.index("Inspections") < totals.index("Defects caught")
    charts = re.findall(r'<figure class="usage-chart".*?</figure>', html, re.S)
    assert len(charts) == 2
    inspections = charts[0]
    assert re.search(r'<svg class="usage-chart__svg"[^>]*role="img"', inspections)
    assert "the highest was 1,234.5 inspections" in inspections
    assert inspections.count('<rect class="usage-chart__bar"') == 1  # the trial's first day
    # On a scale of 0 to 2,000, the day's 1,234.5 reach 61.73% of the way up.
    assert '<span class="usage-chart__tick usage-chart__tick--top">2,000</span>' in inspections
    assert 'y="38.27" width="7" height="61.73"' in inspections
    # The same numbers, as a table.
    assert "<details" in inspections
    assert re.search(r'<td class="num">1,234.5</td>', inspections)


def test_the_subscription_page_says_what_the_trial_would_have_cost(
    owner_client, subscription, issued
):
    start = subscription.current_period_start
    push(
        owner_client,
        issued.key,
        [
            event(1, value="1500", at=start + timedelta(seconds=1)),
            event(2, metric="defects", value="4", at=start + timedelta(seconds=2)),
        ],
    )
    html = page(owner_client.get(url("detail", subscription.pk)))
    # 499.00 + (1,500 - 1,000) x 0.02 + 4 x 1.50
    total = re.search(r'data-testid="would-have-paid-total">([^<]+)<', html).group(1)
    assert total == "515.00 CNY"


def test_chart_scale_and_window():
    assert nice_ceiling(Decimal(0)) == 1
    assert nice_ceiling(Decimal("0.3")) == Decimal("0.5")
    assert nice_ceiling(Decimal(510)) == 1000
    assert nice_ceiling(Decimal("1234.5")) == 2000
    assert nice_ceiling(Decimal(2100)) == 2500
    assert nice_ceiling(Decimal(200)) == 200
    day = timezone.now().date()
    # A 14-day trial shows all of its days; a year shows its last month.
    assert window(day, day + timedelta(days=14), day) == (day, day + timedelta(days=14))
    year_end = day + timedelta(days=364)
    assert window(day, year_end, day + timedelta(days=100)) == (
        day + timedelta(days=70),
        day + timedelta(days=100),
    )
    assert window(day, year_end, day) == (day, day + timedelta(days=30))


def test_a_chart_has_a_bar_per_past_day_and_shades_the_rest(trial_metrics):
    first = timezone.now().date()
    chart = daily_chart(
        trial_metrics["inspections"],
        [(first, Decimal(40)), (first + timedelta(days=2), Decimal(100))],
        first=first,
        last=first + timedelta(days=9),
        today=first + timedelta(days=2),
    )
    assert [bar.value for bar in chart.past] == [40, 0, 100]
    assert chart.scale == 100
    assert [bar.height for bar in chart.past] == [40, 0, 100]
    assert (chart.future_x, chart.future_width) == (30, 70)
    assert chart.width == 100
    assert chart.peak.day == first + timedelta(days=2)


# --- Who may see and do what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "detail"),
        ("get", "usage"),
        ("get", "installation_create"),
        ("post", "installation_create"),
        ("get", "cancel"),
        ("post", "cancel"),
        ("post", "accept_terms"),
        ("post", "resume"),
        ("post", "keep"),
        ("post", "pause"),
    ],
)
def test_another_organizations_member_gets_404(client, subscription, method, name):
    outsider = MembershipFactory(role=Role.OWNER).user
    client.force_login(outsider)
    response = getattr(client, method)(url(name, subscription.pk), {"name": "x", "kind": "line"})
    assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.TRIALING


@pytest.mark.parametrize("name", ["installation_key", "installation_rotate", "installation_revoke"])
def test_another_organizations_member_gets_404_for_installations(client, issued, name):
    client.force_login(MembershipFactory(role=Role.OWNER).user)
    address = url(name, issued.installation.subscription_id, issued.installation.pk)
    for method in (client.get, client.post):
        assert method(address).status_code == 404
    assert InstallationKey.objects.get().is_active


def test_an_installation_is_found_only_under_its_own_subscription(
    owner_client, trial_listing, issued, buyer, buyer_owner
):
    plan = Plan.objects.create(listing=trial_listing, name="Second line", is_published=True)
    PlanVersion.objects.create(plan=plan, number=1, trial_days=7)
    other = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    response = owner_client.get(url("installation_rotate", other.pk, issued.installation.pk))
    assert response.status_code == 404


def test_a_plain_member_sees_the_subscription_but_cannot_change_it(
    client, subscription, issued, buyer_member
):
    client.force_login(buyer_member)
    html = page(client.get(url("detail", subscription.pk)))
    assert "Weave Eye" in html
    assert "Owners, admins and billing members of Huaxin Precision register installations" in html
    assert "Register an installation" not in html
    assert "Rotate key" not in html
    assert f'action="{url("accept_terms", subscription.pk)}"' not in html
    assert "End the trial" not in html
    assert client.get(url("usage", subscription.pk)).status_code == 200

    html = page(client.get(url("installation_create", subscription.pk)))
    assert "Only owners, admins and billing members of Huaxin Precision can register" in html
    response = client.post(
        url("installation_create", subscription.pk),
        {"name": "Line 4", "kind": "line"},
        follow=True,
    )
    assert "Only owners, admins and billing members can manage installations." in page(response)
    assert Installation.objects.count() == 1

    pk, installation = subscription.pk, issued.installation.pk
    for action in ("installation_rotate", "installation_revoke"):
        html = page(client.post(url(action, pk, installation), follow=True))
        assert "Only owners, admins and billing members can manage installations." in html
    assert InstallationKey.objects.get().is_active

    html = page(client.post(url("accept_terms", pk), follow=True))
    assert "Only owners, admins and billing members can accept invoice terms." in html
    html = page(client.post(url("cancel", pk), follow=True))
    assert "Only owners, admins and billing members can subscribe for Huaxin Precision." in html
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.TRIALING


def test_a_plain_member_cannot_start_a_trial(client, trial_plan, buyer_member):
    client.force_login(buyer_member)
    response = client.post(url("start"), {"plan": trial_plan.pk}, follow=True)
    assert "Only owners, admins and billing members can subscribe for Huaxin Precision." in page(
        response
    )
    assert not Subscription.objects.exists()


def test_someone_without_an_organization_is_asked_to_create_one(client, trial_plan, user):
    client.force_login(user)
    html = page(client.get(url("list")))
    assert "No organization yet" in html
    response = client.post(url("start"), {"plan": trial_plan.pk}, follow=True)
    assert "Create or join a buyer organization to start a trial." in page(response)


@pytest.fixture
def pro_plan(trial_listing):
    """A dearer plan of the same listing, without a trial: 1,499 a month."""
    plan = Plan.objects.create(listing=trial_listing, name="Pro", is_published=True)
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=Decimal("1499"))
    return plan


def test_a_trial_changes_plan_and_continues(owner_client, subscription, pro_plan):
    html = page(owner_client.get(url("change_plan", subscription.pk)))
    assert "Your trial continues on the new plan" in html
    assert "Switch to Pro" in html
    html = page(
        owner_client.post(url("change_plan", subscription.pk), {"plan": pro_plan.pk}, follow=True)
    )
    assert "You are now on the Pro plan." in html
    subscription.refresh_from_db()
    assert (subscription.plan_version.plan, subscription.status) == (pro_plan, "trialing")
    assert not subscription.pending_items.exists()


def test_a_paid_upgrade_shows_and_leaves_its_proration(
    owner_client, subscription, pro_plan, buyer_owner, buyer
):
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    subscriptions.subscription_end_trial(
        subscription_id=subscription.pk, now=subscription.trial_ends_at
    )
    html = page(owner_client.get(url("change_plan", subscription.pk)))
    assert "Switching now adds" in html
    owner_client.post(url("change_plan", subscription.pk), {"plan": pro_plan.pk})
    subscription.refresh_from_db()
    item = subscription.pending_items.get()
    assert item.kind == "proration"
    # The paid period starts when the trial ends, still ahead: the whole difference is due.
    assert item.amount == Decimal("1000.00")
