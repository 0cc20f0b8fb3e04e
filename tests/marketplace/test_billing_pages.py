"""Billing pages: the buyer's dashboard, invoices (HTML, PDF, CSV) and outcome statements, who
sees them, and every form on them. Data is made the way production makes it: a subscription,
telemetry, and period close."""

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from billing import selectors
from billing.models import (
    Baseline,
    Invoice,
    InvoiceLine,
    MeteredCharge,
    Metric,
    OutcomeCharge,
    OutcomeLine,
    OutcomeStatement,
    Plan,
    PlanVersion,
    Subscription,
)
from billing.services import installations, invoicing, outcomes, subscriptions, telemetry
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from marketplace.storefront.charts import period_chart
from tests.factories import (
    ListingFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
SH = ZoneInfo("Asia/Shanghai")
NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def page(response) -> str:
    return response.content.decode().replace(NBSP, " ")


def url(name: str, *args) -> str:
    return reverse(f"billing:{name}", args=args)


def text_of(html: str) -> str:
    """The page's words, tags and runs of whitespace removed, for phrases split by markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Data: a vendor's listing, a buyer, a plan with usage and outcome charges ---------------------


@pytest.fixture
def vendor(db):
    return VendorFactory(name="Lumen Edge", slug="lumen-edge")


@pytest.fixture
def listing(vendor):
    return ListingFactory(vendor=vendor, name="Weave Eye")


@pytest.fixture
def metrics(listing):
    return {
        "inspections": Metric.objects.create(
            listing=listing, code="inspections", name="Inspections", unit="inspections"
        ),
        "defects": Metric.objects.create(
            listing=listing,
            code="defects",
            name="Defects caught",
            unit="defects",
            kind=Metric.Kind.OUTCOME,
        ),
    }


@pytest.fixture
def plan(listing, metrics):
    """499.00 a month, due in 14 days; 0.02 per inspection over 1,000; 2.00 per defect caught,
    verified within 7 days."""
    plan = Plan.objects.create(listing=listing, name="Pro", is_published=True)
    version = PlanVersion.objects.create(
        plan=plan, number=1, recurring_amount=D("499.00"), payment_terms_days=14
    )
    MeteredCharge.objects.create(
        version=version,
        metric=metrics["inspections"],
        unit_price=D("0.02"),
        included_units=D(1000),
    )
    OutcomeCharge.objects.create(
        version=version, metric=metrics["defects"], unit_price=D("2.00"), verification_window_days=7
    )
    return plan


@pytest.fixture
def buyer(db):
    return OrganizationFactory(name="华鑫精密", slug="huaxin", time_zone="Asia/Shanghai")


@pytest.fixture
def buyer_owner(buyer):
    return MembershipFactory(organization=buyer, role=Role.OWNER).user


@pytest.fixture
def buyer_member(buyer):
    """Reads the buyer's billing; may not act on it."""
    return MembershipFactory(organization=buyer, role=Role.MEMBER).user


@pytest.fixture
def vendor_billing(vendor):
    return MembershipFactory(organization=vendor, role=Role.BILLING).user


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True)
    TOTP.activate(user, generate_totp_secret())  # staff are sent to MFA set-up without one
    return user


@pytest.fixture
def stranger(db):
    return MembershipFactory(
        organization=OrganizationFactory(name="Rival Castings", slug="rival"), role=Role.OWNER
    ).user


def as_user(client, user):
    client.force_login(user)
    return client


def ingest(subscription, owner, events, *, now: datetime):
    """Telemetry through the ingestion service, as an installation's platform sends it."""
    if not subscription.installations.exists():
        installations.installation_create(actor=owner, subscription=subscription, name="Line 3")
        issued = installations.installation_key_rotate(
            actor=owner, installation=subscription.installations.get()
        )
        subscription._raw_key = issued.key
    key = selectors.installation_key_for(subscription._raw_key)
    body = json.dumps(
        {
            "events": [
                {"id": ident, "metric": metric, "value": value, "timestamp": when.isoformat()}
                for ident, metric, value, when in events
            ]
        }
    ).encode()
    result = telemetry.usage_ingest_batch(key=key, body=body, now=now)
    assert not result.rejected, result.rejected


