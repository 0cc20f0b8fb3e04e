"""A listing's pricing in the vendor portal: metrics, the plan editor, versions, offering."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from billing.models import Metric, Plan
from billing.services import plans, subscriptions
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms, TierTerms
from marketplace.accounts.models import Role
from marketplace.catalog.models import Listing
from tests.factories import MembershipFactory

from .conftest import plan_data, with_mfa

pytestmark = pytest.mark.django_db

D = Decimal


def pricing_url(listing) -> str:
    return reverse("vendors:listing_pricing", args=[listing.slug])


def page(response) -> str:
    return response.content.decode()


# --- Metrics ----------------------------------------------------------------------------------


def test_add_a_metric(client, vendor_owner, draft):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:metric_create", args=[draft.slug]),
        {
            "code": "kwh",
            "name": "Energy",
            "unit": "kWh",
            "kind": "usage",
            "aggregation": "sum",
            "mode": "cumulative",
            "unique_property": "",
        },
        follow=True,
    )
    metric = draft.metrics.get()
    assert (metric.code, metric.unit, metric.mode) == ("kwh", "kWh", Metric.Mode.CUMULATIVE)
    assert response.redirect_chain[-1][0] == pricing_url(draft)
    assert "Metric kwh added." in page(response)
    assert "Each event is a running total" in page(response)
    assert "cannot be changed or removed once added" in page(response)


def test_a_metric_code_is_used_once_per_listing(client, vendor_owner, draft, metrics):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:metric_create", args=[draft.slug]),
        {"code": "inspections", "name": "Again", "unit": "parts", "kind": "usage"}
        | {"aggregation": "sum", "mode": "delta"},
    )
    assert response.status_code == 200
    assert "This listing already has a metric inspections." in page(response)
    assert draft.metrics.count() == 2


# --- Creating plans ---------------------------------------------------------------------------


GRADUATED = {
    "metric": "inspections",
    "model": "graduated",
    "included_units": "100",
    "tiers": [
        {"up_to": "1000", "unit_price": "0.10", "flat_amount": ""},
        {"up_to": "", "unit_price": "0.05", "flat_amount": "20"},
        {"up_to": "", "unit_price": "", "flat_amount": ""},  # an empty row is left out
    ],
}
PER_INSPECTION = {"metric": "inspections", "model": "per_unit", "unit_price": "1"}
PER_DEFECT = {
    "metric": "defects",
    "method": "per_outcome",
    "unit_price": "2.50",
    "floor": "",
    "cap": "500",
    "verification_window_days": "10",
}


def test_create_a_plan_with_a_graduated_and_an_outcome_charge(client, vendor_owner, draft, metrics):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:plan_create", args=[draft.slug]),
        plan_data(metered=[GRADUATED], outcomes=[PER_DEFECT]),
        follow=True,
    )
    plan = draft.plans.get()
    version = plan.versions.get()
    assert (plan.name, plan.is_published, version.number) == ("Standard", False, 1)
    assert (version.trial_days, version.recurring_amount, version.currency) == (14, D(499), "CNY")
    charge = version.metered_charges.get()
    assert (charge.model, charge.included_units) == ("graduated", D(100))
    assert [(t.up_to, t.unit_price, t.flat_amount) for t in charge.tiers.all()] == [
        (D(1000), D("0.10"), D(0)),
        (None, D("0.05"), D(20)),
    ]
    outcome = version.outcome_charges.get()
    assert (outcome.unit_price, outcome.floor, outcome.cap) == (D("2.50"), None, D(500))
    assert outcome.verification_window_days == 10
    text = page(response)
    assert "Plan Standard saved. It is not offered yet" in text
    assert "14-day trial · 499.00 CNY a month" in text
    assert "Inspections: graduated, 2 tiers after 100 free" in text
    assert "Defects caught: 2.50 CNY each" in text
    assert "Not offered" in text


def test_a_private_plan_names_its_buyer(client, vendor_owner, draft, metrics, buyer):
    client.force_login(vendor_owner)
    url = reverse("vendors:plan_create", args=[draft.slug])
    response = client.post(url, plan_data(private_for="nobody-here"))
    assert "No buyer organization on Precis is called nobody-here." in page(response)
    assert not draft.plans.exists()
    response = client.post(url, plan_data(private_for=" Huaxin "), follow=True)
    assert draft.plans.get().private_for == buyer
    assert "Private for Huaxin Precision" in page(response)


OUT_OF_ORDER = {
    "metric": "inspections",
    "model": "volume",
    "tiers": [
        {"up_to": "1000", "unit_price": "0.10", "flat_amount": ""},
        {"up_to": "500", "unit_price": "0.08", "flat_amount": ""},
        {"up_to": "", "unit_price": "0.05", "flat_amount": ""},
    ],
}


@pytest.mark.parametrize(
    ("metered", "outcomes", "message"),
    [
        ([OUT_OF_ORDER], [], "Tier limits must go up."),
        ([], [PER_DEFECT | {"floor": "900", "cap": "500"}], "The floor cannot be above the cap."),
        ([PER_INSPECTION | {"unit_price": ""}], [], "The unit price is required."),
        (
            [GRADUATED | {"tiers": [{"up_to": "1000", "unit_price": "", "flat_amount": "5"}]}],
            [],
            "Give this tier&#x27;s unit price (0 for free).",
        ),
        (
            [GRADUATED | {"tiers": [{"up_to": "1000", "unit_price": "0.1", "flat_amount": ""}]}],
            [],
            "Leave “up to” empty on the last tier.",
        ),
        ([PER_INSPECTION | {"metric": ""}], [], "Choose the metric this charge counts"),
        ([PER_INSPECTION | {"unit_price": "cheap"}], [], "Enter a number."),
    ],
    ids=[
        "tiers-out-of-order",
        "floor-above-cap",
        "no-unit-price",
        "tier-without-price",
        "last-tier-bounded",
        "no-metric",
        "not-a-number",
    ],
)
def test_bad_terms_are_explained_and_nothing_is_saved(
    client, vendor_owner, draft, metrics, metered, outcomes, message
):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:plan_create", args=[draft.slug]),
        plan_data(metered=metered, outcomes=outcomes),
    )
    assert response.status_code == 200
    text = page(response)
    assert message in text
    assert "Nothing was saved." in text
    assert not Plan.objects.exists()


def test_the_editor_offers_only_metrics_of_the_right_kind(client, vendor_owner, draft, metrics):
    client.force_login(vendor_owner)
    text = page(client.get(reverse("vendors:plan_create", args=[draft.slug])))
    metered, outcomes = text.split('id="section-outcomes"')
    assert 'value="inspections"' in metered
    assert 'value="defects"' not in metered.split('id="section-metered"')[1]
    assert 'value="defects"' in outcomes
    assert 'value="inspections"' not in outcomes


def test_without_metrics_the_editor_says_to_add_them(client, vendor_owner, draft):
    client.force_login(vendor_owner)
    text = page(client.get(reverse("vendors:plan_create", args=[draft.slug])))
    assert "add a usage metric</a> first" in text
    assert "add an outcome metric</a> first" in text


# --- Editing plans and their versions ---------------------------------------------------------


def test_the_editor_shows_the_current_terms(client, vendor_owner, draft, standard):
    client.force_login(vendor_owner)
    text = page(client.get(reverse("vendors:plan_edit", args=[draft.slug, standard.pk])))
    assert 'name="recurring_amount" value="499"' in text
    assert 'name="metered-0-unit_price" value="0.02"' in text
    assert 'name="metered-0-included_units" value="1000"' in text
    assert "Nobody has subscribed to version 1 yet: saving changes it in place." in text


class PostedValues(HTMLParser):
    """What a browser posts from the plan editor as rendered, with nothing changed."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._in_form = False
        self._in_template = False
        self._select = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "data-plan-editor" in attrs:
            self._in_form = True
        if tag == "template":
            self._in_template = True
        if not self._in_form or self._in_template or "disabled" in attrs:
            return
        if tag == "input":
            checkable = attrs.get("type") in ("checkbox", "radio")
            if checkable and "checked" not in attrs:
                return
            self.data[attrs["name"]] = attrs.get("value", "on" if checkable else "")
        elif tag == "select":
            self._select = attrs["name"]
            self.data.setdefault(self._select, "")
        elif tag == "option" and "selected" in attrs:
            self.data[self._select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template = False
        if tag == "form":
            self._in_form = False


def test_saving_the_editor_unchanged_keeps_the_terms(client, vendor_owner, draft, metrics):
    terms = PlanTerms(
        currency="EUR",
        trial_allowance=D(500),
        trial_allowance_metric="inspections",
        trial_requires_card=True,
        recurring_amount=D("1200.50"),
        recurring_interval="year",
        payment_terms_days=30,
        metered=(
            MeteredTerms(
                metric="inspections",
                model="volume",
                included_units=D(10),
                tiers=(
                    TierTerms(D(100), D("0.5")),
                    TierTerms(D(1000), D("0.25"), D(5)),
                    TierTerms(None, D("0.125")),
                ),
            ),
        ),
        outcomes=(
            OutcomeTerms(
                metric="defects",
                method="savings_share",
                share_percent=D("12.5"),
                tariff=D("0.8"),
                floor=D(10),
                cap=D(900),
                verification_window_days=14,
            ),
        ),
    )
    plan = plans.plan_create(actor=vendor_owner, listing=draft, name="Yearly", terms=terms)
    client.force_login(vendor_owner)
    url = reverse("vendors:plan_edit", args=[draft.slug, plan.pk])
    form = PostedValues()
    form.feed(page(client.get(url)))

    posted = client.post(url, form.data)
    assert posted.status_code == 302, posted.context["editor"].form.errors
    version = plan.versions.get()
    assert (version.currency, version.recurring_amount, version.payment_terms_days) == (
        "EUR",
        D("1200.50"),
        30,
    )
    assert (version.trial_allowance, version.trial_requires_card) == (D(500), True)
    charge = version.metered_charges.get()
    assert (charge.model, charge.included_units) == ("volume", D(10))
    assert [(t.up_to, t.unit_price, t.flat_amount) for t in charge.tiers.all()] == [
        (D(100), D("0.5"), D(0)),
        (D(1000), D("0.25"), D(5)),
        (None, D("0.125"), D(0)),
    ]
    outcome = version.outcome_charges.get()
    assert (outcome.method, outcome.share_percent, outcome.tariff) == (
        "savings_share",
        D("12.5"),
        D("0.8"),
    )
    assert (outcome.floor, outcome.cap, outcome.verification_window_days) == (D(10), D(900), 14)

    form.data["metered-0-DELETE"] = "on"  # "Remove this charge"
    assert client.post(url, form.data).status_code == 302
    assert not plan.versions.get().metered_charges.exists()


def test_terms_change_in_place_while_nobody_subscribed(client, vendor_owner, draft, standard):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:plan_edit", args=[draft.slug, standard.pk]),
        plan_data(recurring_amount="399", metered=[PER_INSPECTION]),
    )
    assert response.status_code == 302
    version = standard.versions.get()
    assert (version.number, version.recurring_amount) == (1, D(399))
    assert standard.name == "Standard"


