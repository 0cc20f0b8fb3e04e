from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import translation

from billing.models import MeteredCharge, Metric, OutcomeCharge, Plan, PlanVersion
from billing.services import subscriptions
from marketplace.accounts.models import Role
from tests.factories import (
    ListingFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    VendorFactory,
)


@pytest.fixture(autouse=True)
def _english():
    """A request for a Chinese page leaves Chinese active in the thread: reverse() in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def vendor(db):
    return VendorFactory(name="Lumen Edge", slug="lumen-edge")


@pytest.fixture
def vendor_admin(vendor):
    """A vendor member who may publish and reply (an admin: owners must set up MFA first)."""
    return MembershipFactory(organization=vendor, role=Role.ADMIN).user


@pytest.fixture
def buyer(db):
    return OrganizationFactory(name="Huaxin Precision", slug="huaxin", is_buyer=True)


@pytest.fixture
def buyer_member(buyer):
    return MembershipFactory(organization=buyer, role=Role.MEMBER).user


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True)
    TOTP.activate(user, generate_totp_secret())  # staff are sent to MFA set-up without one
    return user


# --- Billing: a listing with metrics and a plan with a trial, and a buyer who may subscribe ----


@pytest.fixture
def trial_listing(vendor):
    return ListingFactory(vendor=vendor, name="Weave Eye")


@pytest.fixture
def trial_metrics(trial_listing):
    """A usage count and an outcome, as a vision system measures them."""
    return {
        "inspections": Metric.objects.create(
            listing=trial_listing, code="inspections", name="Inspections", unit="inspections"
        ),
        "defects": Metric.objects.create(
            listing=trial_listing,
            code="defects",
            name="Defects caught",
            unit="defects",
            kind=Metric.Kind.OUTCOME,
        ),
    }


@pytest.fixture
def trial_plan(trial_listing, trial_metrics):
    """14 days free with no card, then 499 CNY a month and 0.02 CNY per inspection over 1,000,
    1.50 CNY per defect caught (at most 800 CNY a period), invoices due in 30 days."""
    plan = Plan.objects.create(listing=trial_listing, name="Standard", is_published=True)
    version = PlanVersion.objects.create(
        plan=plan,
        number=1,
        trial_days=14,
        recurring_amount=Decimal("499.00"),
        payment_terms_days=30,
    )
    MeteredCharge.objects.create(
        version=version,
        metric=trial_metrics["inspections"],
        unit_price=Decimal("0.02"),
        included_units=Decimal(1000),
    )
    OutcomeCharge.objects.create(
        version=version,
        metric=trial_metrics["defects"],
        unit_price=Decimal("1.50"),
        cap=Decimal(800),
        verification_window_days=7,
    )
    return plan


@pytest.fixture
def buyer_owner(buyer):
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


@pytest.fixture
def subscription(trial_plan, buyer, buyer_owner):
    return subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=trial_plan)