@dataclass
class Closed:
    """A month that closed a few days ago: its opening invoice (issued, overdue), its draft
    invoice and the outcome statement the draft waits for (still open for verification)."""

    subscription: Subscription
    opening: Invoice
    draft: Invoice
    statement: OutcomeStatement
    line: OutcomeLine
    started: datetime


def close_a_month(plan, buyer, owner, *, defects: int = 45, extra_events=()) -> Closed:
    started = timezone.now() - timedelta(days=33)
    subscriptions.billing_account_accept_invoice_terms(actor=owner, organization=buyer)
    sub = subscriptions.subscription_start(actor=owner, buyer=buyer, plan=plan, now=started)
    period_close(now=started + timedelta(hours=1))
    opening = Invoice.objects.get(subscription=sub)
    day = started + timedelta(days=1)
    ingest(
        sub,
        owner,
        [("i1", "inspections", "3000", day), ("d1", "defects", str(defects), day), *extra_events],
        now=day + timedelta(hours=1),
    )
    sub.refresh_from_db()
    period_close(now=sub.current_period_end)
    draft = Invoice.objects.get(subscription=sub, status=Invoice.Status.DRAFT)
    statement = draft.statement
    return Closed(sub, opening, draft, statement, statement.lines.get(), started)


@pytest.fixture
def closed(plan, buyer, buyer_owner) -> Closed:
    return close_a_month(plan, buyer, buyer_owner)


# --- Who sees what --------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, closed):
    for address in [
        url("dashboard"),
        url("invoice_list"),
        url("invoices_csv"),
        url("invoice_detail", closed.opening.pk),
        url("invoice_pdf", closed.opening.pk),
        url("invoice_csv", closed.opening.pk),
        url("statement_detail", closed.statement.pk),
        url("line_events", closed.statement.pk, closed.line.pk),
    ]:
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith("/accounts/login/"), address


def test_strangers_get_404_for_invoices_and_statements(client, closed, stranger):
    as_user(client, stranger)
    for address in [
        url("invoice_detail", closed.opening.pk),
        url("invoice_pdf", closed.opening.pk),
        url("invoice_csv", closed.opening.pk),
        url("statement_detail", closed.statement.pk),
        url("line_events", closed.statement.pk, closed.line.pk),
    ]:
        assert client.get(address).status_code == 404, address
    # Their own list and dashboard are empty, not someone else's.
    assert closed.opening.number not in page(client.get(url("invoice_list")))
    assert closed.opening.number not in page(client.get(url("dashboard")))
    response = client.post(
        url("line_accept", closed.statement.pk, closed.line.pk), {}, follow=False
    )
    assert response.status_code == 404


def test_the_buyer_sees_the_invoice_without_the_platform_fee(client, closed, buyer_member):
    html = page(as_user(client, buyer_member).get(url("invoice_detail", closed.opening.pk)))
    assert f"Invoice {closed.opening.number}" in html
    assert "Lumen Edge" in html
    assert "华鑫精密" in html
    assert "499.00 CNY" in html
    assert 'data-testid="platform-fee"' not in html
    assert "Overdue" in html  # due 14 days after it was issued, 33 days ago
    assert "Record a bank transfer" not in html  # staff forms are for staff
    # Due by the end of its last day (stored as the local midnight after it): that day shows.
    tz = ZoneInfo(closed.opening.buyer.time_zone)
    last_day = (closed.opening.due_at.astimezone(tz) - timedelta(microseconds=1)).date()
    assert closed.opening.due_at.astimezone(tz).time() == time(0)
    assert f"It was due on {date_format(last_day, 'DATE_FORMAT')}." in html


def test_the_issuer_sees_the_platform_fee(client, closed, vendor_billing):
    html = page(as_user(client, vendor_billing).get(url("invoice_detail", closed.opening.pk)))
    assert 'data-testid="platform-fee"' in html
    assert "Precis platform fee (10%)" in html
    assert "49.90 CNY" in html  # 10% of 499.00
    assert "449.10 CNY" in html  # the vendor's share
    # The list of the vendor's organization shows the invoices it issued.
    listed = page(client.get(url("invoice_list")))
    assert closed.opening.number in listed
    assert "华鑫精密" in listed


