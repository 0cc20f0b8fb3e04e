"""Pay per verified outcome, in a real browser at desktop and phone width: a month closes (the
`close_period` command); the buyer disputes the outcome line; the vendor answers with a
corrected figure; the buyer accepts it; the statement settles and the invoice is issued with the
settled amount; its PDF downloads. Screenshots of the statement, the invoice and both
dashboards.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from billing import selectors
from billing.models import Invoice, Metric, OutcomeStatement
from billing.services import installations, plans, subscriptions, telemetry
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms
from marketplace.accounts.models import Role
from tests.e2e.conftest import sign_in, with_authenticator
from tests.factories import (
    ListingFactory,
    MembershipFactory,
    OrganizationFactory,
    VendorFactory,
)

pytestmark = pytest.mark.usefixtures("migrated_data")

D = Decimal


@pytest.fixture
def month_closed():
    """Weave Eye at 499.00 a month, 0.02 per inspection over 1,000 and 2.00 per defect caught;
    the buyer subscribed 33 days ago (its first month ended in the last week, so the week to
    verify its outcomes is still running) and its platform pushed 26 days of telemetry."""
    vendor = VendorFactory(name="Loomwise", slug="loomwise")
    vendor_user = MembershipFactory(organization=vendor, role=Role.OWNER).user
    listing = ListingFactory(vendor=vendor, name="Weave Eye")
    for code, name, unit, kind in (
        ("inspections", "Inspections", "inspections", Metric.Kind.USAGE),
        ("defects", "Defects caught", "defects", Metric.Kind.OUTCOME),
    ):
        plans.metric_create(
            actor=vendor_user, listing=listing, code=code, name=name, unit=unit, kind=kind
        )
    plan = plans.plan_create(
        actor=vendor_user,
        listing=listing,
        name="Standard",
        terms=PlanTerms(
            recurring_amount=D("499.00"),
            payment_terms_days=30,
            metered=(
                MeteredTerms(metric="inspections", unit_price=D("0.02"), included_units=D(1000)),
            ),
            outcomes=(OutcomeTerms(metric="defects", unit_price=D("2.00")),),
        ),
    )
    plans.plan_set_offered(actor=vendor_user, plan=plan, offered=True)
    buyer = OrganizationFactory(name="Huaxin Precision", slug="huaxin", time_zone="Asia/Shanghai")
    buyer_user = MembershipFactory(organization=buyer, role=Role.OWNER).user
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_user, organization=buyer)
    now = timezone.now()
    started = now - timedelta(days=33)
    subscription = subscriptions.subscription_start(
        actor=buyer_user, buyer=buyer, plan=plan, now=started
    )
    key = selectors.installation_key_for(
        installations.installation_create(
            actor=buyer_user, subscription=subscription, name="Plant 1"
        ).key
    )
    # 2,600 inspections and 45 defects in the first month, pushed the day they happened.
    for day in range(26):
        at = started + timedelta(days=day, hours=1)
        events = [
            {"id": f"i{day}", "metric": "inspections", "value": "100", "timestamp": at.isoformat()},
            {
                "id": f"d{day}",
                "metric": "defects",
                "value": "3" if day < 15 else "0",
                "timestamp": at.isoformat(),
            },
        ]
        body = json.dumps({"events": events}).encode()
        telemetry.usage_ingest_batch(key=key, body=body, now=at + timedelta(minutes=5))
    return subscription, buyer_user, (vendor_user, with_authenticator(vendor_user))


def test_a_disputed_outcome_settles_and_the_invoice_shows_it(
    live_server, page, shoot, month_closed
):
    subscription, buyer_user, (vendor_user, secret) = month_closed
    call_command("close_period")  # what beat runs: the first month closes now
    statement = OutcomeStatement.objects.get(subscription=subscription)
    invoice = Invoice.objects.get(statement=statement)
    assert invoice.status == Invoice.Status.DRAFT

    # The buyer sees the outcome to verify on its dashboard.
    sign_in(page, live_server, buyer_user)
    page.goto(f"{live_server.url}/billing/")
    to_verify = page.get_by_test_id("line-to-verify")
    expect(to_verify).to_contain_text("Defects caught")
    expect(to_verify).to_contain_text("90.00")  # 45 defects x 2.00
    shoot("01-buyer-dashboard")

    # It disputes the figure with a reason.
    to_verify.get_by_role("link", name="Verify").click()
    line = page.get_by_test_id("statement-line")
    expect(line.get_by_test_id("claim")).to_contain_text("90.00")
    line.locator("summary", has_text="Dispute this figure").click()
    line.get_by_label("What is wrong with this figure?").fill(
        "Five of these were false alarms: the parts passed a manual re-check."
    )
    line.get_by_role("button", name="Send the dispute").click()
    expect(page.get_by_test_id("statement-line")).to_contain_text("Disputed")

    # The vendor finds the dispute on its dashboard and answers with a corrected figure.
    page.context.clear_cookies()
    sign_in(page, live_server, vendor_user, secret=secret)
    page.goto(f"{live_server.url}/vendors/billing/loomwise/")
    dispute = page.get_by_test_id("dispute")
    expect(dispute).to_contain_text("Huaxin Precision")
    shoot("02-vendor-dashboard")
    dispute.get_by_role("link", name="Answer").click()
    line = page.get_by_test_id("statement-line")
    line.get_by_label("Corrected quantity").fill("40")
    line.get_by_label("Evidence").fill("Agreed: five parts were re-checked as good.")
    line.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_test_id("statement-line")).to_contain_text("Answered")

    # The buyer accepts the answer: the statement settles and the invoice is issued.
    page.context.clear_cookies()
    sign_in(page, live_server, buyer_user)
    page.goto(f"{live_server.url}/billing/statements/{statement.pk}/")
    line = page.get_by_test_id("statement-line")
    expect(line).to_contain_text("Agreed: five parts were re-checked as good.")
    line.get_by_role("button", name="Accept the answer").click()
    expect(page.get_by_test_id("statement-status")).to_have_text("Settled")
    expect(page.get_by_test_id("settled")).to_contain_text("80.00")  # 40 x 2.00
    shoot("03-statement")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    # 499.00 for the next month + (2,600 - 1,000 included) x 0.02 = 32.00 + 80.00 settled.
    assert invoice.total == D("611.00")
    page.goto(f"{live_server.url}/billing/invoices/{invoice.pk}/")
    expect(page.get_by_test_id("invoice-title")).to_contain_text(invoice.number)
    outcome_line = page.locator("[data-testid=line-group][data-kind=outcome]")
    expect(outcome_line).to_contain_text("80.00")
    expect(page.get_by_test_id("invoice-total")).to_contain_text("611.00")
    shoot("04-invoice")

    with page.expect_download() as download_info:
        page.get_by_test_id("invoice-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
