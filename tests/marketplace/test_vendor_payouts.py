"""A vendor's payout pages: the list, the statement and its CSV, who sees and does what, Stripe
Connect onboarding (with the gateway's Connect calls replaced: localstripe has no Connect)."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from billing import gateway
from billing.models import LedgerTransaction, Payout, VendorPayoutAccount
from billing.services import invoicing, payouts
from marketplace.accounts.models import Role
from tests.billing.test_payouts import paid_invoice, utc
from tests.factories import ListingFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _english():
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def listing(db):
    return ListingFactory(vendor__name="Lumen Edge", vendor__slug="lumen-edge", name="Weave Eye")


@pytest.fixture
def vendor(listing):
    return listing.vendor


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True)
    TOTP.activate(user, generate_totp_secret())  # staff are sent to MFA set-up without one
    return user


@pytest.fixture
def manager(vendor):
    return MembershipFactory(organization=vendor, role=Role.BILLING).user


@pytest.fixture
def member(vendor):
    return MembershipFactory(organization=vendor, role=Role.MEMBER).user


@pytest.fixture
def outsider(db):
    return MembershipFactory(role=Role.OWNER).user


@pytest.fixture
def invoices(staff, listing):
    return [
        paid_invoice(listing, "499.00", utc(10, 5, 16), staff=staff),
        paid_invoice(listing, "120.00", utc(10, 20), staff=staff),
    ]


@pytest.fixture
def payout(invoices):
    (payout,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    return payout


def urls(vendor, payout) -> dict[str, str]:
    return {
        "list": reverse("vendors:payouts", args=[vendor.slug]),
        "detail": reverse("vendors:payout_detail", args=[vendor.slug, payout.pk]),
        "csv": reverse("vendors:payout_csv", args=[vendor.slug, payout.pk]),
    }


def test_members_see_the_payouts_and_the_statement(client, member, vendor, payout, invoices):
    client.force_login(member)
    pages = urls(vendor, payout)

    listed = client.get(pages["list"])
    assert listed.status_code == 200
    row = listed.content.decode()
    assert f'data-testid="payout-{payout.pk}"' in row
    assert "October 2026" in row
    assert f"557.10{NBSP}CNY" in row
    assert "Connect with Stripe" not in row  # Connect is not configured

    detail = client.get(pages["detail"]).content.decode()
    for invoice in invoices:
        assert invoice.number in detail
        assert invoice.buyer.name in detail
    # 499.00: fee 49.90, share 449.10; 120.00: fee 12.00, share 108.00.
    for amount in ("499.00", "49.90", "449.10", "120.00", "12.00", "108.00", "619.00", "61.90"):
        assert f"{amount}{NBSP}CNY" in detail
    assert 'data-testid="mark-paid-form"' not in detail  # staff only


def test_the_payouts_page_shows_what_is_awaiting_payment_and_what_is_owed(
    client, member, staff, vendor, listing, payout
):
    paid_invoice(listing, "250.00", None)  # issued, not paid: its 225.00 share is not owed yet
    client.force_login(member)
    page = client.get(reverse("vendors:payouts", args=[vendor.slug])).content.decode()
    awaiting = page.split('data-testid="awaiting-CNY"')[1].split("</div>")[0]
    owed = page.split('data-testid="owed-CNY"')[1].split("</div>")[0]
    assert f"225.00{NBSP}CNY" in awaiting
    assert f"557.10{NBSP}CNY" in owed  # 449.10 + 108.00, paid, in the prepared payout

    payouts.payout_mark_paid(actor=staff, payout=payout, reference="OUT-1", now=utc(11, 3))
    page = client.get(reverse("vendors:payouts", args=[vendor.slug])).content.decode()
    assert f"0.00{NBSP}CNY" in page.split('data-testid="owed-CNY"')[1].split("</div>")[0]


def test_the_statement_as_csv(client, member, vendor, payout, invoices):
    client.force_login(member)
    response = client.get(urls(vendor, payout)["csv"])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"payout-lumen-edge-2026-10-{payout.pk}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    first, second = invoices
    assert rows == [
        [
            "invoice",
            "buyer",
            "paid_at",
            "currency",
            "total",
            "platform_fee",
            "credited",
            "vendor_share",
            "credit_note",
        ],
        [
            first.number,
            first.buyer.name,
            "2026-10-05T16:00:00+00:00",
            "CNY",
            "499.00",
            "49.90",
            "0.00",
            "449.10",
            "",
        ],
        [
            second.number,
            second.buyer.name,
            "2026-10-20T00:00:00+00:00",
            "CNY",
            "120.00",
            "12.00",
            "0.00",
            "108.00",
            "",
        ],
    ]


def test_a_credit_note_on_an_invoice_paid_out_earlier_shows_on_the_next_statement(
    client, member, staff, vendor, listing, payout, invoices
):
    note = invoicing.credit_note_create(
        actor=staff, invoice=invoices[0], amount=D("100.00"), reason="Down", now=utc(11, 10)
    )
    paid_invoice(listing, "499.00", utc(11, 12), staff=staff)
    (november,) = payouts.payouts_prepare(month=date(2026, 11, 1), now=utc(12, 1))
    client.force_login(member)

    detail = client.get(reverse("vendors:payout_detail", args=[vendor.slug, november.pk]))
    section = detail.content.decode().split('data-testid="later-credits"')[1]
    assert note.number in section
    assert invoices[0].number in section
    assert f"90.00{NBSP}CNY" in section
    assert f"359.10{NBSP}CNY" in detail.content.decode()  # 449.10 - 90.00

    response = client.get(reverse("vendors:payout_csv", args=[vendor.slug, november.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[-1] == [invoices[0].number, "", "", "CNY", "0", "0", "90.00", "-90.00", note.number]


def test_outsiders_get_404_everywhere(client, outsider, vendor, payout):
    client.force_login(outsider)
    for url in urls(vendor, payout).values():
        assert client.get(url).status_code == 404
    paid = reverse("vendors:payout_mark_paid", args=[vendor.slug, payout.pk])
    assert client.post(paid, {"reference": "X"}).status_code == 404


def test_a_payout_of_another_vendor_is_not_found_under_this_one(
    client, manager, vendor, payout, staff
):
    other = ListingFactory(vendor__slug="kiln-soft").vendor
    paid_invoice(ListingFactory(vendor=other), "80.00", utc(10, 7), staff=staff)
    (theirs,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 2))
    client.force_login(manager)
    assert client.get(urls(vendor, theirs)["detail"]).status_code == 404


def test_staff_mark_a_payout_paid_from_the_statement(client, staff, vendor, payout):
    client.force_login(staff)
    detail = urls(vendor, payout)["detail"]
    assert 'data-testid="mark-paid-form"' in client.get(detail).content.decode()
    paid = reverse("vendors:payout_mark_paid", args=[vendor.slug, payout.pk])

    missing = client.post(paid, {"reference": ""})
    assert missing.status_code == 400
    assert "This field is required." in missing.content.decode()

    response = client.post(paid, {"reference": "OUT-2026-10"}, follow=True)
    assert response.redirect_chain[-1][0] == detail
    page = response.content.decode()
    assert "The payout is marked paid." in page
    assert "OUT-2026-10" in page
    assert 'data-testid="mark-paid-form"' not in page
    payout.refresh_from_db()
    assert (payout.status, payout.paid_by) == (Payout.Status.PAID, staff)
    assert LedgerTransaction.objects.filter(idempotency_key=f"payout:{payout.pk}:paid").exists()


def test_a_billing_member_cannot_mark_a_payout_paid(client, manager, vendor, payout):
    client.force_login(manager)
    paid = reverse("vendors:payout_mark_paid", args=[vendor.slug, payout.pk])
    assert client.post(paid, {"reference": "OUT"}).status_code == 403
    payout.refresh_from_db()
    assert payout.status == Payout.Status.DRAFT


def test_the_dashboard_links_to_the_payouts(client, member, vendor):
    client.force_login(member)
    page = client.get(reverse("vendors:billing", args=[vendor.slug])).content.decode()
    assert reverse("vendors:payouts", args=[vendor.slug]) in page


def test_an_empty_list_says_when_payouts_come(client, member, vendor):
    client.force_login(member)
    page = client.get(reverse("vendors:payouts", args=[vendor.slug])).content.decode()
    assert "No payouts yet" in page


# --- Stripe Connect -------------------------------------------------------------------------------


@pytest.fixture
def connect(settings, monkeypatch):
    settings.STRIPE_CONNECT_ENABLED = True
    calls = []

    def account_create(**kwargs):
        calls.append(("account", kwargs))
        return "acct_1Lumen"

    def link_create(**kwargs):
        calls.append(("link", kwargs))
        return "https://connect.stripe.com/setup/e/acct_1Lumen/abc"

    monkeypatch.setattr(gateway, "connect_account_create", account_create)
    monkeypatch.setattr(gateway, "connect_account_link_create", link_create)
    return calls


def test_a_billing_member_connects_with_stripe(client, connect, manager, vendor):
    client.force_login(manager)
    listed = reverse("vendors:payouts", args=[vendor.slug])
    assert "Connect with Stripe" in client.get(listed).content.decode()

    response = client.post(reverse("vendors:payouts_connect", args=[vendor.slug]))

    assert response.status_code == 302
    assert response["Location"] == "https://connect.stripe.com/setup/e/acct_1Lumen/abc"
    back = f"http://testserver{listed}"
    assert connect[0] == (
        "account",
        {"organization_id": vendor.pk, "email": manager.email, "key": f"connect:{vendor.pk}"},
    )
    assert connect[1] == (
        "link",
        {"account_id": "acct_1Lumen", "return_url": back, "refresh_url": back},
    )
    assert VendorPayoutAccount.objects.get(organization=vendor).stripe_account_id == "acct_1Lumen"
    assert "acct_1Lumen" in client.get(listed).content.decode()


def test_a_plain_member_sees_no_connect_button_and_may_not_connect(client, connect, member, vendor):
    client.force_login(member)
    page = client.get(reverse("vendors:payouts", args=[vendor.slug])).content.decode()
    assert "Connect with Stripe" not in page
    assert client.post(reverse("vendors:payouts_connect", args=[vendor.slug])).status_code == 403
    assert connect == []
