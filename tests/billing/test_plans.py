"""Vendors define plans; terms are versioned once anyone subscribed."""

from decimal import Decimal

import pytest

from billing.models import PlanVersion
from billing.services import plans, subscriptions
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms, TierTerms
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from tests.factories import MembershipFactory

D = Decimal


@pytest.fixture
def vendor_admin(listing):
    return MembershipFactory(organization=listing.vendor, role=Role.ADMIN).user


TERMS = PlanTerms(
    trial_days=14,
    recurring_amount=D("499"),
    metered=(
        MeteredTerms(
            metric="inspections",
            model="graduated",
            tiers=(TierTerms(D(1000), D("0.10")), TierTerms(None, D("0.05"))),
        ),
    ),
    outcomes=(OutcomeTerms(metric="defects", unit_price=D("2.50"), cap=D(500)),),
)


def test_a_plan_is_created_with_its_first_version(listing, metrics, vendor_admin):
    plan = plans.plan_create(actor=vendor_admin, listing=listing, name="Standard", terms=TERMS)
    version = plan.versions.get()
    assert (version.number, version.trial_days, version.recurring_amount) == (1, 14, D(499))
    charge = version.metered_charges.get()
    assert [(t.up_to, t.unit_price) for t in charge.tiers.all()] == [
        (D(1000), D("0.10")),
        (None, D("0.05")),
    ]
    assert version.outcome_charges.get().cap == D(500)
    assert plan.is_published is False


def test_terms_change_in_place_until_someone_subscribes(
    listing, metrics, vendor_admin, buyer, buyer_owner
):
    plan = plans.plan_create(actor=vendor_admin, listing=listing, name="Standard", terms=TERMS)
    plans.plan_update_terms(
        actor=vendor_admin, plan=plan, terms=PlanTerms(trial_days=7, recurring_amount=D(399))
    )
    assert plan.versions.count() == 1
    plans.plan_set_offered(actor=vendor_admin, plan=plan, offered=True)
    subscription = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    new = plans.plan_update_terms(
        actor=vendor_admin, plan=plan, terms=PlanTerms(trial_days=7, recurring_amount=D(599))
    )
    assert new.number == 2
    subscription.refresh_from_db()
    assert subscription.plan_version.recurring_amount == D(399)  # the subscriber keeps theirs
    assert PlanVersion.objects.get(plan=plan, number=1).recurring_amount == D(399)


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        (PlanTerms(currency="XYZ"), "Choose a currency"),
        (PlanTerms(trial_days=0), "A trial lasts from 1 to 365 days."),
        (PlanTerms(recurring_amount=D(-1)), "The recurring fee must be a positive amount."),
        (PlanTerms(metered=(MeteredTerms(metric="defects", unit_price=D(1)),)), "not a usage"),
        (PlanTerms(metered=(MeteredTerms(metric="inspections"),)), "The unit price is required."),
        (
            PlanTerms(
                metered=(
                    MeteredTerms(
                        metric="inspections",
                        model="volume",
                        tiers=(TierTerms(None, D(1)), TierTerms(D(10), D(1))),
                    ),
                )
            ),
            "Only the last tier is open-ended.",
        ),
        (
            PlanTerms(
                metered=(
                    MeteredTerms(
                        metric="inspections",
                        model="graduated",
                        tiers=(
                            TierTerms(D(10), D(1)),
                            TierTerms(D(5), D(1)),
                            TierTerms(None, D(1)),
                        ),
                    ),
                )
            ),
            "Tier limits must go up.",
        ),
        (
            PlanTerms(
                outcomes=(OutcomeTerms(metric="defects", unit_price=D(1), floor=D(9), cap=D(5)),)
            ),
            "The floor cannot be above the cap.",
        ),
        (
            PlanTerms(
                outcomes=(
                    OutcomeTerms(
                        metric="defects", method="savings_share", share_percent=D(120), tariff=D(1)
                    ),
                )
            ),
            "The share of savings is between 0 and 100%.",
        ),
        (PlanTerms(trial_allowance=D(100), trial_allowance_metric="steam"), "Say which metric"),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_saved(listing, metrics, vendor_admin, terms, message):
    with pytest.raises(ServiceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plans.plan_create(actor=vendor_admin, listing=listing, name="Bad", terms=terms)
    assert listing.plans.count() == 0


def test_only_the_vendors_publishers_change_plans(listing, metrics, buyer_owner):
    with pytest.raises(ServiceError) as refused:
        plans.plan_create(actor=buyer_owner, listing=listing, name="Mine", terms=TERMS)
    assert refused.value.status_code == 403


def test_metric_codes_are_unique_per_listing(listing, metrics, vendor_admin):
    with pytest.raises(ServiceError, match="already has a metric inspections"):
        plans.metric_create(
            actor=vendor_admin, listing=listing, code="Inspections", name="x", unit="x"
        )
