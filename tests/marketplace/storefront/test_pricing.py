"""The pricing plans on a listing page: terms in words, and what each visitor can do."""

import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils.html import strip_tags

from billing.models import (
    MeteredCharge,
    Metric,
    OutcomeCharge,
    Plan,
    PlanVersion,
    PriceTier,
    Subscription,
)
from billing.money import Money
from billing.services import subscriptions
from marketplace.accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def listing_url(listing) -> str:
    return reverse("storefront:listing", args=[listing.slug])


def pricing_text(client, listing) -> str:
    """The pricing section's words, with whitespace collapsed (and non-breaking spaces kept)."""
    html = client.get(listing_url(listing)).content.decode()
    section = re.search(r'<section class="card pricing".*?</section>', html, re.S).group(0)
    return re.sub(r"[ \t\r\n]+", " ", strip_tags(section)).replace(NBSP, " ")


def test_a_plan_is_shown_in_words_with_its_currency(client, trial_listing, trial_plan):
    text = pricing_text(client, trial_listing)
    for words in (
        "Standard",
        "14 days free",
        "No card needed",
        "499.00 CNY a month, billed in advance",
        "0.02 CNY per unit after the first 1,000 inspections",
        "1.50 CNY per outcome (defects)",
        "At most 800.00 CNY per period.",
        "You have 7 days to accept or dispute each statement before it is billed.",
        "Pay within 30 days of the invoice",
        "Sign in to start a trial",
    ):
        assert words in text


def test_signed_out_visitors_are_asked_to_sign_in_and_come_back(client, trial_listing, trial_plan):
    html = client.get(listing_url(trial_listing)).content.decode()
    assert f'href="/accounts/login/?next=/catalog/{trial_listing.slug}/%23pricing"' in html
    assert "Start free trial" not in html


def test_tiers_are_a_small_table_and_outcomes_a_share_of_savings(
    client, trial_listing, trial_metrics
):
    inspections = trial_metrics["inspections"]
    kwh = Metric.objects.create(
        listing=trial_listing, code="kwh-saved", name="Energy saved", unit="kWh",
        kind=Metric.Kind.OUTCOME,
    )  # fmt: skip
    plan = Plan.objects.create(listing=trial_listing, name="Plant-wide", is_published=True)
    version = PlanVersion.objects.create(
        plan=plan,
        number=1,
        currency="USD",
        trial_allowance=Decimal(500),
        trial_allowance_metric=inspections,
        trial_requires_card=True,
    )
    charge = MeteredCharge.objects.create(
        version=version,
        metric=inspections,
        model=MeteredCharge.Model.VOLUME,
        included_units=Decimal(100),
    )
    PriceTier.objects.create(charge=charge, up_to=Decimal(10000), unit_price=Decimal("0.01"))
    PriceTier.objects.create(charge=charge, up_to=None, unit_price=Decimal("0.0075"))
    OutcomeCharge.objects.create(
        version=version,
        metric=kwh,
        method=OutcomeCharge.Method.SAVINGS_SHARE,
        share_percent=Decimal("20.00"),
        tariff=Decimal("0.12"),
        floor=Decimal(50),
        cap=Decimal(2000),
        verification_window_days=10,
    )
    text = pricing_text(client, trial_listing)
    assert "The first 500 inspections free, within 30 days" in text
    assert "A card on file is needed to start it." in text
    assert "None: pay only for what you use" in text
    assert (
        "Volume: the tier your total reaches prices every unit after the first 100 inspections"
        in text
    )
    assert re.search(r"Up to 10,000 0.01 USD Over 10,000 0.0075 USD", text)
    assert (
        "20% of the savings against your agreed baseline, each unit saved (kWh) valued at "
        "0.12 USD" in text
    )
    assert "At least 50.00 USD and at most 2,000.00 USD per period." in text
    assert "You have 10 days to accept or dispute" in text
    assert "Pay when the invoice is issued" in text


def test_the_newest_version_of_a_plan_is_shown(client, trial_listing, trial_plan):
    PlanVersion.objects.create(
        plan=trial_plan, number=2, trial_days=30, recurring_amount=Decimal("599.00")
    )
    text = pricing_text(client, trial_listing)
    assert "30 days free" in text
    assert "599.00 CNY a month" in text
    assert "499.00 CNY" not in text


def test_unpublished_and_other_buyers_private_plans_are_not_shown(
    client, trial_listing, trial_plan, buyer, buyer_owner
):
    Plan.objects.create(listing=trial_listing, name="Draft plan", is_published=False)
    secret = Plan.objects.create(
        listing=trial_listing, name="Negotiated", is_published=True, private_for=buyer
    )
    PlanVersion.objects.create(plan=secret, number=1, recurring_amount=Decimal(300))
    text = pricing_text(client, trial_listing)
    assert "Draft plan" not in text
    assert "Negotiated" not in text
    client.force_login(buyer_owner)
    text = pricing_text(client, trial_listing)
    assert "Negotiated Offered to you" in text
    assert "Draft plan" not in text


def test_a_listing_without_plans_says_so(client, trial_listing):
    assert "The vendor has not published plans yet." in pricing_text(client, trial_listing)