def test_the_invoice_list_shows_the_buyers_invoices_and_filters_by_status(
    client, closed, buyer_owner
):
    as_user(client, buyer_owner)
    html = page(client.get(url("invoice_list")))
    assert closed.opening.number in html
    assert "Waiting for verification" in html  # the draft
    overdue = page(client.get(url("invoice_list"), {"status": "overdue"}))
    assert closed.opening.number in overdue
    assert "Waiting for verification" not in overdue
    assert closed.opening.number not in page(client.get(url("invoice_list"), {"status": "paid"}))


def test_the_invoice_list_takes_the_same_queries_for_more_invoices(
    client, listing, buyer, buyer_owner
):
    """Each monthly close adds an invoice; the list's queries do not grow with them."""
    plan = Plan.objects.create(listing=listing, name="Basic", is_published=True)
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("300.00"))
    started = timezone.now() - timedelta(days=400)
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    sub = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan, now=started)
    as_user(client, buyer_owner)

    def close_months(count: int) -> None:
        for _n in range(count):
            sub.refresh_from_db()
            period_close(now=sub.current_period_end)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url("invoice_list"))
        assert response.status_code == 200
        return len(captured.captured_queries)

    period_close(now=started + timedelta(hours=1))
    close_months(2)
    queries()  # the first page of a test also fills the site menus' cache
    few = queries()
    close_months(6)
    assert Invoice.objects.filter(subscription=sub).count() == 9
    assert queries() == few
    with CaptureQueriesContext(connection) as captured:
        client.get(url("invoices_csv"))
    close_months(3)
    with CaptureQueriesContext(connection) as again:
        client.get(url("invoices_csv"))
    assert len(again.captured_queries) == len(captured.captured_queries)


# --- Invoice pages --------------------------------------------------------------------------------


def test_a_draft_says_it_waits_for_verification_and_links_to_the_statement(
    client, closed, buyer_owner
):
    html = page(as_user(client, buyer_owner).get(url("invoice_detail", closed.draft.pk)))
    assert "This invoice waits for outcome verification." in html
    assert url("statement_detail", closed.statement.pk) in html
    assert "Not final" in html


def test_lines_show_their_lineage(client, plan, buyer, buyer_owner, vendor_billing):
    closed = close_a_month(plan, buyer, buyer_owner)
    closed.subscription.refresh_from_db()
    end = closed.subscription.current_period_start  # the closed month ended here
    # A late inspection for the closed month, then the buyer accepts the outcome.
    ingest(
        closed.subscription,
        buyer_owner,
        [("late-1", "inspections", "500", end - timedelta(hours=2))],
        now=end + timedelta(hours=1),
    )
    outcomes.outcome_line_accept(actor=buyer_owner, line=closed.line)
    closed.draft.refresh_from_db()
    assert closed.draft.status == Invoice.Status.ISSUED
    as_user(client, buyer_owner)

    html = page(client.get(url("invoice_detail", closed.draft.pk)))
    outcome = closed.draft.lines.get(kind=InvoiceLine.Kind.OUTCOME)
    assert f"#line-{outcome.statement_line_id}" in html
    assert "Verified on the outcome statement" in html
    for group in ("Fixed fees", "Usage", "Verified outcomes"):
        assert group in html
    assert "90.00 CNY" in html  # 45 defects x 2.00
    assert "40.00 CNY" in html  # 3,000 - 1,000 included = 2,000 x 0.02

    # The next close adjusts the month for the late usage: 500 x 0.02 = 10.00.
    closed.subscription.refresh_from_db()
    period_close(now=closed.subscription.current_period_end)
    later = Invoice.objects.get(
        subscription=closed.subscription, period_end=closed.subscription.current_period_end
    )
    adjustment = later.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert adjustment.amount == D("10.00")
    html = page(client.get(url("invoice_detail", later.pk)))
    words = text_of(html)
    assert f"Adjusts invoice {closed.draft.number}" in words
    assert url("invoice_detail", closed.draft.pk) in html
    assert "Late usage of earlier periods" in html


