"""Changes during a paid subscription: plan changes with proration, cancel, pause, renewal."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import PendingItem, Plan, PlanVersion, Subscription
from billing.services import subscriptions
from billing.services.closing import period_close
from marketplace.errors import ServiceError

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = Decimal


@pytest.fixture
def paid(listing, buyer, buyer_owner):
    """Two monthly plans without trials: Basic at 300 and Pro at 900, paid by invoice."""
    basic = Plan.objects.create(listing=listing, name="Basic", is_published=True)
    PlanVersion.objects.create(plan=basic, number=1, recurring_amount=D(300))
    pro = Plan.objects.create(listing=listing, name="Pro", is_published=True)
    PlanVersion.objects.create(plan=pro, number=1, recurring_amount=D(900))
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    start = datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)
    subscription = subscriptions.subscription_start(
        actor=buyer_owner, buyer=buyer, plan=basic, now=start
    )
    return subscription, basic, pro


def test_a_mid_period_upgrade_charges_the_difference_for_the_time_left(paid, buyer_owner):
    subscription, _basic, pro = paid
    # November has 30 days; on the 21st at midnight 10 days are left: (900 - 300) * 10/30.
    at = datetime(2026, 11, 21, 0, 0, tzinfo=SHANGHAI)
    changed = subscriptions.subscription_change_plan(
        actor=buyer_owner, subscription=subscription, plan=pro, now=at
    )
    assert changed.plan_version.plan == pro
    item = PendingItem.objects.get()
    assert (item.kind, item.amount, item.currency) == ("proration", D("200.00"), "CNY")


def test_a_downgrade_is_a_credit(paid, buyer_owner):
    subscription, basic, pro = paid
    subscriptions.subscription_change_plan(
        actor=buyer_owner,
        subscription=subscription,
        plan=pro,
        now=datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI),
    )
    # 16 of 30 days left: (300 - 900) * 16/30 = -320.
    subscriptions.subscription_change_plan(
        actor=buyer_owner,
        subscription=subscription,
        plan=basic,
        now=datetime(2026, 11, 15, 0, 0, tzinfo=SHANGHAI),
    )
    assert PendingItem.objects.order_by("pk").last().amount == D("-320.00")


def renew(subscription_id: int, *, now: datetime) -> Subscription:
    """What happens to a subscription at its period's end: the period close moves it on."""
    period_close(now=now)
    return Subscription.objects.get(pk=subscription_id)


def test_cancelling_at_period_end_keeps_it_until_then(paid, buyer_owner):
    subscription, _basic, _pro = paid
    subscriptions.subscription_cancel(actor=buyer_owner, subscription=subscription)
    subscription.refresh_from_db()
    assert subscription.is_entitled
    assert subscription.cancel_at_period_end
    ended = renew(subscription.pk, now=datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI))
    assert ended.status == Subscription.Status.CANCELED
    assert ended.ended_at == datetime(2026, 12, 1, tzinfo=SHANGHAI)


def test_periods_renew_from_the_anchor_day(listing, buyer, buyer_owner):
    plan = Plan.objects.create(listing=listing, name="Monthly", is_published=True)
    PlanVersion.objects.create(plan=plan, number=1, recurring_amount=D(100))
    subscriptions.billing_account_accept_invoice_terms(actor=buyer_owner, organization=buyer)
    subscription = subscriptions.subscription_start(
        actor=buyer_owner,
        buyer=buyer,
        plan=plan,
        now=datetime(2026, 1, 31, 10, 0, tzinfo=SHANGHAI),
    )
    renewed = renew(subscription.pk, now=datetime(2026, 3, 5, tzinfo=SHANGHAI))
    # 31 Jan -> 28 Feb -> 31 Mar: the anchor day comes back after a short month.
    assert renewed.current_period_start == datetime(2026, 2, 28, tzinfo=SHANGHAI)
    assert renewed.current_period_end == datetime(2026, 3, 31, tzinfo=SHANGHAI)
    assert renewed.events.filter(action="period_renewed").count() == 1
    again = renew(subscription.pk, now=datetime(2026, 3, 5, tzinfo=SHANGHAI))
    assert again.current_period_start == renewed.current_period_start


def test_pause_and_resume(paid, buyer_owner):
    subscription, _basic, _pro = paid
    paused = subscriptions.subscription_pause(actor=buyer_owner, subscription=subscription)
    assert not paused.is_entitled
    resumed = subscriptions.subscription_resume(actor=buyer_owner, subscription=paused)
    assert resumed.status == Subscription.Status.ACTIVE


def test_a_plan_of_another_listing_is_refused(paid, buyer_owner):
    from tests.factories import ListingFactory

    subscription, _basic, _pro = paid
    other = Plan.objects.create(listing=ListingFactory(), name="Other", is_published=True)
    PlanVersion.objects.create(plan=other, number=1, recurring_amount=D(1))
    with pytest.raises(ServiceError, match="same listing"):
        subscriptions.subscription_change_plan(
            actor=buyer_owner, subscription=subscription, plan=other
        )
