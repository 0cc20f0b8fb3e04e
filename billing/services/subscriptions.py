"""Starting, converting, expiring and resuming subscriptions (Precis owns trials, not Stripe)."""

import zoneinfo
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import BillingAccount, Plan, PlanVersion, Subscription, SubscriptionEvent
from billing.periods import local_date, period_at, trial_end
from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog.models import Listing
from marketplace.errors import Conflict, ServiceError

# Used while trialing when a plan's trial is a usage allowance without a number of days.
ALLOWANCE_TRIAL_DAYS = 30
LIVE = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.PAUSED,
)


def billing_account_for(organization: Organization) -> BillingAccount:
    account, _created = BillingAccount.objects.get_or_create(organization=organization)
    return account


def current_version(plan: Plan) -> PlanVersion:
    return plan.versions.order_by("-number").first()


def _tz(organization: Organization) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(organization.time_zone)


def _log(subscription: Subscription, action: str, actor: User | None, **data) -> None:
    SubscriptionEvent.objects.create(
        subscription=subscription, action=action, actor=actor, data=data
    )


def _check_buyer(actor: User, buyer: Organization) -> None:
    if not has_permission(actor, buyer, Permission.MANAGE_BILLING):
        raise ServiceError(
            _("Only owners, admins and billing members can subscribe for %(org)s.")
            % {"org": buyer.name},
            code="forbidden",
            status_code=403,
        )
    if not buyer.is_buyer:
        raise ServiceError(_("%(org)s is not set up to buy.") % {"org": buyer.name})


def _check_offered(plan: Plan, buyer: Organization) -> None:
    offered = (
        plan.is_published
        and plan.listing.status == Listing.Status.PUBLISHED
        and (plan.private_for_id is None or plan.private_for_id == buyer.pk)
    )
    if not offered:
        raise ServiceError(_("This plan is not on offer."), code="not_found", status_code=404)
    if plan.listing.vendor_id == buyer.pk:
        raise ServiceError(_("An organization cannot subscribe to its own listing."))


@transaction.atomic
def subscription_start(
    *, actor: User, buyer: Organization, plan: Plan, now: datetime | None = None
) -> Subscription:
    """Subscribe a buyer to a plan's current version: a trial when the plan has one, with no card
    unless the plan asks for one; otherwise an active subscription, which needs a way to pay."""
    now = now or timezone.now()
    _check_buyer(actor, buyer)
    _check_offered(plan, buyer)
    version = current_version(plan)
    if version is None:
        raise ServiceError(_("This plan has no terms yet."))
    # Serialize starts per buyer so that two clicks cannot make two subscriptions.
    Organization.objects.select_for_update().filter(pk=buyer.pk).first()
    if Subscription.objects.filter(buyer=buyer, plan_version__plan=plan, status__in=LIVE).exists():
        raise Conflict(_("%(org)s already has this plan.") % {"org": buyer.name}, code="exists")
    account = billing_account_for(buyer)
    tz = _tz(buyer)
    if version.has_trial:
        if version.trial_requires_card and not account.has_payment_method:
            raise ServiceError(
                _("This trial needs a card on file first."), code="payment_method_required"
            )
        ends = trial_end(now, version.trial_days or ALLOWANCE_TRIAL_DAYS, tz)
        subscription = Subscription.objects.create(
            buyer=buyer,
            plan_version=version,
            status=Subscription.Status.TRIALING,
            started_at=now,
            trial_ends_at=ends,
            current_period_start=now,
            current_period_end=ends,
        )
        _log(subscription, SubscriptionEvent.Action.TRIAL_STARTED, actor, trial_ends_at=str(ends))
        return subscription
    if not account.can_pay:
        raise ServiceError(
            _("Add a card or accept invoice terms before subscribing."),
            code="payment_method_required",
        )
    start, end = period_at(local_date(now, tz), now, version.recurring_interval, tz)
    subscription = Subscription.objects.create(
        buyer=buyer,
        plan_version=version,
        status=Subscription.Status.ACTIVE,
        started_at=now,
        current_period_start=start,
        current_period_end=end,
    )
    _log(subscription, SubscriptionEvent.Action.STARTED, actor)
    return subscription


def _activate(subscription: Subscription, now: datetime) -> None:
    tz = _tz(subscription.buyer)
    version = subscription.plan_version
    start, end = period_at(local_date(now, tz), now, version.recurring_interval, tz)
    subscription.status = Subscription.Status.ACTIVE
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.ended_at = None
    subscription.save()


@transaction.atomic
def subscription_end_trial(*, subscription_id: int, now: datetime | None = None) -> Subscription:
    """At a trial's end: active with a way to pay on file, otherwise expired (entitlement off,
    data kept). Does nothing to a subscription that is not a trial past its end."""
    now = now or timezone.now()
    subscription = (
        Subscription.objects.select_for_update()
        .select_related("buyer", "plan_version")
        .get(pk=subscription_id)
    )
    if subscription.status != Subscription.Status.TRIALING or subscription.trial_ends_at > now:
        return subscription
    if billing_account_for(subscription.buyer).can_pay:
        _activate(subscription, subscription.trial_ends_at)
        _log(subscription, SubscriptionEvent.Action.ACTIVATED, None)
    else:
        subscription.status = Subscription.Status.EXPIRED
        subscription.ended_at = subscription.trial_ends_at
        subscription.save()
        _log(subscription, SubscriptionEvent.Action.EXPIRED, None)
    return subscription


def trials_due(now: datetime) -> list[int]:
    return list(
        Subscription.objects.filter(
            status=Subscription.Status.TRIALING, trial_ends_at__lte=now
        ).values_list("pk", flat=True)
    )


@transaction.atomic
def subscription_resume(
    *, actor: User, subscription: Subscription, now: datetime | None = None
) -> Subscription:
    """One click back: an expired trial or a paused subscription becomes active again."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _check_buyer(actor, subscription.buyer)
    if subscription.status not in (Subscription.Status.EXPIRED, Subscription.Status.PAUSED):
        raise Conflict(_("Only an expired or paused subscription can be resumed."))
    if not billing_account_for(subscription.buyer).can_pay:
        raise ServiceError(
            _("Add a card or accept invoice terms to resume."), code="payment_method_required"
        )
    _activate(subscription, now)
    subscription.paused_at = None
    subscription.save()
    _log(subscription, SubscriptionEvent.Action.RESUMED, actor)
    return subscription


@transaction.atomic
def billing_account_accept_invoice_terms(
    *, actor: User, organization: Organization, now: datetime | None = None
) -> BillingAccount:
    """The buyer agrees to pay invoices by their due date (the "pay later" part)."""
    if not has_permission(actor, organization, Permission.MANAGE_BILLING):
        raise ServiceError(
            _("Only owners, admins and billing members can accept invoice terms."),
            code="forbidden",
            status_code=403,
        )
    account = BillingAccount.objects.select_for_update().get(
        pk=billing_account_for(organization).pk
    )
    if account.invoice_terms_accepted_at is None:
        account.invoice_terms_accepted_at = now or timezone.now()
        account.invoice_terms_accepted_by = actor
        account.save()
    return account


def trial_reminder_window() -> timedelta:
    return timedelta(days=3)
