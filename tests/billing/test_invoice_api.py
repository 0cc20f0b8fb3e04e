"""The invoice and outcome-statement API, on a period closed through the billing services.

The period is built relative to now: a subscription that started 32 days ago has just closed
its first month, so its outcome statement is still open for verification (7 days) when the
API is called with the real clock.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from billing import selectors
from billing.models import (
    Invoice,
    MeteredCharge,
    OutcomeCharge,
    OutcomeLine,
    OutcomeStatement,
    Plan,
    PlanVersion,
    Subscription,
)
from billing.services import installations, invoicing, subscriptions, telemetry
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

D = Decimal


def auth(user) -> dict:
    token, _created = Token.objects.get_or_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Token {token.key}"}


def post(client, url: str, user, body=None):
    """POST a JSON body (a dict, or raw JSON text kept as written) as `user`."""
    raw = body if isinstance(body, str) else json.dumps(body or {})
    return client.post(url, raw, content_type="application/json", **auth(user))


@pytest.fixture
def pro(listing, metrics):
    """499.00 a month, 0.02 per inspection over 1,000, and 2.00 per defect caught (7 days to
    verify)."""
    plan = Plan.objects.create(listing=listing, name="Pro", is_published=True)
    version = PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D("499.00"))
    MeteredCharge.objects.create(
        version=version,
        metric=metrics["inspections"],
        unit_price=D("0.02"),
        included_units=D(1000),
    )
    OutcomeCharge.objects.create(version=version, metric=metrics["defects"], unit_price=D("2.00"))
    return plan


def ingest(subscription: Subscription, key: str, events, *, now):
    body = json.dumps(
        {
            "events": [
                {"id": ident, "metric": metric, "value": value, "timestamp": when.isoformat()}
                for ident, metric, value, when in events
            ]
        }
    ).encode()
    result = telemetry.usage_ingest_batch(
        key=selectors.installation_key_for(key), body=body, now=now
    )
    assert not result.rejected, result.rejected


def close_first_month(plan, buyer, owner) -> tuple[Subscription, str]:
    """A subscription started 32 days ago with 1,500 inspections and 45 defects in its first
    month, closed at the month's end: the opening invoice is issued, the month's invoice waits
    as a draft for its outcome statement. Returns the subscription and its installation key."""
    started = timezone.now() - timedelta(days=32)
    subscriptions.billing_account_accept_invoice_terms(actor=owner, organization=buyer)
    sub = subscriptions.subscription_start(actor=owner, buyer=buyer, plan=plan, now=started)
    period_close(now=started)
    key = installations.installation_create(actor=owner, subscription=sub, name="Plant 1").key
    day = started + timedelta(days=1)
    ingest(
        sub,
        key,
        [("i1", "inspections", "1500", day), ("d1", "defects", "45", day)],
        now=day + timedelta(hours=1),
    )
    sub.refresh_from_db()
    period_close(now=sub.current_period_end)
    sub.refresh_from_db()
    return sub, key


@pytest.fixture
def closed(pro, buyer, buyer_owner):
    sub, _key = close_first_month(pro, buyer, buyer_owner)
    return sub


@pytest.fixture
def vendor_billing(listing):
    return MembershipFactory(organization=listing.vendor, role=Role.BILLING).user


@pytest.fixture
def stranger(db):
    return MembershipFactory(
        organization=OrganizationFactory(name="Other Works"), role=Role.OWNER
    ).user


def statement_url(line: OutcomeLine, action: str = "") -> str:
    base = f"/api/v1/outcome-statements/{line.statement_id}/"
    return f"{base}lines/{line.pk}/{action}" if action else base


def test_the_buyer_lists_invoices_newest_first_with_amounts_as_strings(
    client, closed, buyer_owner, listing
):
    response = client.get("/api/v1/invoices/", **auth(buyer_owner))
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    month, opening = body["results"]
    # The month waits for its outcomes as a draft, unnumbered: 499.00 + (1,500 - 1,000) x 0.02.
    assert (month["status"], month["number"], month["total"]) == ("draft", "", "509.00")
    assert month["statement"] == closed.outcome_statements.get().pk
    assert opening["status"] == "issued"
    assert opening["number"] == f"{listing.vendor.slug.upper()[:16]}-000001"
    assert (opening["total"], opening["currency"]) == ("499.00", "CNY")
    assert opening["buyer"] == "huaxin"
    assert opening["issuer"] == listing.vendor.slug
    assert opening["listing"] == listing.slug
    assert opening["subscription"] == closed.pk
    assert "lines" not in opening  # the list is a summary; the detail has the lines

    issued = client.get("/api/v1/invoices/?status=issued", **auth(buyer_owner)).json()
    assert [invoice["id"] for invoice in issued["results"]] == [opening["id"]]
    unknown = client.get("/api/v1/invoices/?status=owed", **auth(buyer_owner))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "invalid"


def test_the_statement_shows_what_was_measured_and_claimed(client, closed, buyer_owner):
    listed = client.get("/api/v1/outcome-statements/", **auth(buyer_owner)).json()
    [summary] = listed["results"]
    statement = closed.outcome_statements.get()
    assert summary["id"] == statement.pk
    assert summary["status"] == "open"
    assert summary["currency"] == "CNY"
    assert summary["invoice"] == Invoice.objects.get(statement=statement).pk
    assert "lines" not in summary

    detail = client.get(f"/api/v1/outcome-statements/{statement.pk}/", **auth(buyer_owner))
    assert detail.status_code == 200
    [line] = detail.json()["lines"]
    assert line["metric"] == "defects"
    assert (line["measured"], line["claimed_amount"]) == ("45", "90.00")  # 45 x 2.00
    assert line["baseline_value"] is None
    assert (line["status"], line["resolution"]) == ("open", "")
    assert line["settled_amount"] is None
    assert line["settled_quantity"] is None
    assert (line["dispute_reason"], line["answer"], line["history"]) == ("", None, [])


def test_accepting_the_last_line_issues_the_invoice_with_its_lineage(
    client, closed, buyer_owner, vendor_billing
):
    line = OutcomeLine.objects.get(statement__subscription=closed)
    accepted = post(client, statement_url(line, "accept"), buyer_owner)
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert (body["status"], body["resolution"]) == ("settled", "accepted")
    assert (body["settled_quantity"], body["settled_amount"], body["currency"]) == (
        "45",
        "90.00",
        "CNY",
    )
    assert [event["action"] for event in body["history"]] == ["accepted"]

    again = post(client, statement_url(line, "accept"), buyer_owner)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This line is not waiting for the buyer."

    invoice = Invoice.objects.get(statement=line.statement)
    detail = client.get(f"/api/v1/invoices/{invoice.pk}/", **auth(vendor_billing)).json()
    assert detail["status"] == "issued"
    assert detail["number"].endswith("-000002")
    assert (detail["total"], detail["amount_due"]) == ("599.00", "599.00")  # 499 + 10 + 90
    lines = {entry["kind"]: entry for entry in detail["lines"]}
    assert lines["recurring"]["amount"] == "499.00"  # next month's fee, in advance
    assert (lines["metered"]["metric"], lines["metered"]["quantity"]) == ("inspections", "1500")
    assert lines["metered"]["amount"] == "10.00"  # (1,500 - 1,000) x 0.02
    outcome = lines["outcome"]
    assert (outcome["metric"], outcome["quantity"], outcome["amount"]) == ("defects", "45", "90.00")
    assert outcome["statement_line"] == line.pk
    assert outcome["period_start"] == detail["period_start"]
    assert outcome["adjusts"] is None
    assert detail["credit_notes"] == []


def test_late_usage_and_a_credit_note_show_on_the_invoices(
    client, pro, buyer, buyer_owner, listing
):
    sub, key = close_first_month(pro, buyer, buyer_owner)
    line = OutcomeLine.objects.get(statement__subscription=sub)
    post(client, statement_url(line, "accept"), buyer_owner)
    month = Invoice.objects.get(statement=line.statement)
    # One more inspection of the closed month arrives an hour after its close.
    closed_at = month.period_end
    ingest(
        sub,
        key,
        [("late-1", "inspections", "1", closed_at - timedelta(hours=1))],
        now=closed_at + timedelta(hours=1),
    )
    period_close(now=sub.current_period_end)
    following = Invoice.objects.get(subscription=sub, period_start=month.period_end)
    detail = client.get(f"/api/v1/invoices/{following.pk}/", **auth(buyer_owner)).json()
    [adjustment] = [entry for entry in detail["lines"] if entry["kind"] == "adjustment"]
    assert adjustment["amount"] == "0.02"  # 1,501 inspections cost 10.02, 10.00 was billed
    assert adjustment["quantity"] == "1501"
    assert adjustment["adjusts"] == {"id": month.pk, "number": month.number}

    opening = Invoice.objects.get(subscription=sub, period_start=F("period_end"))
    staff = UserFactory(is_staff=True)
    invoicing.credit_note_create(
        actor=staff, invoice=opening, amount=D("100.00"), reason="Outage on the 3rd"
    )
    detail = client.get(f"/api/v1/invoices/{opening.pk}/", **auth(buyer_owner)).json()
    [note] = detail["credit_notes"]
    assert note["number"] == f"{listing.vendor.slug.upper()[:16]}-CN-000001"
    assert (note["amount"], note["currency"], note["reason"]) == (
        "100.00",
        "CNY",
        "Outage on the 3rd",
    )
    assert (detail["total"], detail["amount_due"]) == ("499.00", "399.00")


def test_a_dispute_needs_a_reason(client, closed, buyer_owner):
    line = OutcomeLine.objects.get(statement__subscription=closed)
    missing = post(client, statement_url(line, "dispute"), buyer_owner, {})
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert error["code"] == "invalid"
    assert "reason" in error["fields"]
    blank = post(client, statement_url(line, "dispute"), buyer_owner, {"reason": "   "})
    assert blank.status_code == 400
    line.refresh_from_db()
    assert line.status == OutcomeLine.Status.OPEN


def test_a_dispute_is_answered_by_the_vendor_and_accepted_by_the_buyer(
    client, closed, buyer_owner, vendor_billing
):
    line = OutcomeLine.objects.get(statement__subscription=closed)
    disputed = post(
        client, statement_url(line, "dispute"), buyer_owner, {"reason": "5 were false alarms"}
    )
    assert disputed.status_code == 200, disputed.content
    assert disputed.json()["status"] == "disputed"
    assert disputed.json()["dispute_reason"] == "5 were false alarms"

    # Only the vendor answers, and only the buyer verifies.
    by_buyer = post(client, statement_url(line, "answer"), buyer_owner, {"note": "Mine"})
    assert by_buyer.status_code == 403
    assert by_buyer.json()["error"] == {
        "code": "forbidden",
        "message": "Only the vendor's owners, admins and billing members can answer a dispute.",
    }
    by_vendor = post(client, statement_url(line, "accept"), vendor_billing)
    assert by_vendor.status_code == 403

    answered = post(
        client,
        statement_url(line, "answer"),
        vendor_billing,
        {"note": "Agreed: 5 re-checked as good", "quantity": "40"},
    )
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert body["status"] == "answered"
    assert body["answer"] == {"note": "Agreed: 5 re-checked as good", "quantity": "40"}
    assert body["claimed_amount"] == "90.00"  # the claim stands until the buyer accepts

    settled = post(client, statement_url(line, "accept"), buyer_owner).json()
    assert (settled["status"], settled["resolution"]) == ("settled", "agreed")
    assert (settled["settled_quantity"], settled["settled_amount"]) == ("40", "80.00")
    history = client.get(statement_url(line), **auth(vendor_billing)).json()["lines"][0]["history"]
    assert [(e["action"], e["quantity"], e["amount"]) for e in history] == [
        ("disputed", None, None),
        ("answered", "40", "80.00"),
        ("answer_accepted", "40", "80.00"),
    ]


def test_a_decimal_in_json_stays_exact(client, closed, buyer_owner, vendor_billing):
    line = OutcomeLine.objects.get(statement__subscription=closed)
    post(client, statement_url(line, "dispute"), buyer_owner, {"reason": "Too many"})
    # A JSON number with more digits than a float holds reaches the service with every digit
    # (PostgreSQL keeps them all; SQLite's NUMERIC columns keep 15 significant digits).
    long = post(
        client,
        statement_url(line, "answer"),
        vendor_billing,
        '{"note": "Re-counted", "quantity": 1234567890.123456789}',
    )
    assert long.status_code == 200, long.content
    assert long.json()["answer"]["quantity"] == "1234567890.123456789"
    post(client, statement_url(line, "dispute"), buyer_owner, {"reason": "Far too many"})

    answered = post(
        client,
        statement_url(line, "answer"),
        vendor_billing,
        '{"note": "Re-counted again", "quantity": 40.123456789}',
    )
    assert answered.json()["answer"]["quantity"] == "40.123456789"
    post(client, statement_url(line, "accept"), buyer_owner)
    [stored] = client.get(statement_url(line), **auth(buyer_owner)).json()["lines"]
    assert stored["settled_quantity"] == "40.123456789"
    assert stored["settled_amount"] == "80.25"  # 80.246913578, rounded once to the fen


def test_buyer_vendor_and_stranger_see_what_they_should(
    client, closed, pro, buyer_owner, vendor_billing, stranger, buyer
):
    line = OutcomeLine.objects.get(statement__subscription=closed)
    invoice = Invoice.objects.filter(subscription=closed).first()
    for user in (buyer_owner, vendor_billing):
        assert client.get("/api/v1/invoices/", **auth(user)).json()["count"] == 2
        assert client.get(f"/api/v1/invoices/{invoice.pk}/", **auth(user)).status_code == 200
        assert client.get(statement_url(line), **auth(user)).status_code == 200

    headers = auth(stranger)
    assert client.get("/api/v1/invoices/", **headers).json()["count"] == 0
    assert client.get("/api/v1/outcome-statements/", **headers).json()["count"] == 0
    assert client.get(f"/api/v1/invoices/{invoice.pk}/", **headers).status_code == 404
    assert client.get(statement_url(line), **headers).status_code == 404
    assert post(client, statement_url(line, "accept"), stranger).status_code == 404
    dispute = post(client, statement_url(line, "dispute"), stranger, {"reason": "No"})
    assert dispute.status_code == 404
    assert dispute.json()["error"]["code"] == "not_found"

    # A member who may read the organization's billing may not verify it.
    member = MembershipFactory(organization=buyer, role=Role.MEMBER).user
    assert client.get(statement_url(line), **auth(member)).status_code == 200
    assert post(client, statement_url(line, "accept"), member).status_code == 403

    # A line is reached through its own statement only.
    other_buyer = OrganizationFactory(name="Delta Looms")
    other_owner = MembershipFactory(organization=other_buyer, role=Role.OWNER).user
    other_sub, _key = close_first_month(pro, other_buyer, other_owner)
    other_line = OutcomeLine.objects.get(statement__subscription=other_sub)
    crossed = f"/api/v1/outcome-statements/{line.statement_id}/lines/{other_line.pk}/accept"
    assert post(client, crossed, buyer_owner).status_code == 404
    assert post(client, crossed, other_owner).status_code == 404
    other_line.refresh_from_db()
    assert other_line.status == OutcomeLine.Status.OPEN

    # Without credentials: nothing.
    assert client.get("/api/v1/invoices/").status_code in (401, 403)
    client.force_login(buyer_owner)  # a session works as well as a token
    assert client.get("/api/v1/outcome-statements/").json()["count"] == 1


def test_the_schema_still_describes_the_api(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    assert "/api/v1/invoices/{id}/" in schema
    assert "/api/v1/outcome-statements/{id}/lines/{line_pk}/dispute" in schema


def test_a_statement_that_settled_by_itself_reads_as_settled(client, closed, buyer_owner):
    statement = closed.outcome_statements.get()
    period_close(now=statement.window_ends_at)
    body = client.get(f"/api/v1/outcome-statements/{statement.pk}/", **auth(buyer_owner)).json()
    assert body["status"] == OutcomeStatement.Status.SETTLED
    [line] = body["lines"]
    assert (line["resolution"], line["settled_amount"]) == ("undisputed", "90.00")
    assert [event["action"] for event in line["history"]] == ["settled"]
