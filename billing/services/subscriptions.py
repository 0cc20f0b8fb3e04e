"""Starting, converting, expiring and resuming subscriptions (Precis owns trials, not Stripe)."""

import zoneinfo
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import selectors
from billing.models import (
    BillingAccount,
    PendingItem,
    Plan,
    PlanVersion,
    Subscription,
    SubscriptionEvent,
)
from billing.money import round_minor
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


def _log(
    subscription: Subscription,
    action: str,
    actor: User | None,
    now: datetime | None = None,
    **data,
) -> None:
    SubscriptionEvent.objects.create(
        subscription=subscription,
        action=action,
        actor=actor,
        data=data,
        created_at=now or timezone.now(),
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
        _log(
            subscription,
            SubscriptionEvent.Action.TRIAL_STARTED,
            actor,
            now,
            trial_ends_at=str(ends),
        )
        return subscription
    if not account.can_pay:
        raise ServiceError(
            _("Add a card or accept invoice terms before subscribing."),
            code="payment_method_required",
        )
    anchor = local_date(now, tz)
    start, end = period_at(anchor, now, version.recurring_interval, tz)
    subscription = Subscription.objects.create(
        buyer=buyer,
        plan_version=version,
        status=Subscription.Status.ACTIVE,
        started_at=now,
        current_period_start=start,
        current_period_end=end,
        period_anchor=anchor,
    )
    _log(subscription, SubscriptionEvent.Action.STARTED, actor, now)
    return subscription


def _activate(subscription: Subscription, now: datetime) -> None:
    tz = _tz(subscription.buyer)
    version = subscription.plan_version
    subscription.period_anchor = local_date(now, tz)
    start, end = period_at(subscription.period_anchor, now, version.recurring_interval, tz)
    subscription.status = Subscription.Status.ACTIVE
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.ended_at = None
    subscription.save()


@transaction.atomic
def subscription_end_trial(*, subscription_id: int, now: datetime | None = None) -> Subscription:
    """At a trial's end (its last day passed, or its usage allowance used up): active with a
    way to pay on file, otherwise expired (entitlement off, data kept). Does nothing to a
    subscription that is not a trial at its end, so running it again changes nothing."""
    now = now or timezone.now()
    subscription = (
        # Lock the subscription only: PostgreSQL cannot lock the nullable side of the join.
        Subscription.objects.select_for_update(of=("self",))
        .select_related("buyer", "plan_version__plan", "plan_version__trial_allowance_metric")
        .get(pk=subscription_id)
    )
    if subscription.status != Subscription.Status.TRIALING:
        return subscription
    ends = subscription.trial_ends_at
    if ends > now:
        usage = selectors.usage_totals(subscription, subscription.current_period_start, now)
        if not selectors.trial_allowance_used(subscription, usage):
            return subscription
        ends = now  # the allowance is used up: the trial ends today
    if billing_account_for(subscription.buyer).can_pay:
        _activate(subscription, ends)
        _log(subscription, SubscriptionEvent.Action.ACTIVATED, None, ends)
    else:
        subscription.status = Subscription.Status.EXPIRED
        subscription.ended_at = ends
        subscription.save()
        _log(subscription, SubscriptionEvent.Action.EXPIRED, None, ends)
    return subscription


def trials_due(now: datetime) -> list[int]:
    """Trials past their last day, and trials with a usage allowance (which may be used up)."""
    return list(
        Subscription.objects.filter(status=Subscription.Status.TRIALING)
        .filter(Q(trial_ends_at__lte=now) | Q(plan_version__trial_allowance__isnull=False))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def subscription_resume(
    *, actor: User, subscription: Subscription, now: datetime | None = None
) -> Subscription:
    """One click back: an expired trial or a paused subscription becomes active again. Paused
    within a period it paid for, it goes on with that period; otherwise a new period starts now,
    its fee owed in advance."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    _check_buyer(actor, subscription.buyer)
    if subscription.status not in (Subscription.Status.EXPIRED, Subscription.Status.PAUSED):
        raise Conflict(_("Only an expired or paused subscription can be resumed."))
    if not billing_account_for(subscription.buyer).can_pay:
        raise ServiceError(
            _("Add a card or accept invoice terms to resume."), code="payment_method_required"
        )
    if subscription.status == Subscription.Status.PAUSED and now < subscription.current_period_end:
        subscription.status = Subscription.Status.ACTIVE
        subscription.save()
    else:
        _activate(subscription, now)  # paused_at stays: the close invoices usage up to it
    _log(subscription, SubscriptionEvent.Action.RESUMED, actor, now)
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


# --- Changes during a subscription ---------------------------------------------------------------


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update()
        .select_related("buyer", "plan_version__plan")
        .get(pk=subscription.pk)
    )


@transaction.atomic
def subscription_cancel(
    *, actor: User, subscription: Subscription, at_period_end: bool = True, now=None
) -> Subscription:
    """Cancel at the end of the paid period (the default), or at once; data is kept."""
    now = now or timezone.now()
    subscription = _locked(subscription)
    _check_buyer(actor, subscription.buyer)
    if subscription.status in (Subscription.Status.CANCELED, Subscription.Status.EXPIRED):
        raise Conflict(_("This subscription has already ended."))
    if at_period_end and subscription.status == Subscription.Status.ACTIVE:
        subscription.cancel_at_period_end = True
        subscription.save()
        _log(subscription, SubscriptionEvent.Action.CANCEL_SCHEDULED, actor, now)
        return subscription
    subscription.status = Subscription.Status.CANCELED
    subscription.ended_at = now
    subscription.save()
    _log(subscription, SubscriptionEvent.Action.CANCELED, actor, now)
    return subscription


@transaction.atomic
def subscription_keep(*, actor: User, subscription: Subscription) -> Subscription:
    """Withdraw a cancellation scheduled for the end of the period."""
    subscription = _locked(subscription)
    _check_buyer(actor, subscription.buyer)
    if not subscription.cancel_at_period_end:
        raise Conflict(_("No cancellation is scheduled."))
    subscription.cancel_at_period_end = False
    subscription.save()
    _log(subscription, SubscriptionEvent.Action.CANCEL_UNDONE, actor)
    return subscription


@transaction.atomic
def subscription_pause(*, actor: User, subscription: Subscription, now=None) -> Subscription:
    """Stop for a while: no entitlement and no new period fees until resumed; data kept."""
    subscription = _locked(subscription)
    _check_buyer(actor, subscription.buyer)
    if subscription.status != Subscription.Status.ACTIVE:
        raise Conflict(_("Only an active subscription can be paused."))
    subscription.status = Subscription.Status.PAUSED
    subscription.paused_at = now or timezone.now()
    subscription.save()
    _log(subscription, SubscriptionEvent.Action.PAUSED, actor, subscription.paused_at)
    return subscription


def proration(
    old: PlanVersion, new: PlanVersion, *, start: datetime, end: datetime, at: datetime
) -> Decimal:
    """What changing from `old` to `new` at `at` costs for the rest of the period [start, end):
    the new fee for the time left minus the old fee for the time left (negative: a credit)."""
    if old.currency != new.currency:
        raise ServiceError(_("A plan can only change to one in the same currency."))
    left = Decimal((end - at).total_seconds()) / Decimal((end - start).total_seconds())
    left = min(max(left, Decimal(0)), Decimal(1))
    difference = (new.recurring_amount or Decimal(0)) - (old.recurring_amount or Decimal(0))
    return round_minor(difference * left, new.currency)


@transaction.atomic
def subscription_change_plan(
    *, actor: User, subscription: Subscription, plan: Plan, now=None
) -> Subscription:
    """Move to another plan of the same listing, now. A paid subscription pays (or is credited)
    the difference of fees for the rest of its period, on its next invoice; a trial just
    continues on the new plan."""
    now = now or timezone.now()
    subscription = _locked(subscription)
    _check_buyer(actor, subscription.buyer)
    _check_offered(plan, subscription.buyer)
    old = subscription.plan_version
    if plan.listing_id != old.plan.listing_id:
        raise ServiceError(_("Change to a plan of the same listing."))
    if plan.pk == old.plan_id:
        raise Conflict(_("This is already the plan."))
    if subscription.status not in (Subscription.Status.TRIALING, Subscription.Status.ACTIVE):
        raise Conflict(_("Only a trial or an active subscription can change plans."))
    new = current_version(plan)
    amount = Decimal(0)
    if subscription.status == Subscription.Status.ACTIVE:
        amount = proration(
            old,
            new,
            start=subscription.current_period_start,
            end=subscription.current_period_end,
            at=now,
        )
        if amount:
            PendingItem.objects.create(
                subscription=subscription,
                kind=PendingItem.Kind.PRORATION,
                description=_("%(old)s to %(new)s for the rest of the period")
                % {"old": old.plan.name, "new": plan.name},
                amount=amount,
                currency=new.currency,
            )
    subscription.plan_version = new
    subscription.save()
    _log(
        subscription,
        SubscriptionEvent.Action.PLAN_CHANGED,
        actor,
        now,
        old_version=old.pk,
        new_version=new.pk,
        proration=str(amount),
    )
    return subscription


def period_advance(subscription: Subscription) -> tuple[str, dict, datetime]:
    """One step at the end of a paid period: the next period starts, or a scheduled
    cancellation takes effect. Changes the (locked) subscription without saving it, and returns
    the history event to store as (action, data, when): the close stores thousands at once."""
    end = subscription.current_period_end
    if subscription.cancel_at_period_end:
        subscription.status = Subscription.Status.CANCELED
        subscription.ended_at = end
        return SubscriptionEvent.Action.CANCELED, {}, end
    tz = _tz(subscription.buyer)
    anchor = subscription.period_anchor or local_date(end, tz)
    start, end = period_at(anchor, end, subscription.plan_version.recurring_interval, tz)
    subscription.current_period_start, subscription.current_period_end = start, end
    return SubscriptionEvent.Action.PERIOD_RENEWED, {"start": str(start)}, start
