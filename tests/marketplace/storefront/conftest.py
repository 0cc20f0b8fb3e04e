import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import translation

from marketplace.accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, VendorFactory


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
