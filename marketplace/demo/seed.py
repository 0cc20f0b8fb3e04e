"""The demo data, written so that running it again changes nothing.

Each function finds its rows by a natural key (email, slug, locale) and brings them to the
wanted state; nothing is created twice and nothing a demo user added is deleted.
"""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import transaction

from marketplace.accounts.models import Membership, Organization, Role, User
from marketplace.demo.billing import seed_billing
from marketplace.demo.catalog import seed_catalog
from marketplace.demo.cms import seed_cms
from marketplace.demo.community import seed_community


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    is_buyer: bool
    is_vendor: bool
    website: str = ""
    time_zone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    is_staff: bool = False
    memberships: tuple[tuple[str, str], ...] = ()  # (organization slug, role)


ORGANIZATIONS = [
    DemoOrganization("huaxin-precision", "Huaxin Precision Parts", is_buyer=True, is_vendor=False),
    DemoOrganization("jiangnan-textiles", "Jiangnan Textiles", is_buyer=True, is_vendor=False),
    DemoOrganization(
        "lumen-edge",
        "Lumen Edge Analytics",
        is_buyer=False,
        is_vendor=True,
        website="https://lumen-edge.example.com",
    ),
    DemoOrganization(
        "opcbridge-labs",
        "OPCBridge Labs",
        is_buyer=True,
        is_vendor=True,
        website="https://opcbridge.example.com",
        time_zone="Europe/Berlin",
    ),
]

USERS = [
    DemoUser(
        "buyer@demo.test",
        "Li",
        "Wei",
        memberships=(("huaxin-precision", Role.OWNER), ("jiangnan-textiles", Role.BILLING)),
    ),
    DemoUser(
        "vendor@demo.test",
        "Anna",
        "Schmidt",
        memberships=(("lumen-edge", Role.OWNER), ("opcbridge-labs", Role.ADMIN)),
    ),
    DemoUser("staff@demo.test", "Precis", "Staff", is_staff=True),
]


def seed_organizations() -> dict[str, Organization]:
    organizations = {}
    for spec in ORGANIZATIONS:
        organization, _ = Organization.objects.update_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "is_buyer": spec.is_buyer,
                "is_vendor": spec.is_vendor,
                "website": spec.website,
                "time_zone": spec.time_zone,
            },
        )
        organizations[spec.slug] = organization
    return organizations


def seed_users(*, password: str, organizations: dict[str, Organization]) -> dict[str, User]:
    users = {}
    for spec in USERS:
        user, created = User.objects.get_or_create(email=spec.email)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.is_staff = user.is_superuser = spec.is_staff
        if created or not user.check_password(password):
            user.set_password(password)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=spec.email, defaults={"verified": True, "primary": True}
        )
        for slug, role in spec.memberships:
            Membership.objects.update_or_create(
                user=user, organization=organizations[slug], defaults={"role": role}
            )
        users[spec.email] = user
    return users


def seed_mfa(users: list[User]) -> None:
    """Give demo staff and vendor owners an authenticator, as Precis requires of them.

    The secret is random and not shown: on the development server the code 000000 is accepted
    (MFA_TOTP_INSECURE_BYPASS_CODE in settings/dev.py); elsewhere, set up your own.
    """
    for user in users:
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, generate_totp_secret())
        RecoveryCodes.activate(user)


@transaction.atomic
def seed_demo(*, password: str) -> None:
    organizations = seed_organizations()
    users = seed_users(password=password, organizations=organizations)
    seed_mfa([users["staff@demo.test"], users["vendor@demo.test"]])
    seed_catalog(staff=users["staff@demo.test"])
    seed_cms()  # after the catalog: case studies link its listings
    seed_community(password=password, staff=users["staff@demo.test"])
    seed_billing(
        vendor_user=users["vendor@demo.test"],
        buyer_user=users["buyer@demo.test"],
        staff_user=users["staff@demo.test"],
    )
