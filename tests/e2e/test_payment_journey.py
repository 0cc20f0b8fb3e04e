"""Try first, pay by card, in a real browser at desktop and phone width: the buyer adds a card
on the cards page (Stripe Elements from the test run's localstripe, card 4242 4242 4242 4242),
the trial converts when it ends (`close_period`), the first invoice is charged off-session and
shows as paid, and the vendor's payout statement of the month shows its share (499.00 less the
10% platform fee). Screenshots of the card form, the saved card, the paid invoice and the
payout statement.

A card whose bank wants 3-D Secure (4000 0025 0000 3155): saved through the bank's step, then
charged while the buyer is away, so the payment waits; the buyer follows the invoice's notice,
confirms on the confirmation page through the bank's step again, and the invoice is paid.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from billing import tasks
from billing.models import Invoice, Payment, Subscription
from billing.services import payouts, plans, subscriptions
from billing.services.plans import PlanTerms
from marketplace.accounts.models import Role
from tests.e2e.conftest import sign_in, with_authenticator
from tests.factories import ListingFactory, MembershipFactory, OrganizationFactory, VendorFactory

pytestmark = pytest.mark.usefixtures("migrated_data")


@pytest.fixture
def trial(stripe_server):
    """Weave Eye on a 14-day trial with no card needed, then 499.00 CNY a month."""
    vendor = VendorFactory(name="Loomwise", slug="loomwise")
    vendor_user = MembershipFactory(organization=vendor, role=Role.OWNER).user
    listing = ListingFactory(vendor=vendor, name="Weave Eye")
    plan = plans.plan_create(
        actor=vendor_user,
        listing=listing,
        name="Standard",
        terms=PlanTerms(recurring_amount=Decimal("499.00"), trial_days=14),
    )
    plans.plan_set_offered(actor=vendor_user, plan=plan, offered=True)
    buyer = OrganizationFactory(name="Huaxin Precision", slug="huaxin", time_zone="Asia/Shanghai")
    buyer_user = MembershipFactory(organization=buyer, role=Role.OWNER).user
    subscription = subscriptions.subscription_start(actor=buyer_user, buyer=buyer, plan=plan)
    return subscription, buyer_user, vendor_user


def test_a_buyer_adds_a_card_and_the_trial_converts_and_is_paid(page, live_server, trial, shoot):
    subscription, buyer_user, vendor_user = trial
    sign_in(page, live_server, buyer_user)

    page.goto(live_server.url + reverse("billing:dashboard"))
    page.get_by_test_id("card-on-file").get_by_role("link", name="Add a card").click()
    form = page.locator("#card-form")
    form.get_by_placeholder("number").fill("4242424242424242")
    form.get_by_placeholder("exp_month").fill("12")
    form.get_by_placeholder("exp_year").fill("31")
    form.get_by_placeholder("cvc").fill("123")
    form.get_by_placeholder("postal_code").fill("200000")
    shoot("card-form")
    form.get_by_role("button", name="Save card").click()

    expect(page.get_by_role("status")).to_contain_text("ending in 4242 saved")
    expect(page.get_by_test_id("cards")).to_contain_text("···· 4242")
    expect(page.get_by_test_id("cards")).to_contain_text("Default")
    shoot("card-saved")

    # The trial ends: the period close converts it (a card is on file) and issues the first
    # month's invoice, and the collection job charges the card.
    call_command(
        "close_period", "--as-of", (subscription.trial_ends_at + timedelta(minutes=1)).isoformat()
    )
    tasks.invoices_collect()

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    invoice = Invoice.objects.get(subscription=subscription)
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payments.get().status == Payment.Status.SUCCEEDED
    page.goto(live_server.url + reverse("billing:invoice_detail", args=[invoice.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    expect(page.locator("main")).to_contain_text("Paid")
    shoot("invoice-paid")

    # The month's payouts are drafted; the vendor reads its statement.
    (payout,) = payouts.payouts_prepare(month=invoice.paid_at.date())
    page.context.clear_cookies()
    sign_in(page, live_server, vendor_user, secret=with_authenticator(vendor_user))
    page.goto(live_server.url + reverse("vendors:payouts", args=[payout.vendor.slug]))
    page.get_by_test_id(f"payout-{payout.pk}").get_by_role("link").first.click()
    expect(page.get_by_test_id(f"line-{invoice.pk}")).to_contain_text(invoice.number)
    expect(page.get_by_test_id("payout-amount")).to_contain_text("449.10")
    shoot("payout-statement")


def _add_card(page, live_server, number: str) -> None:
    page.goto(live_server.url + reverse("billing:card_list"))
    form = page.locator("#card-form")
    form.get_by_placeholder("number").fill(number)
    form.get_by_placeholder("exp_month").fill("12")
    form.get_by_placeholder("exp_year").fill("31")
    form.get_by_placeholder("cvc").fill("123")
    form.get_by_placeholder("postal_code").fill("200000")
    form.get_by_role("button", name="Save card").click()


def test_a_payment_the_bank_wants_confirmed_waits_for_the_buyer_who_confirms_it(
    page, live_server, trial, shoot
):
    subscription, buyer_user, _vendor_user = trial
    sign_in(page, live_server, buyer_user)
    _add_card(page, live_server, "4000002500003155")
    page.get_by_role("button", name="Complete authentication").click()  # the bank's step
    expect(page.get_by_role("status")).to_contain_text("ending in 3155 saved")

    call_command(
        "close_period", "--as-of", (subscription.trial_ends_at + timedelta(minutes=1)).isoformat()
    )
    tasks.invoices_collect()  # off-session: the bank's step cannot be shown, so it waits
    invoice = Invoice.objects.get(subscription=subscription)
    assert invoice.status == Invoice.Status.ISSUED

    page.goto(live_server.url + reverse("billing:invoice_detail", args=[invoice.pk]))
    notice = page.get_by_test_id("confirm-payment-notice")
    expect(notice).to_contain_text("Your bank asks you to confirm this payment.")
    expect(notice).to_contain_text("499.00")
    shoot("payment-to-confirm")
    notice.get_by_role("link", name="Confirm payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm a card payment")
    expect(page.get_by_test_id("payment-facts")).to_contain_text("···· 3155")
    shoot("confirm-payment")
    page.get_by_role("button", name="Confirm payment").click()
    page.get_by_role("button", name="Complete authentication").click()

    expect(page.get_by_role("status")).to_contain_text(f"invoice {invoice.number} is paid")
    expect(page.locator("main")).to_contain_text("Paid")
    expect(page.get_by_test_id("confirm-payment-notice")).to_have_count(0)
    shoot("payment-confirmed")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payments.get().status == Payment.Status.SUCCEEDED
