"""Demo plans, metrics, a trial and a paid subscription, so that every billing page has something.

Every published solution gets metrics that fit its scenario and a plan built from its pricing
terms (free trial, subscription, outcome-based). The demo buyer tries one of them: its
installation has pushed ten days of telemetry, so the usage page has a chart. It also pays for
another on a private plan, two months in: invoices issued and paid, a baseline agreed, one
outcome statement settled and one open for the buyer to verify now; the vendor has the payout
statement of the month the first invoice was paid in.
"""

import json
import random
import zoneinfo
from datetime import UTC, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, Metric, Plan, Subscription
from billing.periods import add_months, local_date, local_midnight
from billing.services import (
    installations,
    invoicing,
    outcomes,
    payouts,
    plans,
    subscriptions,
    telemetry,
)
from billing.services.closing import period_close
from billing.services.plans import MeteredTerms, OutcomeTerms, PlanTerms, TierTerms
from marketplace.accounts.models import Membership, Organization, Role, User
from marketplace.catalog.models import Listing

D = Decimal
# Scenario -> (usage metric, outcome metric), as (code, name, unit, mode).
METRICS = {
    "visual-quality-inspection": (
        ("inspections", "Inspections", "inspections", Metric.Mode.DELTA),
        ("defects_caught", "Defects caught", "defects", Metric.Mode.DELTA),
    ),
    "energy-management": (
        ("kwh", "Energy metered", "kWh", Metric.Mode.CUMULATIVE),
        ("kwh_saved", "Energy saved", "kWh", Metric.Mode.DELTA),
    ),
    "predictive-maintenance": (
        ("machine_hours", "Machine hours monitored", "h", Metric.Mode.DELTA),
        ("failures_prevented", "Failures prevented", "failures", Metric.Mode.DELTA),
    ),
}
DEFAULT_METRICS = (
    ("machine_hours", "Machine hours", "h", Metric.Mode.DELTA),
    ("stops_avoided", "Unplanned stops avoided", "stops", Metric.Mode.DELTA),
)
TRIAL_LISTING = "lumen-inspect"
TRIAL_BUYER = "huaxin-precision"
PAID_LISTING = "lumen-assembly-verify"
PAID_PLAN = "Huaxin line pack"


def _metrics(listing: Listing, vendor_user: User) -> tuple[Metric, Metric]:
    scenarios = [t.slug for t in listing.terms.all() if t.kind == "scenario"]
    profile = next((METRICS[s] for s in scenarios if s in METRICS), DEFAULT_METRICS)
    made = []
    for (code, name, unit, mode), kind in zip(
        profile, (Metric.Kind.USAGE, Metric.Kind.OUTCOME), strict=True
    ):
        metric = listing.metrics.filter(code=code).first() or plans.metric_create(
            actor=vendor_user,
            listing=listing,
            code=code,
            name=name,
            unit=unit,
            kind=kind,
            mode=mode,
        )
        made.append(metric)
    return made[0], made[1]


def _terms(listing: Listing, usage: Metric, outcome: Metric, rng: random.Random) -> PlanTerms:
    pricing = {t.slug for t in listing.terms.all() if t.kind == "pricing"}
    fee = D(rng.choice([299, 499, 899, 1499]))
    return PlanTerms(
        trial_days=14 if "free-trial" in pricing else None,
        recurring_amount=fee if "subscription" in pricing or not pricing else None,
        payment_terms_days=30,
        metered=(
            MeteredTerms(
                metric=usage.code,
                model="graduated",
                included_units=D(1000),
                tiers=(TierTerms(D(10000), D("0.05")), TierTerms(None, D("0.02"))),
            ),
        ),
        outcomes=(
            (OutcomeTerms(metric=outcome.code, unit_price=D("12.00"), floor=D(0), cap=D(5000)),)
            if "outcome-based" in pricing
            else ()
        ),
    )


@transaction.atomic
def seed_billing(vendor_user: User, buyer_user: User, staff_user: User) -> None:
    rng = random.Random(11)  # noqa: S311 - demo data, not secrets
    solutions = Listing.objects.filter(
        kind=Listing.Kind.SOLUTION, status=Listing.Status.PUBLISHED
    ).prefetch_related("terms", "vendor")
    for listing in solutions:
        publisher = _publisher(listing, vendor_user)
        usage, outcome = _metrics(listing, publisher)
        plan = listing.plans.filter(name="Standard").first()
        if plan is None:
            plan = plans.plan_create(
                actor=publisher,
                listing=listing,
                name="Standard",
                description="For one plant: every line, one price.",
                terms=_terms(listing, usage, outcome, rng),
            )
            plans.plan_set_offered(actor=publisher, plan=plan, offered=True)
    _seed_trial(buyer_user)
    _seed_paid(vendor_user, buyer_user, staff_user)


def _publisher(listing: Listing, fallback: User) -> User:
    """Someone who may publish for the listing's vendor: a member who may, or else a sales
    admin of the vendor made for the demo (who cannot sign in)."""
    vendor = listing.vendor
    member = vendor.memberships.filter(role__in=[Role.OWNER, Role.ADMIN]).first()
    if member:
        return member.user
    user, created = User.objects.get_or_create(email=f"sales@{vendor.slug}.demo.test")
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(user=user, organization=vendor, defaults={"role": Role.ADMIN})
    return user


