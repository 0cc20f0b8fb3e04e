import io
import struct
import zlib
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from billing.models import Metric, Plan
from billing.services import plans
from billing.services.plans import MeteredTerms, PlanTerms
from marketplace.accounts.models import Organization, Role
from marketplace.catalog import services
from marketplace.catalog.models import Listing
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

DESCRIPTION = "Counts parts on a conveyor.\n\n## Features\n\n- Runs on a Raspberry Pi\n"


@pytest.fixture(autouse=True)
def _english():
    """Pages here are asked for and read in English.

    A request to a /zh-hans/ page elsewhere in the suite leaves Chinese active in the test
    thread, and reverse() would then give the Chinese addresses.
    """
    with translation.override(settings.LANGUAGE_CODE):
        yield


def with_mfa(user):
    """Vendor owners and staff must have an authenticator, or pages send them to set one up."""
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def vendor(db):
    return OrganizationFactory(name="Lumen Edge", slug="lumen-edge", is_vendor=True, is_buyer=False)


@pytest.fixture
def vendor_owner(vendor):
    return with_mfa(MembershipFactory(organization=vendor, role=Role.OWNER).user)


@pytest.fixture
def rival_owner(db):
    rival = OrganizationFactory(
        name="Rival Robotics", slug="rival-robotics", is_vendor=True, is_buyer=False
    )
    return with_mfa(MembershipFactory(organization=rival, role=Role.OWNER).user)


@pytest.fixture
def staff(db):
    return with_mfa(UserFactory(is_staff=True))


@pytest.fixture
def draft(vendor, vendor_owner) -> Listing:
    return services.listing_create(
        actor=vendor_owner,
        vendor=vendor,
        name="Lumen Count",
        tagline="Counts parts from any camera",
        description=DESCRIPTION,
    )


@pytest.fixture
def in_review(draft, vendor_owner) -> Listing:
    return services.listing_submit(actor=vendor_owner, listing=draft)


def listing_data(**overrides) -> dict:
    """What the editor posts: every field, and an empty formset of KPI claims."""
    data = {
        "kind": "solution",
        "name": "Lumen Count",
        "tagline": "Counts parts from any camera",
        "description": DESCRIPTION,
        "deploy_minutes": "15",
        "min_ram_mb": "512",
        "cpu_cores": "0.5",
        "edge_hardware": "Raspberry Pi 4",
        "license": "",
        "repository_url": "",
        "website": "",
        "kpi-TOTAL_FORMS": "5",
        "kpi-INITIAL_FORMS": "0",
        "kpi-MIN_NUM_FORMS": "0",
        "kpi-MAX_NUM_FORMS": "5",
    }
    data.update(overrides)
    return data


def png_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 140)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name="shot.png", size=(64, 48)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


def bomb_png_upload(width=50_000, height=50_000) -> SimpleUploadedFile:
    """A 1x1 PNG whose header claims width x height pixels (with a valid header checksum)."""
    data = bytearray(png_bytes((1, 1)))
    # Signature (8 bytes), then the IHDR chunk: length (4), type (4), data (13), CRC (4).
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return SimpleUploadedFile("bomb.png", bytes(data), content_type="image/png")


# --- Pricing ------------------------------------------------------------------------------------


@pytest.fixture
def metrics(draft, vendor_owner) -> dict[str, Metric]:
    """A usage count and an outcome, as a vision system measures them."""
    return {
        "inspections": plans.metric_create(
            actor=vendor_owner, listing=draft, code="inspections", name="Inspections", unit="parts"
        ),
        "defects": plans.metric_create(
            actor=vendor_owner,
            listing=draft,
            code="defects",
            name="Defects caught",
            unit="defects",
            kind=Metric.Kind.OUTCOME,
        ),
    }


@pytest.fixture
def buyer(db) -> Organization:
    return OrganizationFactory(name="Huaxin Precision", slug="huaxin", is_buyer=True)


@pytest.fixture
def buyer_owner(buyer):
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


@pytest.fixture
def standard(draft, metrics, vendor_owner) -> Plan:
    """14 days free, then 499 CNY a month and 0.02 CNY per inspection over 1,000; not offered."""
    return plans.plan_create(
        actor=vendor_owner,
        listing=draft,
        name="Standard",
        terms=PlanTerms(
            trial_days=14,
            recurring_amount=Decimal(499),
            metered=(
                MeteredTerms(
                    metric="inspections",
                    unit_price=Decimal("0.02"),
                    included_units=Decimal(1000),
                ),
            ),
        ),
    )


def formset_data(prefix: str, rows: list[dict]) -> dict:
    """A formset as the plan editor posts it; a row's "tiers" become its own tier formset."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        row = dict(row)
        tiers = row.pop("tiers", None)
        if tiers is not None:
            data.update(formset_data(f"{prefix}-{index}-tier", tiers))
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def plan_data(*, metered=(), outcomes=(), **overrides) -> dict:
    """What the plan editor posts: the plan's fields and both formsets of charges."""
    data = {
        "name": "Standard",
        "description": "For one production line.",
        "private_for": "",
        "currency": "CNY",
        "trial_days": "14",
        "trial_allowance": "",
        "trial_allowance_metric": "",
        "recurring_amount": "499",
        "recurring_interval": "month",
        "payment_terms_days": "0",
    }
    data.update(overrides)
    data.update(formset_data("metered", [{"tiers": [], **row} for row in metered]))
    data.update(formset_data("outcome", list(outcomes)))
    return data