def test_editing_a_plan_with_a_subscriber_makes_a_new_version(
    client, vendor_owner, draft, standard, buyer, buyer_owner
):
    draft.status = Listing.Status.PUBLISHED  # the plan's listing is this very instance
    draft.save(update_fields=["status"])
    plans.plan_set_offered(actor=vendor_owner, plan=standard, offered=True)
    subscription = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=standard)
    client.force_login(vendor_owner)
    url = reverse("vendors:plan_edit", args=[draft.slug, standard.pk])

    text = page(client.get(url))
    assert "Saving makes version 2." in text
    assert "1 subscriber keeps version 1; new subscribers get version 2." in text
    assert "Save as version 2" in text

    response = client.post(
        url,
        plan_data(
            name="Renamed",  # not part of the terms: it changes for everyone
            recurring_amount="599",
            metered=[PER_INSPECTION | {"unit_price": "0.03", "included_units": "1000"}],
        ),
        follow=True,
    )
    text = page(response)
    assert "Plan Renamed saved as version 2." in text
    assert "1 subscriber keeps version 1; new subscribers get version 2." in text
    assert "Version 2: 0 subscribers" in text
    assert "Version 1: 1 subscriber" in text
    assert [v.number for v in standard.versions.all()] == [2, 1]
    assert standard.versions.get(number=2).recurring_amount == D(599)
    subscription.refresh_from_db()
    assert subscription.plan_version.number == 1
    assert subscription.plan_version.recurring_amount == D(499)  # the subscriber keeps theirs
    standard.refresh_from_db()
    assert standard.name == "Renamed"