def test_the_pdf_is_an_a4_invoice_named_after_its_number(client, closed, buyer_owner):
    response = as_user(client, buyer_owner).get(url("invoice_pdf", closed.opening.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{closed.opening.number}.pdf"'
    )
    assert b"STSong-Light" in response.content  # the CID font that draws the Chinese name
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in response.content  # A4
    # A draft downloads too, named as a draft.
    draft = client.get(url("invoice_pdf", closed.draft.pk))
    assert draft["Content-Disposition"] == f'attachment; filename="draft-{closed.draft.pk}.pdf"'


def test_the_pdf_lists_credit_notes(client, closed, staff):
    invoicing.credit_note_create(
        actor=staff, invoice=closed.opening, amount=D("99.00"), reason="Outage on 12 Nov"
    )
    response = as_user(client, staff).get(url("invoice_pdf", closed.opening.pk))
    assert response.content.startswith(b"%PDF")


def test_the_invoice_csv_has_a_row_per_line_with_plain_amounts(client, closed, buyer_owner):
    outcomes.outcome_line_accept(actor=buyer_owner, line=closed.line)
    closed.draft.refresh_from_db()
    response = as_user(client, buyer_owner).get(url("invoice_csv", closed.draft.pk))
    assert response["Content-Disposition"] == f'attachment; filename="{closed.draft.number}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_kind = {row["kind"]: row for row in rows}
    assert set(by_kind) == {"recurring", "metered", "outcome"}
    assert by_kind["recurring"]["amount"] == "499.00"
    assert by_kind["metered"]["amount"] == "40.00"
    assert (by_kind["metered"]["metric"], by_kind["metered"]["quantity"]) == ("inspections", "3000")
    assert by_kind["outcome"]["amount"] == "90.00"
    assert by_kind["outcome"]["statement_line"] == str(closed.line.pk)
    first_day = closed.statement.period_start.astimezone(SH).date()
    assert by_kind["metered"]["period_first_day"] == first_day.isoformat()
    assert all(row["invoice"] == closed.draft.number for row in rows)


def test_the_list_csv_has_a_row_per_invoice_and_the_fee_only_for_the_issuer(
    client, closed, buyer_owner, vendor_billing
):
    as_user(client, buyer_owner)
    rows = list(csv.DictReader(io.StringIO(client.get(url("invoices_csv")).content.decode())))
    assert [row["number"] for row in rows] == ["", closed.opening.number]  # newest period first
    opening = rows[1]
    assert (opening["status"], opening["total"], opening["currency"]) == ("issued", "499.00", "CNY")
    assert opening["buyer"] == "华鑫精密"
    assert opening["platform_fee"] == ""
    as_user(client, vendor_billing)
    rows = list(csv.DictReader(io.StringIO(client.get(url("invoices_csv")).content.decode())))
    assert rows[1]["platform_fee"] == "49.90"


# --- Staff forms on the invoice -------------------------------------------------------------------


def test_staff_mark_an_invoice_paid_by_bank_transfer(client, closed, staff, buyer):
    as_user(client, staff)
    html = page(client.get(url("invoice_detail", closed.opening.pk)))
    assert "Record a bank transfer" in html
    response = client.post(
        url("invoice_mark_paid", closed.opening.pk), {"paid-reference": "ICBC 7781"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("invoice_detail", closed.opening.pk)
    closed.opening.refresh_from_db()
    assert (closed.opening.status, closed.opening.payment_reference) == ("paid", "ICBC 7781")
    html = page(client.get(response["Location"]))
    assert f"Invoice {closed.opening.number} is marked paid." in html
    assert "Bank transfer ICBC 7781" in html
    assert selectors.ledger_balance("receivable", organization=buyer, currency="CNY") == 0


def test_marking_paid_needs_a_reference_and_an_issued_invoice(client, closed, staff):
    as_user(client, staff)
    response = client.post(url("invoice_mark_paid", closed.opening.pk), {"paid-reference": ""})
    assert response.status_code == 400
    assert "This field is required." in page(response)
    # The service refuses a draft: its message is shown on the form.
    response = client.post(url("invoice_mark_paid", closed.draft.pk), {"paid-reference": "X 1"})
    assert response.status_code == 409
    assert "Only an issued invoice can be paid." in page(response)


def test_only_staff_may_use_the_staff_forms(client, closed, vendor_billing):
    response = as_user(client, vendor_billing).post(
        url("invoice_mark_paid", closed.opening.pk), {"paid-reference": "ICBC 7781"}
    )
    assert response.status_code == 403
    assert "Only Precis staff can do this." in page(response)
    closed.opening.refresh_from_db()
    assert closed.opening.status == Invoice.Status.ISSUED


def test_staff_void_an_invoice_with_a_reason(client, closed, staff):
    as_user(client, staff)
    response = client.post(
        url("invoice_close", closed.opening.pk),
        {"close-status": "void", "close-reason": "Issued twice by mistake"},
    )
    assert response.status_code == 302
    closed.opening.refresh_from_db()
    assert (closed.opening.status, closed.opening.close_reason) == (
        "void",
        "Issued twice by mistake",
    )
    html = page(client.get(response["Location"]))
    assert "This invoice is void: nothing is owed on it." in html
    assert "Issued twice by mistake" in html


def test_closing_needs_an_open_invoice(client, closed, staff):
    invoicing.invoice_mark_paid(actor=staff, invoice=closed.opening, reference="ICBC 1")
    as_user(client, staff)
    response = client.post(
        url("invoice_close", closed.opening.pk),
        {"close-status": "uncollectible", "close-reason": "Company closed"},
    )
    assert response.status_code == 409
    assert "Only an issued, unpaid invoice can be voided or written off." in page(response)
    response = client.post(url("invoice_close", closed.opening.pk), {"close-status": "void"})
    assert response.status_code == 400


def test_staff_issue_a_credit_note_on_a_line(client, closed, staff, buyer_owner):
    line = closed.opening.lines.get()
    as_user(client, staff)
    response = client.post(
        url("credit_note_create", closed.opening.pk),
        {"credit-amount": "100.00", "credit-reason": "Outage on 12 Nov", "credit-line": line.pk},
    )
    assert response.status_code == 302
    note = closed.opening.credit_notes.get()
    assert (note.amount, note.line) == (D("100.00"), line)
    html = page(client.get(response["Location"]))
    assert f"Credit note {note.number} issued." in html
    # The buyer sees the credit note and what is still due.
    html = page(as_user(client, buyer_owner).get(url("invoice_detail", closed.opening.pk)))
    assert note.number in html
    assert "Outage on 12 Nov" in html
    assert "399.00 CNY" in html  # 499.00 - 100.00 still due


def test_a_credit_note_cannot_exceed_the_invoice(client, closed, staff):
    as_user(client, staff)
    response = client.post(
        url("credit_note_create", closed.opening.pk),
        {"credit-amount": "600.00", "credit-reason": "Too much"},
    )
    assert response.status_code == 400
    assert "is left to credit on this invoice." in page(response)
    assert not closed.opening.credit_notes.exists()


# --- The outcome statement ------------------------------------------------------------------------


def test_the_statement_shows_each_line_with_its_forms_for_the_buyer(client, closed, buyer_owner):
    html = page(as_user(client, buyer_owner).get(url("statement_detail", closed.statement.pk)))
    assert "Outcomes of Weave Eye" in html
    assert "45 defects" in html
    assert "90.00 CNY" in html  # the claim
    assert "None: charged per unit measured" in html
    assert 'data-testid="accept-form"' in html
    assert 'data-testid="dispute-form"' in html
    assert 'data-testid="answer-form"' not in html
    assert url("line_events", closed.statement.pk, closed.line.pk) in html


def test_a_buyer_member_without_billing_rights_reads_the_statement_only(
    client, closed, buyer_member
):
    html = page(as_user(client, buyer_member).get(url("statement_detail", closed.statement.pk)))
    assert 'data-testid="accept-form"' not in html
    assert "Owners, admins and billing members of 华鑫精密 verify these outcomes." in html


def test_the_buyer_accepts_a_line_and_the_invoice_is_issued(client, closed, buyer_owner):
    response = as_user(client, buyer_owner).post(
        url("line_accept", closed.statement.pk, closed.line.pk)
    )
    assert response["Location"] == (
        url("statement_detail", closed.statement.pk) + f"#line-{closed.line.pk}"
    )
    closed.line.refresh_from_db()
    assert closed.line.resolution == OutcomeLine.Resolution.ACCEPTED
    html = page(client.get(response["Location"]))
    assert "Defects caught is accepted." in html
    assert "Accepted by the buyer" in html
    closed.draft.refresh_from_db()
    assert closed.draft.status == Invoice.Status.ISSUED
    assert closed.draft.number in html


def test_a_disputed_line_goes_through_answer_and_decision(
    client, closed, buyer_owner, vendor_billing, staff
):
    statement, line = closed.statement, closed.line
    as_user(client, buyer_owner)
    # Disputing needs a reason.
    response = client.post(
        url("line_dispute", statement.pk, line.pk), {f"dispute-{line.pk}-reason": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in page(response)
    response = client.post(
        url("line_dispute", statement.pk, line.pk),
        {f"dispute-{line.pk}-reason": "5 were false alarms"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.status == OutcomeLine.Status.DISPUTED
    # The buyer cannot accept a line that waits for the vendor: the refusal is on the form.
    response = client.post(url("line_accept", statement.pk, line.pk))
    assert response.status_code == 409
    assert "This line is not waiting for the buyer." in page(response)

    as_user(client, vendor_billing)
    html = page(client.get(url("statement_detail", statement.pk)))
    assert 'data-testid="answer-form"' in html
    assert "5 were false alarms" in html
    response = client.post(
        url("line_answer", statement.pk, line.pk),
        {f"answer-{line.pk}-quantity": "40", f"answer-{line.pk}-note": "   "},
    )
    assert response.status_code == 400  # evidence is required
    response = client.post(
        url("line_answer", statement.pk, line.pk),
        {f"answer-{line.pk}-quantity": "40", f"answer-{line.pk}-note": "5 re-checked as good"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.status, line.answer_quantity) == (OutcomeLine.Status.ANSWERED, D(40))

    as_user(client, staff)
    html = page(client.get(url("statement_detail", statement.pk)))
    assert 'data-testid="decide-form"' in html
    assert "80.00 CNY" in html  # the answer rated: 40 x 2.00
    response = client.post(
        url("line_decide", statement.pk, line.pk),
        {f"decide-{line.pk}-quantity": "42", f"decide-{line.pk}-note": "Three were real"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.resolution, line.settled_amount) == ("decided", D("84.00"))
    html = page(client.get(url("statement_detail", statement.pk)))
    history = html[html.index('data-testid="line-history"') :]
    assert history.index("Disputed") < history.index("Answered") < history.index("Decided")
    assert "Three were real" in html
    # Deciding again is refused: the line is settled.
    response = client.post(
        url("line_decide", statement.pk, line.pk),
        {f"decide-{line.pk}-quantity": "1", f"decide-{line.pk}-note": "Again"},
    )
    assert response.status_code == 409
    assert "Only a disputed line can be decided." in page(response)


def test_the_vendor_cannot_dispute_for_the_buyer(client, closed, vendor_billing):
    line = closed.line
    response = as_user(client, vendor_billing).post(
        url("line_dispute", closed.statement.pk, line.pk),
        {f"dispute-{line.pk}-reason": "Mine"},
    )
    assert response.status_code == 403
    assert "owners, admins and billing members can verify outcomes." in page(response)


def test_the_events_behind_a_line_are_paginated(client, plan, buyer, buyer_owner):
    started = timezone.now() - timedelta(days=33)
    events = [
        (f"d-{n:03d}", "defects", "1", started + timedelta(days=1, minutes=n)) for n in range(60)
    ]
    closed = close_a_month(plan, buyer, buyer_owner, defects=0, extra_events=events)
    assert closed.line.measured == D(60)
    as_user(client, buyer_owner)
    address = url("line_events", closed.statement.pk, closed.line.pk)
    first = page(client.get(address))
    assert first.count('data-testid="usage-event"') == 51 - 1  # 50 a page
    assert "d-000" in first
    assert "d-050" not in first
    assert "61 events your installations sent in this period" in first  # 60 and the zero
    second = page(client.get(address, {"page": 2}))
    assert second.count('data-testid="usage-event"') == 11
    assert "d-059" in second
    other = closed.statement.lines.get().pk + 999
    assert client.get(url("line_events", closed.statement.pk, other)).status_code == 404


# --- Dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_shows_what_to_verify_what_is_owed_and_the_charts(
    client, closed, buyer_owner
):
    html = page(as_user(client, buyer_owner).get(url("dashboard")))
    assert 'data-testid="line-to-verify"' in html
    assert url("statement_detail", closed.statement.pk) + f"#line-{closed.line.pk}" in html
    window = closed.statement.window_ends_at.astimezone(SH)
    assert window.isoformat() in html  # the verify-by time, in the buyer's time zone
    balance = html[html.index('data-testid="balance"') :]
    assert "499.00 CNY" in balance[:400]
    assert "1 overdue" in html
    assert closed.opening.number in html
    assert "Waiting for outcome verification" in html  # the draft
    charts = html.count('data-testid="period-chart"')
    assert charts == 2  # inspections (usage) and defects caught (outcome)
    assert 'data-metric="defects"' in html


def test_a_buyer_with_two_organizations_picks_one(client, closed, buyer_owner):
    other = OrganizationFactory(name="Second Plant", slug="second-plant")
    MembershipFactory(organization=other, user=buyer_owner, role=Role.OWNER)
    as_user(client, buyer_owner)
    html = page(client.get(url("dashboard")))
    assert 'data-testid="organization-switch"' in html
    assert closed.opening.number in html
    response = client.post(
        reverse("accounts:organization_switch"),
        {"organization": "second-plant", "next": url("dashboard")},
    )
    assert response["Location"] == url("dashboard")
    html = page(client.get(url("dashboard")))
    assert "What Second Plant owes" in html
    assert closed.opening.number not in html
    assert closed.opening.number not in page(client.get(url("invoice_list")))


def test_an_account_without_an_organization_is_told_to_create_one(client, user):
    html = page(as_user(client, user).get(url("dashboard")))
    assert "No organization yet" in html
    assert "No organization yet" in page(client.get(url("invoice_list")))


def test_the_navigation_links_to_billing(client, buyer_owner):
    html = page(as_user(client, buyer_owner).get(url("dashboard")))
    assert f'href="{url("dashboard")}"' in html
    assert 'aria-current="page">Billing</a>' in html


# --- Baselines ------------------------------------------------------------------------------------


@pytest.fixture
def savings(listing, buyer, buyer_owner):
    """20% of the kWh saved against the agreed baseline, at 0.80 a kWh."""
    used = Metric.objects.create(
        listing=listing, code="kwh_used", name="Energy used", unit="kWh", kind="outcome"
    )
    plan = Plan.objects.create(listing=listing, name="Shared savings", is_published=True)
    version = PlanVersion.objects.create(plan=plan, number=1)
    OutcomeCharge.objects.create(
        version=version,
        metric=used,
        method=OutcomeCharge.Method.SAVINGS_SHARE,
        share_percent=D(20),
        tariff=D("0.80"),
    )
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    sub = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    return sub, used


def test_the_buyer_agrees_to_a_baseline_the_vendor_proposed(
    client, savings, buyer_owner, vendor_billing
):
    sub, metric = savings
    baseline = outcomes.baseline_propose(
        actor=vendor_billing,
        subscription=sub,
        metric=metric,
        value=D(10000),
        effective_from=sub.current_period_end,
        note="Meter readings, Jan-Mar",
    )
    as_user(client, buyer_owner)
    html = page(client.get(url("dashboard")))
    assert "Proposed by the vendor" in html
    assert f'data-testid="agree-{baseline.pk}"' in html
    response = client.post(url("baseline_agree", baseline.pk))
    assert response["Location"] == url("dashboard") + "#baselines"
    baseline.refresh_from_db()
    assert baseline.agreed_by == buyer_owner
    html = page(client.get(url("dashboard")))
    assert "Baseline version 1 agreed" in html
    assert "Agreed" in html


def test_agreeing_to_ones_own_proposal_is_refused(client, savings, buyer_owner):
    sub, metric = savings
    baseline = outcomes.baseline_propose(
        actor=buyer_owner,
        subscription=sub,
        metric=metric,
        value=D(10000),
        effective_from=sub.current_period_end,
    )
    as_user(client, buyer_owner)
    html = page(client.get(url("dashboard")))
    assert "Waiting for the vendor" in html
    assert f'data-testid="agree-{baseline.pk}"' not in html
    response = client.post(url("baseline_agree", baseline.pk), follow=True)
    assert "The other side agrees to a baseline" in page(response)
    baseline.refresh_from_db()
    assert not baseline.is_agreed


def test_the_buyer_proposes_a_baseline(client, savings, buyer_owner):
    sub, metric = savings
    as_user(client, buyer_owner)
    html = page(client.get(url("dashboard")))
    assert 'data-testid="propose-baseline"' in html
    next_period = sub.current_period_end.astimezone(SH).date()
    response = client.post(
        url("baseline_propose"),
        {
            "baseline-target": f"{sub.pk}:{metric.pk}",
            "baseline-value": "9500",
            "baseline-effective_from": next_period.isoformat(),
            "baseline-note": "Last year's bills",
        },
    )
    assert response.status_code == 302
    baseline = Baseline.objects.get()
    assert (baseline.value, baseline.proposed_by_vendor) == (D(9500), False)
    assert baseline.effective_from == sub.current_period_end
    assert "Baseline version 1 proposed." in page(client.get(url("dashboard")))


def test_a_baseline_for_a_period_already_begun_is_refused_on_the_form(client, savings, buyer_owner):
    sub, metric = savings
    response = as_user(client, buyer_owner).post(
        url("baseline_propose"),
        {
            "baseline-target": f"{sub.pk}:{metric.pk}",
            "baseline-value": "9500",
            "baseline-effective_from": "2020-01-01",
        },
    )
    assert response.status_code == 400
    assert "A baseline applies to periods that have not started yet." in page(response)
    assert not Baseline.objects.exists()


# --- The chart ------------------------------------------------------------------------------------


def test_a_period_chart_scales_to_the_highest_total_or_baseline():
    metric = Metric(code="kwh_used", name="Energy used", unit="kWh")
    day = timezone.now().date()
    chart = period_chart(
        metric,
        [
            (day, day, D(6000), D(10000)),
            (day + timedelta(days=31), day + timedelta(days=60), D(8000), None),
        ],
    )
    assert chart.scale == D(10000)
    first, second = chart.bars
    assert (first.height, first.baseline_y) == (D("60.00"), D("0.00"))
    assert (second.height, second.baseline_y) == (D("80.00"), None)
    assert chart.has_baseline
    assert chart.has_values


def test_the_pages_render_in_chinese(client, closed, buyer_owner):
    as_user(client, buyer_owner)
    for address in [
        "/zh-hans/billing/",
        f"/zh-hans/billing/invoices/{closed.opening.pk}/",
        f"/zh-hans/billing/statements/{closed.statement.pk}/",
    ]:
        response = client.get(address)
        assert response.status_code == 200, address
        assert '<html lang="zh-hans">' in page(response)
    pdf = client.get(f"/zh-hans/billing/invoices/{closed.opening.pk}/pdf/")
    assert pdf.content.startswith(b"%PDF")


def test_the_cards_page_lists_cards_and_changes_the_default(client, stripe_server, db):
    from billing.models import BillingAccount, PaymentMethod
    from marketplace.accounts.models import Role
    from tests.factories import MembershipFactory, OrganizationFactory

    organization = OrganizationFactory(name="Huaxin Precision")
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    account = BillingAccount.objects.create(organization=organization)
    old, new = (
        PaymentMethod.objects.create(
            account=account, stripe_id=f"pm_{n}", brand="visa", last4=n, exp_month=1, exp_year=2031
        )
        for n in ("1111", "4242")
    )
    account.default_card, account.has_payment_method = new, True
    account.save()
    client.force_login(owner)

    page = client.get("/billing/cards/")
    assert page.status_code == 200
    assert "···· 1111" in page.text
    assert "···· 4242" in page.text
    assert 'id="card-form"' in page.text  # a SetupIntent from localstripe, for Stripe.js
    assert f"{stripe_server}/js.stripe.com/v3/" in page.text

    moved = client.post(f"/billing/cards/{old.pk}/default/", follow=True)
    assert "now charged to the Visa card ending in 1111" in moved.text
    account.refresh_from_db()
    assert account.default_card == old
    gone = client.post(f"/billing/cards/{old.pk}/remove/", follow=True)
    assert "ending in 1111 was removed" in gone.text
    account.refresh_from_db()
    assert account.default_card == new