def _seed_trial(buyer_user: User) -> None:
    listing = Listing.objects.filter(slug=TRIAL_LISTING).first()
    buyer = Organization.objects.filter(slug=TRIAL_BUYER).first()
    if listing is None or buyer is None:
        return
    plan: Plan | None = listing.plans.filter(is_published=True).first()
    if plan is None or Subscription.objects.filter(buyer=buyer, plan_version__plan=plan).exists():
        return
    now = timezone.now()
    started = now - timedelta(days=10)
    subscription = subscriptions.subscription_start(
        actor=buyer_user, buyer=buyer, plan=plan, now=started
    )
    issued = installations.installation_create(
        actor=buyer_user, subscription=subscription, name="Plant 1, weaving hall"
    )
    key = issued.record
    rng = random.Random(5)  # noqa: S311 - demo data
    metrics = list(listing.metrics.all())
    for day in range(10):
        events = []
        for hour in range(0, 24, 2):
            at = started + timedelta(days=day, hours=hour, minutes=5)
            for metric in metrics:
                low, high = (200, 900) if metric.kind == Metric.Kind.USAGE else (0, 6)
                events.append(
                    {
                        "id": f"demo-{metric.code}-{day}-{hour}",
                        "metric": metric.code,
                        "value": str(rng.randint(low, high)),
                        "timestamp": at.isoformat(),
                        "properties": {"line": f"loom-{hour % 4 + 1}"},
                    }
                )
        telemetry.usage_ingest_batch(key=key, body=json.dumps({"events": events}).encode(), now=now)


def _push(key, events: list[dict], now) -> None:
    telemetry.usage_ingest_batch(key=key, body=json.dumps({"events": events}).encode(), now=now)


def _seed_paid(vendor_user: User, buyer_user: User, staff_user: User) -> None:
    """Two months on a private plan, closed as period close would have closed them."""
    listing = Listing.objects.filter(slug=PAID_LISTING).first()
    buyer = Organization.objects.filter(slug=TRIAL_BUYER).first()
    if listing is None or buyer is None or listing.plans.filter(name=PAID_PLAN).exists():
        return
    scrap = listing.metrics.filter(code="scrap_kg").first() or plans.metric_create(
        actor=vendor_user,
        listing=listing,
        code="scrap_kg",
        name="Scrap",
        unit="kg",
        kind=Metric.Kind.OUTCOME,
    )
    usage, outcome = _metrics(listing, vendor_user)
    plan = plans.plan_create(
        actor=vendor_user,
        listing=listing,
        name=PAID_PLAN,
        description="Three assembly lines, with a share of the scrap saved.",
        private_for=buyer,
        terms=PlanTerms(
            recurring_amount=D("899.00"),
            payment_terms_days=30,
            metered=(
                MeteredTerms(
                    metric=usage.code,
                    model="graduated",
                    included_units=D(1000),
                    tiers=(TierTerms(D(10000), D("0.05")), TierTerms(None, D("0.02"))),
                ),
            ),
            outcomes=(
                OutcomeTerms(metric=outcome.code, unit_price=D("12.00"), cap=D(5000)),
                OutcomeTerms(
                    metric=scrap.code,
                    method="savings_share",
                    share_percent=D(30),
                    tariff=D("8.00"),
                    cap=D(3000),
                ),
            ),
        ),
    )
    plans.plan_set_offered(actor=vendor_user, plan=plan, offered=True)
    # Anchored so that the second month ended three days ago: its statement is open now.
    tz = zoneinfo.ZoneInfo(buyer.time_zone)
    now = timezone.now()
    anchor = add_months(local_date(now, tz) - timedelta(days=3), -2)
    started = local_midnight(anchor, tz) + timedelta(hours=9)
    subscriptions.billing_account_accept_invoice_terms(
        actor=buyer_user, organization=buyer, now=started
    )
    subscription = subscriptions.subscription_start(
        actor=buyer_user, buyer=buyer, plan=plan, now=started
    )
    key = installations.installation_create(
        actor=buyer_user, subscription=subscription, name="Assembly hall, lines 1-3"
    ).record
    period_close(now=started + timedelta(hours=1))
    baseline = outcomes.baseline_propose(
        actor=vendor_user,
        subscription=subscription,
        metric=scrap,
        value=D(1200),
        effective_from=subscription.current_period_end,
        note="Scrap weighed over the three months before Lumen Assembly Verify.",
        now=started + timedelta(hours=2),
    )
    outcomes.baseline_agree(actor=buyer_user, baseline=baseline, now=started + timedelta(hours=3))
    rng = random.Random(7)  # noqa: S311 - demo data
    first_end = subscription.current_period_end
    second_end = local_midnight(add_months(anchor, 2), tz)
    day = started
    while day + timedelta(hours=23) < now:
        events = [
            {
                "id": f"paid-{metric}-{day:%Y%m%d}",
                "metric": metric,
                "value": str(value),
                "timestamp": (day + timedelta(hours=12)).isoformat(),
                "properties": {"line": f"line-{rng.randint(1, 3)}"},
            }
            for metric, value in (
                (usage.code, rng.randint(300, 500)),
                (outcome.code, rng.randint(0, 4)),
                (scrap.code, rng.randint(26, 36)),
            )
        ]
        _push(key, events, day + timedelta(hours=23))
        day += timedelta(days=1)
    period_close(now=first_end)
    period_close(now=second_end - timedelta(days=1))  # the first statement settled unopposed
    period_close(now=second_end)
    first = Invoice.objects.filter(subscription=subscription).order_by("period_end").first()
    invoicing.invoice_mark_paid(
        actor=staff_user, invoice=first, reference="ICBC 2026-7781", now=first_end
    )
    # The vendor's payout statement of the month that invoice was paid in (a past month).
    payouts.payouts_prepare(month=first_end.astimezone(UTC).date(), now=now)