def test_a_refused_edit_changes_nothing(client, vendor_owner, draft, standard):
    client.force_login(vendor_owner)
    response = client.post(
        reverse("vendors:plan_edit", args=[draft.slug, standard.pk]),
        plan_data(trial_days="400"),
    )
    assert "A trial lasts from 1 to 365 days." in page(response)
    assert standard.versions.get().trial_days == 14


# --- Offering ---------------------------------------------------------------------------------


def test_offer_a_plan_after_confirming_then_stop(client, vendor_owner, draft, standard):
    client.force_login(vendor_owner)
    url = reverse("vendors:plan_offer", args=[draft.slug, standard.pk])
    text = page(client.get(url))
    assert "Offer Standard?" in text
    assert "The listing is not published yet" in text
    standard.refresh_from_db()
    assert standard.is_published is False  # asking is not offering

    response = client.post(url, {"offered": "1"}, follow=True)
    standard.refresh_from_db()
    assert standard.is_published is True
    assert "Standard is offered." in page(response)

    assert "Stop offering Standard?" in page(client.get(url))
    response = client.post(url, {"offered": "0"}, follow=True)
    standard.refresh_from_db()
    assert standard.is_published is False
    assert "Standard is no longer offered." in page(response)


# --- Who may --------------------------------------------------------------------------------