def test_a_buyer_who_may_subscribe_gets_the_start_button(
    client, trial_listing, trial_plan, buyer_owner
):
    client.force_login(buyer_owner)
    html = client.get(listing_url(trial_listing)).content.decode()
    assert 'action="/subscriptions/start/"' in html
    assert f'name="plan" value="{trial_plan.pk}"' in html
    assert "Start free trial" in html
    assert "For Huaxin Precision. Nothing is charged during the trial." in html


def test_a_buyer_who_has_the_plan_is_sent_to_the_subscription(
    client, trial_listing, subscription, buyer_owner
):
    client.force_login(buyer_owner)
    html = client.get(listing_url(trial_listing)).content.decode()
    assert "Start free trial" not in html
    assert "Open your subscription" in html
    assert f'href="/subscriptions/{subscription.pk}/"' in html


def test_after_a_cancellation_the_plan_can_be_started_again(
    client, trial_listing, subscription, buyer_owner
):
    subscriptions.subscription_cancel(actor=buyer_owner, subscription=subscription)
    client.force_login(buyer_owner)
    html = client.get(listing_url(trial_listing)).content.decode()
    assert "Start free trial" in html


def test_a_plain_member_is_told_who_can_start_a_plan(
    client, trial_listing, trial_plan, buyer_member
):
    client.force_login(buyer_member)
    text = pricing_text(client, trial_listing)
    assert "Start free trial" not in text
    assert "Owners, admins and billing members of Huaxin Precision can start this plan." in text


def test_the_vendor_sees_its_own_plans_without_a_button(
    client, trial_listing, trial_plan, vendor_admin
):
    client.force_login(vendor_admin)
    text = pricing_text(client, trial_listing)
    assert "Your organization offers this listing." in text
    assert "Start free trial" not in text


def test_a_plan_without_trial_asks_to_accept_invoice_terms_first(
    client, trial_listing, buyer, buyer_owner
):
    plan = Plan.objects.create(listing=trial_listing, name="Yearly", is_published=True)
    PlanVersion.objects.create(
        plan=plan, number=1, recurring_amount=Decimal(4990), recurring_interval="year",
        payment_terms_days=30,
    )  # fmt: skip
    client.force_login(buyer_owner)
    text = pricing_text(client, trial_listing)
    assert "4,990.00 CNY a year" in text
    assert "Pay by invoice: we pay each invoice within 30 days." in text
    # Subscribing without ticking it is refused by the service, with its message.
    response = client.post(reverse("subscriptions:start"), {"plan": plan.pk}, follow=True)
    assert "Add a card or accept invoice terms before subscribing." in response.content.decode()
    assert not Subscription.objects.exists()
    response = client.post(
        reverse("subscriptions:start"), {"plan": plan.pk, "accept_invoice_terms": "1"}
    )
    subscription = Subscription.objects.get()
    assert response["Location"] == f"/subscriptions/{subscription.pk}/"
    assert subscription.status == Subscription.Status.ACTIVE
    buyer.billing_account.refresh_from_db()
    assert buyer.billing_account.invoice_terms_accepted_by == buyer_owner
    # Now on file: the box is no longer asked for on other plans.
    other = Plan.objects.create(listing=trial_listing, name="Monthly", is_published=True)
    PlanVersion.objects.create(plan=other, number=1, recurring_amount=Decimal(450))
    assert "Pay by invoice" not in pricing_text(client, trial_listing)


def test_a_billing_member_of_a_second_organization_buys_for_the_active_one(
    client, trial_listing, trial_plan, buyer_owner
):
    other = OrganizationFactory(name="Rival Castings")
    MembershipFactory(organization=other, user=buyer_owner, role=Role.BILLING)
    client.force_login(buyer_owner)
    client.post(reverse("accounts:organization_switch"), {"organization": other.slug})
    client.post(reverse("subscriptions:start"), {"plan": trial_plan.pk})
    assert Subscription.objects.get().buyer == other


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ amount|money:"CNY" }}', "499.00 CNY"),
        ('{{ fraction|money:"CNY" }}', "0.005 CNY"),
        ('{{ big|money:"JPY" }}', "1,200,000 JPY"),
        ("{{ total|money }}", "1,234.50 USD"),
        ("{{ count|quantity }}", "1,000"),
        ("{{ reading|quantity }}", "12.5"),
    ],
)
def test_money_and_quantities_are_exact_decimals_with_grouping(source, expected):
    context = Context(
        {
            "amount": Decimal("499.000000"),
            "fraction": Decimal("0.005000"),
            "big": Decimal(1200000),
            "total": Money(Decimal("1234.5"), "USD"),
            "count": Decimal("1000.000000000"),
            "reading": Decimal("12.500000000"),
        }
    )
    rendered = Template("{% load pricing_tags %}" + source).render(context)
    assert rendered.replace(NBSP, " ") == expected


def test_a_float_amount_is_refused():
    with pytest.raises(TypeError, match="never floats"):
        Template('{% load pricing_tags %}{{ amount|money:"CNY" }}').render(
            Context({"amount": 4.99})
        )


def test_a_preview_shows_the_plans_without_a_button(
    client, trial_listing, trial_plan, vendor_admin
):
    trial_listing.status = trial_listing.Status.DRAFT
    trial_listing.save()
    client.force_login(vendor_admin)
    text = pricing_text(client, trial_listing)
    assert "14 days free" in text
    assert "Buyers can start this plan once the listing is published." in text
