"""Vendor payouts against the database: which invoices a month pays out, the figures, the
ledger, idempotency, and who may pay.

Invoices are made the way it happens: a subscription starts, the period close issues its first
fee, staff record the bank transfer that paid it at an explicit instant. The platform fee is
the default 10%: a 499.00 invoice leaves 49.90 to Precis and 449.10 to the vendor.

Stripe Connect is not in localstripe (tests/TESTING-NOTES), so the Connect paths replace the
three gateway functions and check what would be sent to Stripe: amounts and idempotency keys.
"""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing import gateway
from billing.models import (
    Invoice,
    LedgerTransaction,
    Payout,
    PayoutLine,
    Plan,
    PlanVersion,
    VendorPayoutAccount,
)
from billing.selectors import ledger_balance
from billing.services import invoicing, payouts, subscriptions
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from tests.factories import ListingFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def utc(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def paid_invoice(
    listing, amount: str, paid_at: datetime | None, *, currency: str = "CNY", staff=None
) -> Invoice:
    """A buyer subscribes to a plan of `listing` without trial; the close issues its first fee
    of `amount`; staff mark it paid at `paid_at` (None: it stays issued)."""
    plan = Plan.objects.create(listing=listing, name=f"Plan {amount} {currency}", is_published=True)
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D(amount), currency=currency)
    buyer = OrganizationFactory(time_zone="Asia/Shanghai")
    owner = MembershipFactory(organization=buyer, role=Role.OWNER).user
    subscriptions.billing_account_accept_invoice_terms(actor=owner, organization=buyer)
    started = (paid_at or utc(10, 10)) - timedelta(days=3)
    subscription = subscriptions.subscription_start(
        actor=owner, buyer=buyer, plan=plan, now=started
    )
    period_close(now=started + timedelta(minutes=1))
    invoice = Invoice.objects.get(subscription=subscription, status=Invoice.Status.ISSUED)
    if paid_at is not None:
        invoicing.invoice_mark_paid(
            actor=staff or UserFactory(is_staff=True),
            invoice=invoice,
            reference=f"BT-{invoice.pk}",
            now=paid_at,
        )
        invoice.refresh_from_db()
    return invoice


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def vendor_a(db):
    return ListingFactory(vendor__name="Lumen Edge", vendor__slug="lumen-edge").vendor


@pytest.fixture
def listing_a(vendor_a):
    return ListingFactory(vendor=vendor_a, name="Weave Eye")


@pytest.fixture
def listing_b(db):
    return ListingFactory(vendor__name="Kiln Soft", vendor__slug="kiln-soft", name="Kiln Watch")


def payable(vendor, currency: str = "CNY") -> Decimal:
    return ledger_balance("payable", organization=vendor, currency=currency)


# --- Platform fee per vendor ---------------------------------------------------------------------


def test_the_platform_fee_is_the_default_unless_the_vendor_has_its_own(vendor_a, listing_b):
    assert payouts.platform_fee_percent_for(vendor_a.pk) == D(10)
    VendorPayoutAccount.objects.create(organization=vendor_a, platform_fee_percent=D("7.5"))
    VendorPayoutAccount.objects.create(organization=listing_b.vendor)  # no override
    assert payouts.platform_fee_percent_for(vendor_a.pk) == D("7.5")
    assert payouts.platform_fee_percents_for([vendor_a.pk, listing_b.vendor.pk]) == {
        vendor_a.pk: D("7.5"),
        listing_b.vendor.pk: D(10),
    }


def test_months_are_calendar_months_in_utc():
    assert payouts.month_bounds(date(2026, 12, 17)) == (utc(12, 1), utc(1, 1, year=2027))
    assert payouts.previous_month(utc(1, 1, 0, 5, year=2027)) == date(2026, 12, 1)
    assert payouts.previous_month(utc(11, 30, 23, 59)) == date(2026, 10, 1)


# --- Preparing -----------------------------------------------------------------------------------


