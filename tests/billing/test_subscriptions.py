"""Trials and subscriptions: start with no card, convert or expire at the end, resume."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import periods, tasks
from billing.models import Plan, PlanVersion, Subscription, SubscriptionEvent
from billing.services import subscriptions
from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from tests.factories import MembershipFactory, OrganizationFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_trial_starts_without_a_card_and_ends_at_local_midnight(plan, buyer, buyer_owner):
    started = datetime(2026, 11, 22, 15, 0, tzinfo=SHANGHAI)
    sub = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan, now=started)
    assert sub.status == Subscription.Status.TRIALING
    # 14 whole days after the 22nd: it ends as 7 December begins in Shanghai.
    assert sub.trial_ends_at == datetime(2026, 12, 7, 0, 0, tzinfo=SHANGHAI)
    assert sub.events.get().action == SubscriptionEvent.Action.TRIAL_STARTED


def test_a_second_start_of_the_same_plan_is_refused(subscription, plan, buyer, buyer_owner):
    with pytest.raises(ServiceError, match="already has this plan"):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)


def test_a_member_without_billing_rights_cannot_subscribe(plan, buyer):
    member = MembershipFactory(organization=buyer, role=Role.MEMBER).user
    with pytest.raises(ServiceError) as refused:
        subscriptions.subscription_start(actor=member, buyer=buyer, plan=plan)
    assert refused.value.status_code == 403


def test_a_private_plan_is_offered_only_to_its_buyer(plan, buyer, buyer_owner):
    plan.private_for = OrganizationFactory()
    plan.save()
    with pytest.raises(ServiceError, match="not on offer"):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    plan.private_for = buyer
    plan.save()
    assert subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)


def test_a_trial_that_needs_a_card_is_refused_without_one(plan, buyer, buyer_owner):
    PlanVersion.objects.filter(plan=plan).update(trial_requires_card=True)
    with pytest.raises(ServiceError, match="needs a card"):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)


def test_a_plan_without_a_trial_needs_a_way_to_pay(listing, buyer, buyer_owner):
    plan = Plan.objects.create(listing=listing, name="Yearly", is_published=True)
    PlanVersion.objects.create(
        plan=plan, number=1, recurring_amount=Decimal(4990), recurring_interval="year"
    )
    with pytest.raises(ServiceError, match="Add a card or accept invoice terms"):
        subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    now = datetime(2026, 11, 22, 15, 0, tzinfo=SHANGHAI)
    sub = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan, now=now)
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.current_period_start == datetime(2026, 11, 22, tzinfo=SHANGHAI)
    assert sub.current_period_end == datetime(2027, 11, 22, tzinfo=SHANGHAI)


def test_at_its_end_a_trial_expires_without_a_way_to_pay_and_resumes_in_one_click(
    subscription, buyer_owner, buyer
):
    after = subscription.trial_ends_at + timedelta(minutes=1)
    ended = subscriptions.subscription_end_trial(subscription_id=subscription.pk, now=after)
    assert ended.status == Subscription.Status.EXPIRED
    assert not ended.is_entitled
    # Running the job again changes nothing.
    assert subscriptions.subscription_end_trial(subscription_id=subscription.pk, now=after)
    assert ended.events.filter(action="expired").count() == 1
    with pytest.raises(ServiceError, match="accept invoice terms"):
        subscriptions.subscription_resume(actor=buyer_owner, subscription=ended)
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    resumed = subscriptions.subscription_resume(actor=buyer_owner, subscription=ended)
    assert resumed.status == Subscription.Status.ACTIVE


def test_at_its_end_a_trial_with_invoice_terms_becomes_active(subscription, buyer_owner, buyer):
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    after = subscription.trial_ends_at + timedelta(minutes=1)
    ended = subscriptions.subscription_end_trial(subscription_id=subscription.pk, now=after)
    assert ended.status == Subscription.Status.ACTIVE
    # The first paid month starts when the trial ended, at local midnight.
    assert ended.current_period_start == subscription.trial_ends_at
    assert ended.current_period_end == periods.local_midnight(
        periods.add_months(periods.local_date(subscription.trial_ends_at, SHANGHAI), 1), SHANGHAI
    )


def test_the_beat_job_ends_only_trials_that_are_due(subscription, monkeypatch):
    tasks.periods_close()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.TRIALING
    Subscription.objects.filter(pk=subscription.pk).update(
        trial_ends_at=timezone.now() - timedelta(seconds=1)
    )
    tasks.periods_close()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.EXPIRED


def test_a_reminder_goes_out_once_before_the_trial_ends(
    subscription, mailoutbox, django_capture_on_commit_callbacks
):
    Subscription.objects.filter(pk=subscription.pk).update(
        trial_ends_at=timezone.now() + timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.trial_reminders_send()
        tasks.trial_reminders_send()
    assert len(mailoutbox) == 1
    assert "Weave Eye" in mailoutbox[0].subject
    assert "add a card or accept invoice terms" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("anchor", "instant", "start", "end"),
    [
        ("2026-01-31", "2026-02-15T12:00", "2026-01-31", "2026-02-28"),
        ("2026-01-31", "2026-03-01T00:00", "2026-02-28", "2026-03-31"),
        ("2026-01-31", "2026-03-31T00:00", "2026-03-31", "2026-04-30"),
        ("2024-02-29", "2025-03-01T08:00", "2025-02-28", "2025-03-29"),
    ],
)
def test_monthly_periods_count_from_the_anchor_day(anchor, instant, start, end):
    start_at, end_at = periods.period_at(
        datetime.fromisoformat(anchor).date(),
        datetime.fromisoformat(instant).replace(tzinfo=SHANGHAI),
        "month",
        SHANGHAI,
    )
    assert start_at == datetime.fromisoformat(start).replace(tzinfo=SHANGHAI)
    assert end_at == datetime.fromisoformat(end).replace(tzinfo=SHANGHAI)


def test_a_trial_ends_when_its_usage_allowance_is_used_up(
    plan, buyer, buyer_owner, metrics, client
):
    from billing.services import installations

    PlanVersion.objects.filter(plan=plan).update(
        trial_allowance=Decimal(500), trial_allowance_metric=metrics["inspections"]
    )
    sub = subscriptions.subscription_start(actor=buyer_owner, buyer=buyer, plan=plan)
    key = installations.installation_create(actor=buyer_owner, subscription=sub, name="Line 1").key
    at = timezone.now().isoformat()

    def push(n, value):
        return client.post(
            "/api/v1/telemetry/events",
            {"events": [{"id": f"e{n}", "metric": "inspections", "value": value, "timestamp": at}]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    push(1, "300")
    tasks.periods_close()
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.TRIALING
    push(2, "250")
    entitlement = client.get("/api/v1/entitlements", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert entitlement["entitled"] is False
    assert entitlement["limits"]["trial_allowance"] == {
        "metric": "inspections",
        "quantity": "500",
        "used": "550",
    }
    tasks.periods_close()
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED
