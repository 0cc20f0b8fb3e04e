"""Vendors define what they charge: metrics, plans, and the terms of each plan version.

A plan version is frozen once anyone has subscribed to it: changing the terms of such a plan
makes a new version, which new subscribers get while existing ones keep theirs.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import MeteredCharge, Metric, OutcomeCharge, Plan, PlanVersion, PriceTier
from billing.money import CURRENCY_EXPONENTS, DEFAULT_CURRENCY
from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog.models import Listing
from marketplace.errors import Conflict, ServiceError


@dataclass(frozen=True)
class TierTerms:
    up_to: Decimal | None  # None: no upper bound (the last tier)
    unit_price: Decimal
    flat_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class MeteredTerms:
    metric: str  # a metric code of the listing
    model: str = MeteredCharge.Model.PER_UNIT
    unit_price: Decimal | None = None
    package_size: Decimal | None = None
    package_price: Decimal | None = None
    included_units: Decimal = Decimal(0)
    tiers: tuple[TierTerms, ...] = ()


@dataclass(frozen=True)
class OutcomeTerms:
    metric: str
    method: str = OutcomeCharge.Method.PER_OUTCOME
    unit_price: Decimal | None = None
    share_percent: Decimal | None = None
    tariff: Decimal | None = None
    floor: Decimal | None = None
    cap: Decimal | None = None
    verification_window_days: int = 7


@dataclass(frozen=True)
class PlanTerms:
    """Everything a plan version says, as the vendor set it."""

    currency: str = DEFAULT_CURRENCY
    trial_days: int | None = None
    trial_allowance: Decimal | None = None
    trial_allowance_metric: str = ""
    trial_requires_card: bool = False
    recurring_amount: Decimal | None = None
    recurring_interval: str = PlanVersion.Interval.MONTH
    payment_terms_days: int = 0
    metered: tuple[MeteredTerms, ...] = ()
    outcomes: tuple[OutcomeTerms, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False)


def _check_vendor(actor: User, listing: Listing) -> None:
    if not has_permission(actor, listing.vendor, Permission.PUBLISH):
        raise ServiceError(
            _("Only owners and admins of %(vendor)s can change its plans.")
            % {"vendor": listing.vendor.name},
            code="forbidden",
            status_code=403,
        )


def _money(value: Decimal | None, label: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ServiceError(_("%(field)s is required.") % {"field": label})
        return
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ServiceError(_("%(field)s must be a positive amount.") % {"field": label})


def _validate(terms: PlanTerms, metrics: dict[str, Metric]) -> None:
    if terms.currency not in CURRENCY_EXPONENTS:
        raise ServiceError(_("Choose a currency Precis supports."))
    if terms.trial_days is not None and not 1 <= terms.trial_days <= 365:
        raise ServiceError(_("A trial lasts from 1 to 365 days."))
    if terms.trial_allowance is not None:
        _money(terms.trial_allowance, _("The trial allowance"))
        if terms.trial_allowance_metric not in metrics:
            raise ServiceError(_("Say which metric the trial allowance counts."))
    _money(terms.recurring_amount, _("The recurring fee"))
    if terms.recurring_interval not in PlanVersion.Interval.values:
        raise ServiceError(_("Bill monthly or yearly."))
    if not 0 <= terms.payment_terms_days <= 120:
        raise ServiceError(_("Payment terms are from 0 to 120 days."))
    for charge in terms.metered:
        metric = metrics.get(charge.metric)
        if metric is None or metric.kind != Metric.Kind.USAGE:
            raise ServiceError(
                _("%(metric)s is not a usage metric of this listing.") % {"metric": charge.metric}
            )
        _money(charge.included_units, _("Included units"))
        if charge.model == MeteredCharge.Model.PER_UNIT:
            _money(charge.unit_price, _("The unit price"), required=True)
        elif charge.model == MeteredCharge.Model.PACKAGE:
            _money(charge.package_price, _("The package price"), required=True)
            if charge.package_size is None or charge.package_size <= 0:
                raise ServiceError(_("A package holds at least one unit."))
        elif charge.model in (MeteredCharge.Model.GRADUATED, MeteredCharge.Model.VOLUME):
            _validate_tiers(charge.tiers)
        else:
            raise ServiceError(_("Choose a pricing model."))
    for charge in terms.outcomes:
        metric = metrics.get(charge.metric)
        if metric is None or metric.kind != Metric.Kind.OUTCOME:
            raise ServiceError(
                _("%(metric)s is not an outcome metric of this listing.")
                % {"metric": charge.metric}
            )
        if charge.method == OutcomeCharge.Method.PER_OUTCOME:
            _money(charge.unit_price, _("The price per outcome"), required=True)
        elif charge.method == OutcomeCharge.Method.SAVINGS_SHARE:
            if charge.share_percent is None or not 0 < charge.share_percent <= 100:
                raise ServiceError(_("The share of savings is between 0 and 100%."))
            _money(charge.tariff, _("The value of one unit saved"), required=True)
        else:
            raise ServiceError(_("Choose how outcomes are charged."))
        _money(charge.floor, _("The floor"))
        _money(charge.cap, _("The cap"))
        if charge.floor is not None and charge.cap is not None and charge.floor > charge.cap:
            raise ServiceError(_("The floor cannot be above the cap."))
        if not 1 <= charge.verification_window_days <= 60:
            raise ServiceError(_("Buyers get from 1 to 60 days to verify outcomes."))


def _validate_tiers(tiers: tuple[TierTerms, ...]) -> None:
    if not tiers:
        raise ServiceError(_("Tiered pricing needs at least one tier."))
    bounds = [tier.up_to for tier in tiers]
    if bounds[-1] is not None or None in bounds[:-1]:
        raise ServiceError(_("Only the last tier is open-ended."))
    limits = bounds[:-1]
    if any(b <= a for a, b in zip([Decimal(0), *limits[:-1]], limits, strict=True)):
        raise ServiceError(_("Tier limits must go up."))
    for tier in tiers:
        _money(tier.unit_price, _("A tier's unit price"), required=True)
        _money(tier.flat_amount, _("A tier's flat fee"))


def _write_terms(version: PlanVersion, terms: PlanTerms, metrics: dict[str, Metric]) -> None:
    version.currency = terms.currency
    version.trial_days = terms.trial_days
    version.trial_allowance = terms.trial_allowance
    version.trial_allowance_metric = metrics.get(terms.trial_allowance_metric)
    version.trial_requires_card = terms.trial_requires_card
    version.recurring_amount = terms.recurring_amount
    version.recurring_interval = terms.recurring_interval
    version.payment_terms_days = terms.payment_terms_days
    version.save()
    version.metered_charges.all().delete()
    version.outcome_charges.all().delete()
    for item in terms.metered:
        charge = MeteredCharge.objects.create(
            version=version,
            metric=metrics[item.metric],
            model=item.model,
            unit_price=item.unit_price,
            package_size=item.package_size,
            package_price=item.package_price,
            included_units=item.included_units,
        )
        PriceTier.objects.bulk_create(
            PriceTier(
                charge=charge, up_to=t.up_to, unit_price=t.unit_price, flat_amount=t.flat_amount
            )
            for t in item.tiers
        )
    for item in terms.outcomes:
        OutcomeCharge.objects.create(
            version=version,
            metric=metrics[item.metric],
            method=item.method,
            unit_price=item.unit_price,
            share_percent=item.share_percent,
            tariff=item.tariff,
            floor=item.floor,
            cap=item.cap,
            verification_window_days=item.verification_window_days,
        )


def _metrics(listing: Listing) -> dict[str, Metric]:
    return {metric.code: metric for metric in listing.metrics.all()}


@transaction.atomic
def metric_create(
    *,
    actor: User,
    listing: Listing,
    code: str,
    name: str,
    unit: str,
    kind: str = Metric.Kind.USAGE,
    aggregation: str = Metric.Aggregation.SUM,
    mode: str = Metric.Mode.DELTA,
    unique_property: str = "",
) -> Metric:
    _check_vendor(actor, listing)
    metric = Metric(
        listing=listing,
        code=code.strip().lower(),
        name=name.strip(),
        unit=unit.strip(),
        kind=kind,
        aggregation=aggregation,
        mode=mode,
        unique_property=unique_property.strip(),
    )
    metric.full_clean(exclude=["listing"], validate_unique=False)
    if listing.metrics.filter(code=metric.code).exists():
        raise Conflict(_("This listing already has a metric %(code)s.") % {"code": metric.code})
    metric.save()
    return metric


@transaction.atomic
def plan_create(
    *,
    actor: User,
    listing: Listing,
    name: str,
    terms: PlanTerms,
    description: str = "",
    private_for: Organization | None = None,
) -> Plan:
    """A new plan (not yet offered) with its first version."""
    _check_vendor(actor, listing)
    if not name.strip():
        raise ServiceError(_("Give the plan a name."))
    metrics = _metrics(listing)
    _validate(terms, metrics)
    plan = Plan.objects.create(
        listing=listing,
        name=name.strip(),
        description=description.strip(),
        private_for=private_for,
        position=listing.plans.count(),
    )
    _write_terms(PlanVersion(plan=plan, number=1), terms, metrics)
    return plan


@transaction.atomic
def plan_update_terms(*, actor: User, plan: Plan, terms: PlanTerms) -> PlanVersion:
    """New terms for a plan: in place while nobody has subscribed, else a new version."""
    _check_vendor(actor, plan.listing)
    Plan.objects.select_for_update().filter(pk=plan.pk).first()
    metrics = _metrics(plan.listing)
    _validate(terms, metrics)
    current = plan.versions.order_by("-number").first()
    if current.subscriptions.exists():
        current = PlanVersion(plan=plan, number=current.number + 1)
    _write_terms(current, terms, metrics)
    return current


@transaction.atomic
def plan_update(
    *,
    actor: User,
    plan: Plan,
    name: str,
    description: str,
    private_for: Organization | None,
    terms: PlanTerms,
) -> PlanVersion:
    """What the plan is called and whom it is for (which subscribers' terms do not depend on),
    and its terms, versioned as plan_update_terms does."""
    if not name.strip():
        raise ServiceError(_("Give the plan a name."))
    version = plan_update_terms(actor=actor, plan=plan, terms=terms)
    plan.name = name.strip()
    plan.description = description.strip()
    plan.private_for = private_for
    plan.save(update_fields=["name", "description", "private_for"])
    return version


@transaction.atomic
def plan_set_offered(*, actor: User, plan: Plan, offered: bool) -> Plan:
    """Offer a plan on the listing page, or stop offering it (subscribers keep it)."""
    _check_vendor(actor, plan.listing)
    plan.is_published = offered
    plan.save(update_fields=["is_published"])
    return plan