def pricing_pages(listing, plan) -> dict[str, str]:
    return {
        "pricing": pricing_url(listing),
        "metric": reverse("vendors:metric_create", args=[listing.slug]),
        "create": reverse("vendors:plan_create", args=[listing.slug]),
        "edit": reverse("vendors:plan_edit", args=[listing.slug, plan.pk]),
        "offer": reverse("vendors:plan_offer", args=[listing.slug, plan.pk]),
    }


POSTS = {
    "metric": {"code": "steam", "name": "Steam", "unit": "t", "kind": "usage"}
    | {"aggregation": "sum", "mode": "delta"},
    "create": plan_data(name="Hijacked"),
    "edit": plan_data(recurring_amount="1"),
    "offer": {"offered": "1"},
}


def assert_unchanged(listing, plan):
    plan.refresh_from_db()
    assert list(listing.plans.all()) == [plan]
    assert plan.is_published is False
    assert plan.versions.get().recurring_amount == D(499)
    assert sorted(listing.metrics.values_list("code", flat=True)) == ["defects", "inspections"]


def test_another_vendor_gets_404_and_changes_nothing(client, rival_owner, draft, standard):
    client.force_login(rival_owner)
    urls = pricing_pages(draft, standard)
    for name, url in urls.items():
        assert client.get(url).status_code == 404, name
    for name, data in POSTS.items():
        assert client.post(urls[name], data).status_code == 404, name
    assert_unchanged(draft, standard)


def test_a_plan_of_another_listing_is_not_found(client, vendor_owner, draft, standard):
    other = plans.plan_create(
        actor=vendor_owner,
        listing=Listing.objects.create(vendor=draft.vendor, name="Other", slug="other"),
        name="Other",
        terms=plans.PlanTerms(),
    )
    client.force_login(vendor_owner)
    url = reverse("vendors:plan_edit", args=[draft.slug, other.pk])
    assert client.get(url).status_code == 404


def test_a_member_whose_role_cannot_publish_is_refused(client, vendor, draft, standard):
    member = with_mfa(MembershipFactory(organization=vendor, role=Role.MEMBER).user)
    client.force_login(member)
    urls = pricing_pages(draft, standard)
    for name, url in urls.items():
        assert client.get(url).status_code == 403, name
    for name, data in POSTS.items():
        assert client.post(urls[name], data).status_code == 403, name
    assert_unchanged(draft, standard)


def test_the_pricing_tab_lists_metrics_and_plans(client, vendor_owner, draft, standard):
    client.force_login(vendor_owner)
    text = page(client.get(pricing_url(draft)))
    assert 'aria-current="page">Pricing</a>' in text
    assert "Standard" in text
    assert "Version 1" in text
    assert "No subscribers yet" in text
    assert "14-day trial · 499.00 CNY a month · Inspections: 0.02 CNY/parts after 1,000 free" in (
        text
    )
    assert '<code class="mono">defects</code>' in text