def test_a_month_pays_out_each_vendors_paid_invoices_per_currency(
    staff, vendor_a, listing_a, listing_b
):
    october = [
        paid_invoice(listing_a, "499.00", utc(10, 1), staff=staff),  # first instant of October
        paid_invoice(listing_a, "120.00", utc(10, 31, 23, 59), staff=staff),
    ]
    paid_invoice(listing_a, "300.00", utc(9, 30, 23, 59), staff=staff)  # September
    paid_invoice(listing_a, "300.00", utc(11, 1), staff=staff)  # November
    paid_invoice(listing_a, "300.00", None)  # issued, not paid
    kiln_cny = paid_invoice(listing_b, "1000.00", utc(10, 15), staff=staff)
    kiln_usd = paid_invoice(listing_b, "80.00", utc(10, 16), currency="USD", staff=staff)

    prepared = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1, 1))

    figures = {
        (p.vendor.slug, p.currency): (p.invoice_count, p.gross, p.fees, p.credits, p.amount)
        for p in prepared
    }
    assert figures == {
        # 499.00 + 120.00 = 619.00; fees 49.90 + 12.00 = 61.90; 619.00 - 61.90 = 557.10
        ("lumen-edge", "CNY"): (2, D("619.00"), D("61.90"), D("0.00"), D("557.10")),
        ("kiln-soft", "CNY"): (1, D("1000.00"), D("100.00"), D("0.00"), D("900.00")),
        ("kiln-soft", "USD"): (1, D("80.00"), D("8.00"), D("0.00"), D("72.00")),
    }
    lumen = next(p for p in prepared if p.vendor == vendor_a)
    assert (lumen.period_start, lumen.period_end, lumen.status) == (
        utc(10, 1),
        utc(11, 1),
        Payout.Status.DRAFT,
    )
    assert sorted(lumen.lines.values_list("invoice", "vendor_share")) == sorted(
        [(october[0].pk, D("449.10")), (october[1].pk, D("108.00"))]
    )
    assert {line.invoice for line in PayoutLine.objects.exclude(payout=lumen)} == {
        kiln_cny,
        kiln_usd,
    }
    for payout in Payout.objects.all():  # shares add up
        lines = list(payout.lines.all())
        assert payout.gross == sum(line.total for line in lines)
        assert payout.fees == sum(line.platform_fee for line in lines)
        assert payout.amount == sum(line.vendor_share for line in lines)
        assert payout.amount == payout.gross - payout.fees - payout.credits


def test_preparing_again_creates_nothing_and_later_payments_make_a_new_payout(
    staff, vendor_a, listing_a
):
    paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    (first,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(10, 20))

    assert payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(10, 21)) == []
    assert Payout.objects.count() == 1

    late = paid_invoice(listing_a, "120.00", utc(10, 25), staff=staff)
    (second,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    assert second.pk != first.pk
    assert list(second.lines.values_list("invoice", flat=True)) == [late.pk]
    first.refresh_from_db()
    assert (first.invoice_count, first.amount) == (1, D("449.10"))  # unchanged


def test_a_credit_note_takes_the_vendors_share_of_it_off_the_payout(staff, vendor_a, listing_a):
    invoice = paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    invoicing.credit_note_create(
        actor=staff, invoice=invoice, amount=D("100.00"), reason="Line 3 was down"
    )
    # The credit's share: 100.00 less its 10.00 fee = 90.00 back from the vendor's payable.
    assert payable(vendor_a) == D("-359.10")  # -449.10 + 90.00

    (payout,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))

    assert (payout.gross, payout.fees, payout.credits, payout.amount) == (
        D("499.00"),
        D("49.90"),
        D("90.00"),
        D("359.10"),
    )
    payouts.payout_mark_paid(actor=staff, payout=payout, reference="OUT-1", now=utc(11, 3))
    assert payable(vendor_a) == D("0.00")


