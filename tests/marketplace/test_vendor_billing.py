"""A vendor's Billing pages: figures worked by hand, who sees and does what, baselines, queries.

Data is made the way it happens: subscriptions started, trials ended, periods closed and
invoices issued by the billing services, each at an explicit instant. Every expected figure is
computed in the comments.
"""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from billing import selectors
from billing.models import (
    Baseline,
    Invoice,
    MeteredCharge,
    Metric,
    OutcomeCharge,
    Plan,
    PlanVersion,
    PriceTier,
    Subscription,
)
from billing.money import Money
from billing.periods import local_date, local_midnight
from billing.selectors import vendor as vendor_selectors
from billing.services import installations, invoicing, outcomes, subscriptions, telemetry
from billing.services.closing import period_close
from marketplace.accounts.models import Role
from marketplace.vendors.billing import trials_chart
from tests.factories import (
    ListingFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
D = Decimal
NBSP = "\u00a0"


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def cny(amount: str) -> Money:
    return Money(D(amount), "CNY")


def url_or_none(name: str, *args) -> str | None:
    """The address of a page another part of the project provides, if it exists yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@pytest.fixture(autouse=True)
def _english():
    with translation.override(settings.LANGUAGE_CODE):
        yield


# --- The vendor, its listings and plans ----------------------------------------------------------


@pytest.fixture
def vendor(db):
    return VendorFactory(name="Lumen Edge", slug="lumen-edge", time_zone="Asia/Shanghai")


@pytest.fixture
def vendor_billing(vendor):
    """A billing member: may act on billing (and needs no authenticator, unlike an owner)."""
    return MembershipFactory(organization=vendor, role=Role.BILLING).user


@pytest.fixture
def vendor_member(vendor):
    """A plain member: may read the billing pages, not act on them."""
    return MembershipFactory(organization=vendor, role=Role.MEMBER).user


@pytest.fixture
def listing(vendor):
    return ListingFactory(vendor=vendor, name="Weave Eye")


@pytest.fixture
def other_listing(vendor):
    return ListingFactory(vendor=vendor, name="Kiln Watch")


def plan(listing, name: str, amount: str | None, **terms) -> Plan:
    plan = Plan.objects.create(listing=listing, name=name, is_published=True)
    recurring = D(amount) if amount is not None else None
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=recurring, **terms)
    return plan


@pytest.fixture
def trial(listing):
    """14 days free with no card, then 499.00 a month."""
    return plan(listing, "Standard", "499.00", trial_days=14)


@pytest.fixture
def monthly(listing):
    return plan(listing, "Monthly", "499.00")


@pytest.fixture
def yearly(listing):
    return plan(listing, "Yearly", "6000.00", recurring_interval=PlanVersion.Interval.YEAR)


@pytest.fixture
def savings(listing):
    """20% of the kWh saved against the agreed baseline, at 0.80 a kWh."""
    metric = Metric.objects.create(
        listing=listing, code="kwh_used", name="Energy used", unit="kWh", kind="outcome"
    )
    shared = plan(listing, "Shared savings", None)
    OutcomeCharge.objects.create(
        version=shared.versions.get(),
        metric=metric,
        method=OutcomeCharge.Method.SAVINGS_SHARE,
        share_percent=D(20),
        tariff=D("0.80"),
    )
    return shared


def buyer(name: str, *, can_pay: bool = True):
    """A buyer organization and its owner; one that can pay accepted invoice terms."""
    organization = OrganizationFactory(name=name, time_zone="Asia/Shanghai")
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    if can_pay:
        subscriptions.billing_account_accept_invoice_terms(actor=owner, organization=organization)
    return organization, owner


def start(plan: Plan, name: str, when: datetime | None = None, *, can_pay: bool = True):
    organization, owner = buyer(name, can_pay=can_pay)
    sub = subscriptions.subscription_start(actor=owner, buyer=organization, plan=plan, now=when)
    return sub, owner


# --- Trials and conversions ----------------------------------------------------------------------


def test_three_trials_two_converted_is_a_rate_of_two_thirds(vendor, trial, monthly):
    # Two buyers who can pay and one who cannot start 14-day trials; one subscribes outright.
    start(trial, "Huaxin", at(9, 3, 9))  # trial ends at midnight starting 18 Sep
    start(trial, "Sanyou", at(9, 10, 9))  # ... 25 Sep
    start(trial, "Jinling", at(10, 5, 9), can_pay=False)  # ... 20 Oct
    start(monthly, "Dongfang", at(10, 6, 9))  # no trial: not counted
    period_close(now=at(10, 25))  # ends all three: two convert, the third expires

    figures = vendor_selectors.vendor_billing(vendor, months=3, now=at(11, 20))

    assert [(m.month.isoformat(), m.trials, m.conversions) for m in figures.months] == [
        ("2026-09-01", 2, 2),
        ("2026-10-01", 1, 0),
        ("2026-11-01", 0, 0),
    ]
    assert (figures.trials, figures.conversions, figures.trialing) == (3, 2, 0)
    assert figures.conversion_rate == D("66.7")  # 2 / 3 = 66.67%, to one decimal
    assert figures.months[0].rate == D("100.0")
    assert figures.months[2].rate is None  # no trial, no rate


def test_a_trial_counts_in_the_month_it_started_in_the_vendors_time_zone(vendor, trial):
    # 30 Sep 20:00 UTC is 1 Oct 04:00 in Shanghai: an October trial for this vendor.
    start(trial, "Huaxin", datetime(2026, 9, 30, 20, tzinfo=ZoneInfo("UTC")))
    figures = vendor_selectors.vendor_billing(vendor, months=2, now=at(10, 20))
    assert [(m.month.month, m.trials, m.trialing) for m in figures.months] == [
        (9, 0, 0),
        (10, 1, 1),
    ]


def test_the_chart_draws_trials_with_their_conversions_inside(vendor, trial):
    months = [
        vendor_selectors.MonthFigures(month=at(9, 1).date(), trials=3, conversions=2, trialing=0),
        vendor_selectors.MonthFigures(month=at(10, 1).date(), trials=0, conversions=0, trialing=0),
    ]
    chart = trials_chart(months)
    # The scale is the nice ceiling of 3 trials: 5. Heights are of 100 units.
    assert chart.scale == 5
    assert chart.half is None  # 2.5 trials is no tick
    first = chart.bars[0]
    assert (first.trials_height, first.trials_y) == (D(60), D(40))  # 3 / 5
    assert (first.conversions_height, first.conversions_y) == (D(40), D(60))  # 2 / 5
    assert (first.x, first.width) == (D("1.50"), D(7))
    assert trials_chart(months[1:]).scale == 2  # never below 2, so the middle tick is whole


# --- Recurring revenue ---------------------------------------------------------------------------


def test_monthly_recurring_revenue_counts_a_yearly_fee_as_a_twelfth(
    vendor, listing, monthly, yearly, trial
):
    start(monthly, "Huaxin", at(10, 1, 9))
    start(yearly, "Sanyou", at(10, 2, 9))
    paused, owner = start(monthly, "Jinling", at(10, 3, 9))
    subscriptions.subscription_pause(actor=owner, subscription=paused, now=at(10, 4))
    start(trial, "Dongfang", at(10, 5, 9))  # trialing: pays nothing yet
    dollars = plan(listing, "Export", "100.00", currency="USD")
    start(dollars, "Pearl River", at(10, 6, 9))

    # 499.00 + 6,000.00 / 12 = 999.00 CNY; the paused one and the trial pay no fee now.
    assert vendor_selectors.monthly_recurring_revenue(vendor) == [
        cny("999.00"),
        Money(D("100.00"), "USD"),
    ]


# --- Invoiced revenue per listing ----------------------------------------------------------------


@pytest.fixture
def pro(listing):
    """499.00 a month; inspections graduated: the first 1,000 free, up to 5,000 at 0.02, then
    0.01; 2.00 per defect caught, verified within 7 days."""
    inspections = Metric.objects.create(
        listing=listing, code="inspections", name="Inspections", unit="inspections"
    )
    defects = Metric.objects.create(
        listing=listing, code="defects", name="Defects caught", unit="defects", kind="outcome"
    )
    pro = plan(listing, "Pro", "499.00")
    version = pro.versions.get()
    charge = MeteredCharge.objects.create(
        version=version, metric=inspections, model=MeteredCharge.Model.GRADUATED
    )
    PriceTier.objects.create(charge=charge, up_to=D(1000), unit_price=D(0))
    PriceTier.objects.create(charge=charge, up_to=D(5000), unit_price=D("0.02"))
    PriceTier.objects.create(charge=charge, up_to=None, unit_price=D("0.01"))
    OutcomeCharge.objects.create(version=version, metric=defects, unit_price=D("2.00"))
    return pro


def ingest(subscription, owner, events, *, now: datetime) -> None:
    issued = installations.installation_create(
        actor=owner, subscription=subscription, name="Plant 1"
    )
    key = selectors.installation_key_for(issued.key)
    body = {
        "events": [
            {"id": ident, "metric": metric, "value": value, "timestamp": when.isoformat()}
            for ident, metric, value, when in events
        ]
    }
    result = telemetry.usage_ingest_batch(key=key, body=json.dumps(body).encode(), now=now)
    assert not result.rejected, result.rejected


@pytest.fixture
def invoiced(vendor, listing, other_listing, pro):
    """Weave Eye: October's fee (499.00), then October closed with 5,000 inspections (80.00)
    and 45 defects (90.00) and November's fee (499.00): 669.00, issued once verified.
    Kiln Watch: November's fee on Basic (300.00), an upgrade to Plus at half-period (+50.00)
    and December's fee on Plus (400.00). Weave Eye's November waits for verification (a draft)."""
    weave, weave_owner = start(pro, "Huaxin", at(10, 10, 9))
    period_close(now=at(10, 10, 10))
    ingest(
        weave,
        weave_owner,
        [(f"i{n}", "inspections", "1000", at(11, 1, n)) for n in range(5)]
        + [("d1", "defects", "45", at(11, 2))],
        now=at(11, 2, 12),
    )
    period_close(now=at(11, 10))
    basic = plan(other_listing, "Basic", "300.00")
    plus = plan(other_listing, "Plus", "400.00")
    kiln, kiln_owner = start(basic, "Sanyou", at(11, 10, 9))
    period_close(now=at(11, 10, 10))
    period_close(now=at(11, 17))  # nobody disputed the defects: October's invoice is issued
    # 10 Nov - 10 Dec has 30 days; upgrading at midnight on 25 Nov leaves 15: 100.00 x 15/30.
    subscriptions.subscription_change_plan(
        actor=kiln_owner, subscription=kiln, plan=plus, now=at(11, 25)
    )
    period_close(now=at(12, 10))
    return weave, kiln


def test_revenue_per_listing_is_split_into_recurring_usage_and_outcomes(vendor, invoiced):
    weave, _kiln = invoiced
    assert Invoice.objects.get(subscription=weave, period_end=at(12, 10)).status == "draft"

    figures = vendor_selectors.vendor_billing(vendor, months=12, now=at(12, 20))

    assert [(r.name, r.invoices) for r in figures.revenue] == [("Kiln Watch", 2), ("Weave Eye", 2)]
    kiln_row, weave_row = figures.revenue
    # Weave Eye: 499.00 + 669.00 = 1,168.00; the fee is 10% of each invoice: 49.90 + 66.90.
    assert (weave_row.recurring, weave_row.usage, weave_row.outcomes) == (
        cny("998.00"),
        cny("80.00"),
        cny("90.00"),
    )
    assert (weave_row.total, weave_row.platform_fee, weave_row.vendor_share) == (
        cny("1168.00"),
        cny("116.80"),
        cny("1051.20"),
    )
    # Kiln Watch: 300.00, then 50.00 (a proration counts as usage) + 400.00 = 450.00.
    assert (kiln_row.recurring, kiln_row.usage, kiln_row.outcomes) == (
        cny("700.00"),
        cny("50.00"),
        cny("0.00"),
    )
    assert (kiln_row.total, kiln_row.platform_fee, kiln_row.vendor_share) == (
        cny("750.00"),
        cny("75.00"),  # 30.00 + 45.00
        cny("675.00"),
    )
    (total,) = figures.totals
    assert (total.total, total.platform_fee, total.vendor_share) == (
        cny("1918.00"),
        cny("191.80"),
        cny("1726.20"),
    )


def test_revenue_counts_the_invoices_issued_in_the_window(vendor, invoiced):
    # December alone: Kiln Watch's invoice of 10 December (the Weave Eye one is a draft).
    figures = vendor_selectors.vendor_billing(vendor, months=1, now=at(12, 20))
    (row,) = figures.revenue
    assert (row.name, row.total, row.usage) == ("Kiln Watch", cny("450.00"), cny("50.00"))


def test_a_void_invoice_is_not_revenue(vendor, invoiced):
    _weave, kiln = invoiced
    opening = Invoice.objects.get(subscription=kiln, period_end=at(11, 10))
    invoicing.invoice_close(
        actor=UserFactory(is_staff=True), invoice=opening, status="void", reason="Test order"
    )
    figures = vendor_selectors.vendor_billing(vendor, months=12, now=at(12, 20))
    kiln_row = next(r for r in figures.revenue if r.name == "Kiln Watch")
    assert (kiln_row.invoices, kiln_row.total) == (1, cny("450.00"))


def test_disputes_and_open_statements_wait_for_the_vendor(
    client, vendor, listing, pro, vendor_member
):
    weave, owner = start(pro, "Huaxin", at(10, 10, 9))
    ingest(weave, owner, [("d1", "defects", "45", at(11, 2))], now=at(11, 2, 12))
    period_close(now=at(11, 10))
    line = weave.outcome_statements.get().lines.get()

    figures = vendor_selectors.vendor_billing(vendor, now=at(11, 11))
    assert (figures.dispute_count, figures.statement_count) == (0, 1)

    outcomes.outcome_line_dispute(
        actor=owner, line=line, reason="5 were false alarms", now=at(11, 11)
    )
    figures = vendor_selectors.vendor_billing(vendor, now=at(11, 11))
    assert figures.dispute_count == 1
    assert figures.disputes == [line]

    # The dashboard lists it, linking to the statement where the vendor answers.
    client.force_login(vendor_member)
    page = client.get(billing_url(vendor)).content.decode()
    assert "5 were false alarms" in page
    statement = url_or_none("billing:statement_detail", line.statement_id)
    if statement is not None:
        assert f'href="{statement}"' in page


# --- Who sees the pages --------------------------------------------------------------------------


def billing_url(vendor, name: str = "vendors:billing") -> str:
    return reverse(name, args=[vendor.slug])


@pytest.mark.parametrize("name", ["vendors:billing", "vendors:customers", "vendors:invoices"])
def test_members_of_the_vendor_read_the_billing_pages(client, vendor, vendor_member, name):
    client.force_login(vendor_member)
    assert client.get(billing_url(vendor, name)).status_code == 200


@pytest.mark.parametrize("name", ["vendors:billing", "vendors:customers", "vendors:invoices"])
def test_anyone_else_finds_no_billing_pages(client, vendor, name):
    rival = VendorFactory(name="Rival Robotics", slug="rival-robotics")
    rival_member = MembershipFactory(organization=rival, role=Role.BILLING).user
    client.force_login(rival_member)
    assert client.get(billing_url(vendor, name)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(billing_url(vendor, name)).status_code == 404
    client.logout()
    response = client.get(billing_url(vendor, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_buyer_organization_has_no_vendor_billing(client):
    buyer_org, owner = buyer("Huaxin")
    client.force_login(owner)
    assert client.get(reverse("vendors:billing", args=[buyer_org.slug])).status_code == 404


def test_the_vendor_portal_links_to_billing(client, vendor, vendor_member):
    client.force_login(vendor_member)
    response = client.get(reverse("vendors:dashboard"))
    assert f'href="{billing_url(vendor)}"' in response.content.decode()


# --- The pages, with real data -------------------------------------------------------------------


@pytest.fixture
def recent(vendor, trial, monthly, yearly):
    """Three trials started 40 days ago (two buyers can pay, one cannot), ended by the close,
    and two subscriptions started outright, 499.00 a month and 6,000.00 a year."""
    now = timezone.now()
    started = now - timedelta(days=40)
    trials = [
        start(trial, "Huaxin", started)[0],
        start(trial, "Sanyou", started)[0],
        start(trial, "Jinling", started, can_pay=False)[0],
    ]
    direct = [start(monthly, "Dongfang", started)[0], start(yearly, "Pearl River", started)[0]]
    period_close(now=now)
    return trials, direct


def test_the_dashboard_shows_the_figures(client, vendor, vendor_member, recent):
    client.force_login(vendor_member)
    page = client.get(billing_url(vendor)).content.decode()
    assert "66.7%" in page  # 2 of 3 trials
    # Two converted trials and a monthly plan at 499.00, and 6,000.00 / 12: 1,997.00.
    assert f"1,997.00{NBSP}CNY" in page
    assert 'data-testid="trials-chart"' in page
    assert "Weave Eye" in page  # the revenue table
    # Invoices: the first month of each converted trial, two months of the monthly plan (its
    # first month ended 10 days ago) and a year: 4 x 499.00 + 6,000.00 = 7,996.00, less the
    # 10% fee of each invoice, 4 x 49.90 + 600.00 = 799.60: 7,196.40 is the vendor's.
    assert f"7,196.40{NBSP}CNY" in page


def test_the_customers_page_lists_subscriptions_with_links(client, vendor, vendor_member, recent):
    trials, direct = recent
    client.force_login(vendor_member)
    response = client.get(billing_url(vendor, "vendors:customers"))
    page = response.content.decode()
    for name in ("Huaxin", "Sanyou", "Jinling", "Dongfang", "Pearl River"):
        assert name in page
    invoices = reverse("vendors:invoices", args=[vendor.slug])
    assert f"{invoices}?subscription={direct[0].pk}" in page
    expired = client.get(billing_url(vendor, "vendors:customers"), {"status": "expired"})
    assert len(expired.context["rows"]) == 1
    assert expired.context["rows"][0].subscription == trials[2]


def test_the_invoices_page_filters_by_status_and_customer(client, vendor, vendor_member, recent):
    _trials, direct = recent
    client.force_login(vendor_member)
    response = client.get(billing_url(vendor, "vendors:invoices"))
    # The first month of each converted trial, two months of the monthly plan, and a year.
    assert len(response.context["rows"]) == 5
    invoice = response.context["rows"][0].invoice
    detail = url_or_none("billing:invoice_detail", invoice.pk)
    if detail is not None:
        assert f'href="{detail}"' in response.content.decode()
    assert not client.get(billing_url(vendor, "vendors:invoices"), {"status": "draft"}).context[
        "rows"
    ]
    one = client.get(billing_url(vendor, "vendors:invoices"), {"subscription": direct[1].pk})
    assert [row.invoice.subscription for row in one.context["rows"]] == [direct[1]]
    assert f"6,000.00{NBSP}CNY" in one.content.decode()


def test_a_customer_of_another_vendor_cannot_be_listed(client, vendor, vendor_member):
    rival_plan = plan(ListingFactory(name="Rival Eye"), "Rival", "100.00")
    theirs, _owner = start(rival_plan, "Huaxin")
    client.force_login(vendor_member)
    response = client.get(billing_url(vendor, "vendors:invoices"), {"subscription": theirs.pk})
    assert response.status_code == 404


# --- Baselines -----------------------------------------------------------------------------------


@pytest.fixture
def shared(savings):
    """A buyer on the share-of-savings plan, now."""
    sub, owner = start(savings, "Huaxin")
    return sub, owner


def baselines_url(vendor, sub) -> str:
    return reverse("vendors:customer_baselines", args=[vendor.slug, sub.pk])


def next_period_day(sub) -> str:
    return local_date(sub.current_period_end, SH).isoformat()


def test_the_vendor_proposes_a_baseline(client, vendor, vendor_billing, shared):
    sub, _owner = shared
    client.force_login(vendor_billing)
    page = client.get(baselines_url(vendor, sub))
    assert page.status_code == 200
    assert page.context["form"].initial["effective_from"].isoformat() == next_period_day(sub)

    response = client.post(
        baselines_url(vendor, sub),
        {
            "metric": sub.plan_version.outcome_charges.get().metric_id,
            "value": "10000",
            "effective_from": next_period_day(sub),
            "note": "Meter readings of 2025",
        },
        follow=True,
    )
    baseline = Baseline.objects.get()
    assert (baseline.number, baseline.value, baseline.proposed_by_vendor) == (1, D(10000), True)
    # A day in the customer's time zone: its midnight there.
    assert baseline.effective_from == local_midnight(local_date(sub.current_period_end, SH), SH)
    assert baseline.agreed_at is None
    page = response.content.decode()
    assert "Baseline version 1 proposed to Huaxin." in page
    assert "Waiting for the customer" in page


def test_a_baseline_for_a_period_that_began_is_refused(client, vendor, vendor_billing, shared):
    sub, _owner = shared
    client.force_login(vendor_billing)
    yesterday = (timezone.now().astimezone(SH) - timedelta(days=1)).date().isoformat()
    metric = sub.plan_version.outcome_charges.get().metric_id
    response = client.post(
        baselines_url(vendor, sub),
        {"metric": metric, "value": "10000", "effective_from": yesterday},
    )
    assert response.status_code == 400
    assert "A baseline applies to periods that have not started yet." in response.content.decode()
    negative = client.post(
        baselines_url(vendor, sub),
        {"metric": metric, "value": "-5", "effective_from": next_period_day(sub)},
    )
    assert negative.status_code == 400
    assert negative.context["form"].errors["value"]
    assert not Baseline.objects.exists()


def test_the_vendor_agrees_to_the_buyers_baseline(client, vendor, vendor_billing, shared):
    sub, owner = shared
    metric = sub.plan_version.outcome_charges.get().metric
    proposal = outcomes.baseline_propose(
        actor=owner,
        subscription=sub,
        metric=metric,
        value=D(9000),
        effective_from=sub.current_period_end,
    )
    client.force_login(vendor_billing)
    customers = client.get(billing_url(vendor, "vendors:customers")).content.decode()
    assert "Baseline to agree" in customers
    agree = reverse("vendors:baseline_agree", args=[vendor.slug, sub.pk, proposal.pk])
    assert f'action="{agree}"' in client.get(baselines_url(vendor, sub)).content.decode()

    response = client.post(agree, follow=True)
    proposal.refresh_from_db()
    assert proposal.agreed_by == vendor_billing
    assert "You agreed to baseline version 1 of Energy used." in response.content.decode()


def test_the_vendor_cannot_agree_to_its_own_proposal(client, vendor, vendor_billing, shared):
    sub, _owner = shared
    proposal = outcomes.baseline_propose(
        actor=vendor_billing,
        subscription=sub,
        metric=sub.plan_version.outcome_charges.get().metric,
        value=D(9000),
        effective_from=sub.current_period_end,
    )
    client.force_login(vendor_billing)
    agree = reverse("vendors:baseline_agree", args=[vendor.slug, sub.pk, proposal.pk])
    response = client.post(agree, follow=True)
    assert "The other side agrees to a baseline" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.agreed_at is None


def test_members_without_billing_permission_only_read_baselines(
    client, vendor, vendor_member, shared
):
    sub, owner = shared
    proposal = outcomes.baseline_propose(
        actor=owner,
        subscription=sub,
        metric=sub.plan_version.outcome_charges.get().metric,
        value=D(9000),
        effective_from=sub.current_period_end,
    )
    client.force_login(vendor_member)
    page = client.get(baselines_url(vendor, sub))
    assert page.status_code == 200
    assert page.context["form"] is None
    assert "Waiting for your organization" in page.content.decode()
    propose = client.post(
        baselines_url(vendor, sub),
        {"metric": proposal.metric_id, "value": "1", "effective_from": next_period_day(sub)},
    )
    assert propose.status_code == 403
    agree = reverse("vendors:baseline_agree", args=[vendor.slug, sub.pk, proposal.pk])
    assert client.post(agree).status_code == 403
    proposal.refresh_from_db()
    assert proposal.agreed_at is None
    assert Baseline.objects.count() == 1


def test_baselines_of_someone_elses_customer_are_not_found(client, vendor, vendor_billing, shared):
    sub, _owner = shared
    rival = VendorFactory(name="Rival Robotics", slug="rival-robotics")
    rival_billing = MembershipFactory(organization=rival, role=Role.BILLING).user
    client.force_login(rival_billing)
    assert client.get(baselines_url(vendor, sub)).status_code == 404
    # Through the rival's own slug, the subscription is not one of its customers.
    url = reverse("vendors:customer_baselines", args=[rival.slug, sub.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"value": "1"}).status_code == 404


def test_a_plan_without_a_share_of_savings_has_no_baselines(
    client, vendor, vendor_billing, monthly
):
    sub, _owner = start(monthly, "Huaxin")
    client.force_login(vendor_billing)
    assert client.get(baselines_url(vendor, sub)).status_code == 404


# --- Queries -------------------------------------------------------------------------------------


def grow(trial: Plan, monthly: Plan, count: int, offset: int) -> None:
    """`count` converted trials and `count` direct subscriptions, all invoiced."""
    started = timezone.now() - timedelta(days=40)
    for n in range(count):
        start(trial, f"Trial buyer {offset + n}", started)
        start(monthly, f"Direct buyer {offset + n}", started)
    period_close(now=timezone.now())


def queries(client, url: str) -> int:
    client.get(url)  # warm what is loaded once per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_pages_run_a_fixed_number_of_queries(
    client, vendor, vendor_member, trial, monthly, other_listing
):
    client.force_login(vendor_member)
    urls = [billing_url(vendor, name) for name in ("vendors:billing", "vendors:customers")]
    urls.append(billing_url(vendor, "vendors:invoices"))
    grow(trial, monthly, 1, 0)
    before = [queries(client, url) for url in urls]
    grow(trial, monthly, 4, 100)
    grow(plan(other_listing, "Kiln", "300.00"), plan(other_listing, "Kiln+", "350.00"), 2, 200)
    assert Subscription.objects.count() == 14
    assert [queries(client, url) for url in urls] == before