def test_a_credit_note_made_after_the_payout_comes_off_the_next_one_once(
    staff, vendor_a, listing_a
):
    invoice = paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    (october,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    payouts.payout_mark_paid(actor=staff, payout=october, reference="OUT-10", now=utc(11, 2))
    note = invoicing.credit_note_create(
        actor=staff, invoice=invoice, amount=D("100.00"), reason="Line 3 was down"
    )
    assert payable(vendor_a) == D("90.00")  # the vendor owes the credit's share back

    paid_invoice(listing_a, "120.00", utc(11, 6), staff=staff)  # share 108.00
    (november,) = payouts.payouts_prepare(month=date(2026, 11, 1), now=utc(12, 1))

    assert (november.gross, november.fees, november.credits, november.amount) == (
        D("120.00"),
        D("12.00"),
        D("90.00"),
        D("18.00"),
    )
    taken = november.credits_taken.get()
    assert (taken.credit_note, taken.amount, taken.on_line) == (note, D("90.00"), False)
    october.refresh_from_db()
    assert october.amount == D("449.10")  # a prepared payout never changes
    payouts.payout_mark_paid(actor=staff, payout=november, reference="OUT-11", now=utc(12, 2))
    assert payable(vendor_a) == D("0.00")

    paid_invoice(listing_a, "50.00", utc(12, 6), staff=staff)
    (december,) = payouts.payouts_prepare(month=date(2026, 12, 1), now=utc(1, 1, year=2027))
    assert (december.credits, december.amount) == (D("0.00"), D("45.00"))  # not taken twice


def test_a_later_credit_larger_than_the_next_payout_waits_for_one_it_fits(
    staff, vendor_a, listing_a
):
    invoice = paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    invoicing.credit_note_create(actor=staff, invoice=invoice, amount=D("300.00"), reason="x")

    paid_invoice(listing_a, "120.00", utc(11, 6), staff=staff)  # share 108.00 < 270.00
    (november,) = payouts.payouts_prepare(month=date(2026, 11, 1), now=utc(12, 1))
    assert (november.credits, november.amount) == (D("0.00"), D("108.00"))

    paid_invoice(listing_a, "499.00", utc(12, 6), staff=staff)  # share 449.10
    (december,) = payouts.payouts_prepare(month=date(2026, 12, 1), now=utc(1, 1, year=2027))
    assert (december.credits, december.amount) == (D("270.00"), D("179.10"))


# --- When the payable accrues -------------------------------------------------------------------


def on_collection(vendor, currency: str = "CNY") -> Decimal:
    return ledger_balance("payable_on_collection", organization=vendor, currency=currency)


def test_the_vendors_payable_accrues_when_the_invoice_is_paid(staff, vendor_a, listing_a):
    invoice = paid_invoice(listing_a, "499.00", None)
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("-449.10"), D("0.00"))

    invoicing.invoice_mark_paid(actor=staff, invoice=invoice, reference="BT-1", now=utc(10, 12))

    assert (on_collection(vendor_a), payable(vendor_a)) == (D("0.00"), D("-449.10"))
    entries = sorted(
        LedgerTransaction.objects.get(
            idempotency_key=f"invoice:{invoice.pk}:paid"
        ).entries.values_list("account", "amount")
    )
    assert entries == [
        ("cash", D("499.00")),
        ("payable", D("-449.10")),
        ("payable_on_collection", D("449.10")),
        ("receivable", D("-499.00")),
    ]


def test_a_credit_before_payment_lowers_what_the_payment_earns(staff, vendor_a, listing_a):
    invoice = paid_invoice(listing_a, "499.00", None)
    invoicing.credit_note_create(actor=staff, invoice=invoice, amount=D("100.00"), reason="Down")
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("-359.10"), D("0.00"))

    invoicing.invoice_mark_paid(actor=staff, invoice=invoice, reference="BT-1", now=utc(10, 12))
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("0.00"), D("-359.10"))

    (payout,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    assert (payout.credits, payout.amount) == (D("90.00"), D("359.10"))
    payouts.payout_mark_paid(actor=staff, payout=payout, reference="OUT-1", now=utc(11, 3))
    assert payable(vendor_a) == D("0.00")


def test_an_unpaid_invoice_credited_in_full_or_voided_earns_the_vendor_nothing(
    staff, vendor_a, listing_a
):
    credited = paid_invoice(listing_a, "499.00", None)
    # 100.01 leaves a 10.00 fee (10.001 rounded): 90.01 of the vendor's share.
    invoicing.credit_note_create(actor=staff, invoice=credited, amount=D("100.01"), reason="a")
    # The rest settles the invoice; what is left on collection goes back whole, not re-split.
    invoicing.credit_note_create(actor=staff, invoice=credited, amount=D("398.99"), reason="b")
    credited.refresh_from_db()
    assert credited.status == Invoice.Status.PAID
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("0.00"), D("0.00"))

    voided = paid_invoice(listing_a, "120.00", None)
    assert on_collection(vendor_a) == D("-108.00")
    invoicing.invoice_close(actor=staff, invoice=voided, status="void", reason="Sent twice")
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("0.00"), D("0.00"))
    assert ledger_balance("platform_fees", currency="CNY") == D("0.00")


def test_a_credit_after_payment_comes_off_the_payable(staff, vendor_a, listing_a):
    invoice = paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    invoicing.credit_note_create(actor=staff, invoice=invoice, amount=D("100.00"), reason="Down")
    assert (on_collection(vendor_a), payable(vendor_a)) == (D("0.00"), D("-359.10"))


# --- Paying --------------------------------------------------------------------------------------


@pytest.fixture
def payout(staff, listing_a):
    paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    paid_invoice(listing_a, "120.00", utc(10, 6), staff=staff)
    (payout,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    return payout


def test_marking_a_payout_paid_settles_the_vendors_payable_once(staff, vendor_a, payout):
    assert payable(vendor_a) == D("-557.10")  # what Precis owes the vendor
    cash = ledger_balance("cash", currency="CNY")

    paid = payouts.payout_mark_paid(
        actor=staff, payout=payout, reference=" OUT-2026-10 ", now=utc(11, 3)
    )

    assert (paid.status, paid.method, paid.reference, paid.paid_at, paid.paid_by) == (
        Payout.Status.PAID,
        Payout.Method.MANUAL,
        "OUT-2026-10",
        utc(11, 3),
        staff,
    )
    record = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert record.kind == LedgerTransaction.Kind.PAYOUT
    entries = sorted(record.entries.values_list("account", "organization", "amount"))
    assert entries == [("cash", None, D("-557.10")), ("payable", vendor_a.pk, D("557.10"))]
    assert sum(amount for *_, amount in entries) == 0
    assert payable(vendor_a) == D("0.00")
    assert ledger_balance("cash", currency="CNY") == cash - D("557.10")

    again = payouts.payout_mark_paid(actor=staff, payout=payout, reference="OTHER", now=utc(12, 1))
    assert (again.reference, again.paid_at) == ("OUT-2026-10", utc(11, 3))
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).count() == 1


def test_only_staff_mark_a_payout_paid_and_with_a_reference(staff, vendor_a, payout):
    billing_member = MembershipFactory(organization=vendor_a, role=Role.BILLING).user
    with pytest.raises(ServiceError) as refused:
        payouts.payout_mark_paid(actor=billing_member, payout=payout, reference="X")
    assert refused.value.status_code == 403
    with pytest.raises(ServiceError):
        payouts.payout_mark_paid(actor=staff, payout=payout, reference="  ")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.DRAFT
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).exists()


def test_the_command_prepares_the_month_it_is_given(staff, listing_a):
    paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    out = io.StringIO()
    call_command("prepare_payouts", "--month", "2026-10", stdout=out)
    assert "1 invoices, gross 499.00 - fees 49.90 - credits 0.00 = 449.10 CNY" in out.getvalue()
    assert "Prepared 1 payouts for 2026-10." in out.getvalue()
    out = io.StringIO()
    call_command("prepare_payouts", "--month", "2026-10", stdout=out)
    assert out.getvalue() == "Prepared 0 payouts for 2026-10.\n"


# --- Stripe Connect (a stand-in for the gateway: localstripe has no Connect) ---------------------


@pytest.fixture
def connect(settings, monkeypatch):
    """Connect switched on and the gateway's three Connect calls recorded, not sent."""
    settings.STRIPE_CONNECT_ENABLED = True
    calls: list[tuple[str, dict]] = []

    def account_create(**kwargs):
        calls.append(("account", kwargs))
        return "acct_1Lumen"

    def link_create(**kwargs):
        calls.append(("link", kwargs))
        return "https://connect.stripe.com/setup/e/acct_1Lumen/abc"

    def transfer_create(**kwargs):
        calls.append(("transfer", kwargs))
        return "tr_1Payout"

    monkeypatch.setattr(gateway, "connect_account_create", account_create)
    monkeypatch.setattr(gateway, "connect_account_link_create", link_create)
    monkeypatch.setattr(gateway, "transfer_create", transfer_create)
    return calls


def test_onboarding_creates_the_express_account_once_and_links_to_it(connect, vendor_a):
    manager = MembershipFactory(organization=vendor_a, role=Role.BILLING).user
    urls = {"return_url": "https://precis.test/back", "refresh_url": "https://precis.test/again"}

    url = payouts.connect_onboarding_link(actor=manager, vendor=vendor_a, **urls)
    again = payouts.connect_onboarding_link(actor=manager, vendor=vendor_a, **urls)

    assert url == again == "https://connect.stripe.com/setup/e/acct_1Lumen/abc"
    assert connect == [
        (
            "account",
            {
                "organization_id": vendor_a.pk,
                "email": manager.email,
                "key": f"connect:{vendor_a.pk}",
            },
        ),
        ("link", {"account_id": "acct_1Lumen", **urls}),
        ("link", {"account_id": "acct_1Lumen", **urls}),
    ]
    account = VendorPayoutAccount.objects.get(organization=vendor_a)
    assert account.stripe_account_id == "acct_1Lumen"


def test_onboarding_needs_the_billing_permission_and_connect(connect, settings, vendor_a):
    member = MembershipFactory(organization=vendor_a, role=Role.MEMBER).user
    urls = {"return_url": "https://precis.test/", "refresh_url": "https://precis.test/"}
    with pytest.raises(ServiceError) as refused:
        payouts.connect_onboarding_link(actor=member, vendor=vendor_a, **urls)
    assert refused.value.status_code == 403
    settings.STRIPE_CONNECT_ENABLED = False
    manager = MembershipFactory(organization=vendor_a, role=Role.BILLING).user
    with pytest.raises(ServiceError):
        payouts.connect_onboarding_link(actor=manager, vendor=vendor_a, **urls)
    assert connect == []


def test_a_transfer_pays_the_payout_with_its_key_and_amount_once(connect, staff, vendor_a, payout):
    VendorPayoutAccount.objects.filter(organization=vendor_a).update(stripe_account_id="acct_1L")

    paid = payouts.payout_transfer(actor=staff, payout=payout, now=utc(11, 2))
    payouts.payout_transfer(actor=staff, payout=payout, now=utc(11, 3))

    assert connect == [
        (
            "transfer",
            {
                "amount": D("557.10"),
                "currency": "CNY",
                "destination": "acct_1L",
                "key": f"payout:{payout.pk}:transfer",
                "metadata": {"precis_payout": str(payout.pk), "precis_vendor": str(vendor_a.pk)},
            },
        )
    ]
    assert (paid.status, paid.method, paid.stripe_transfer_id, paid.reference, paid.paid_at) == (
        Payout.Status.PAID,
        Payout.Method.STRIPE_TRANSFER,
        "tr_1Payout",
        "tr_1Payout",
        utc(11, 2),
    )
    assert payable(vendor_a) == D("0.00")


def test_no_transfer_without_a_connected_account_or_for_non_staff(connect, staff, payout):
    with pytest.raises(ServiceError):
        payouts.payout_transfer(actor=staff, payout=payout)  # no account id yet
    with pytest.raises(ServiceError) as refused:
        payouts.payout_transfer(actor=UserFactory(), payout=payout)
    assert refused.value.status_code == 403
    assert connect == []
    payout.refresh_from_db()
    assert payout.status == Payout.Status.DRAFT


def test_a_stripe_error_leaves_the_payout_unpaid(connect, staff, vendor_a, payout, monkeypatch):
    VendorPayoutAccount.objects.filter(organization=vendor_a).update(stripe_account_id="acct_1L")

    def refused(**kwargs):
        raise gateway.PaymentError("Insufficient funds in the platform balance.", code="balance")

    monkeypatch.setattr(gateway, "transfer_create", refused)
    with pytest.raises(ServiceError, match="Insufficient funds"):
        payouts.payout_transfer(actor=staff, payout=payout)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.DRAFT
    assert payable(vendor_a) == D("-557.10")


def test_the_vendor_is_emailed_its_statement_and_then_its_payment(
    staff, vendor_a, listing_a, django_capture_on_commit_callbacks
):
    from django.core import mail

    billing = MembershipFactory(organization=vendor_a, role=Role.BILLING).user
    paid_invoice(listing_a, "499.00", utc(10, 5), staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        (payout,) = payouts.payouts_prepare(month=date(2026, 10, 1), now=utc(11, 1))
    (drafted,) = mail.outbox
    assert drafted.to == [billing.email]
    assert drafted.subject == "Your payout statement for October 2026"
    assert "is ready: 449.10 CNY" in drafted.body  # 499.00 less the 10% fee
    assert f"/payouts/{payout.pk}/" in drafted.body

    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_mark_paid(actor=staff, payout=payout, reference="OUT-7", now=utc(11, 3))
        payouts.payout_mark_paid(actor=staff, payout=payout, reference="OUT-7", now=utc(11, 4))
    paid = mail.outbox[-1]
    assert len(mail.outbox) == 2  # marking it paid again tells nobody again
    assert paid.subject == "Payout for October 2026 paid: 449.10 CNY"
    assert "by bank transfer (reference OUT-7)" in paid.body
