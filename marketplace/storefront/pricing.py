"""A plan's terms as the storefront shows them, and the plans on offer on a listing page.

Terms are read from a plan version whose charges and allowance metric are loaded with it
(billing.selectors.offered_plans prefetches them for the listing page; the subscription page
fetches its one version the same way), so describing any number of plans takes a fixed number of
queries.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser

from billing import selectors
from billing.models import (
    BillingAccount,
    MeteredCharge,
    Metric,
    OutcomeCharge,
    Plan,
    PlanVersion,
    Subscription,
)
from billing.services.subscriptions import ALLOWANCE_TRIAL_DAYS
from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog.models import Listing

# Prefetch these on a Subscription queryset to describe its plan version without more queries.
VERSION_PREFETCH = (
    "plan_version__metered_charges__metric",
    "plan_version__metered_charges__tiers",
    "plan_version__outcome_charges__metric",
)


@dataclass(frozen=True)
class TierRow:
    """One tier of a graduated or volume charge: units above `start` up to `up_to`."""

    start: Decimal
    up_to: Decimal | None  # None: no upper bound
    unit_price: Decimal
    flat_amount: Decimal


@dataclass(frozen=True)
class Metered:
    charge: MeteredCharge
    tiers: list[TierRow]

    @property
    def is_tiered(self) -> bool:
        return self.charge.model in (MeteredCharge.Model.GRADUATED, MeteredCharge.Model.VOLUME)

    @property
    def has_flat_fees(self) -> bool:
        return any(tier.flat_amount for tier in self.tiers)


@dataclass(frozen=True)
class Terms:
    """Everything a plan version says, ready for templates/storefront/_plan_terms.html."""

    version: PlanVersion
    allowance_metric: Metric | None
    metered: list[Metered]
    outcomes: list[OutcomeCharge]

    @property
    def currency(self) -> str:
        return self.version.currency

    @property
    def allowance_days(self) -> int:
        """How long a trial measured by usage alone may run."""
        return ALLOWANCE_TRIAL_DAYS

    @property
    def is_free(self) -> bool:
        return not (self.version.recurring_amount or self.metered or self.outcomes)


def _tiers(charge: MeteredCharge) -> list[TierRow]:
    rows, start = [], Decimal(0)
    for tier in charge.tiers.all():
        rows.append(TierRow(start, tier.up_to, tier.unit_price, tier.flat_amount))
        start = tier.up_to if tier.up_to is not None else start
    return rows


def terms_of(version: PlanVersion) -> Terms:
    """A version's terms; its charges and allowance metric are expected to be loaded with it."""
    return Terms(
        version=version,
        allowance_metric=version.trial_allowance_metric,
        metered=[Metered(c, _tiers(c)) for c in version.metered_charges.all()],
        outcomes=list(version.outcome_charges.all()),
    )


@dataclass(frozen=True)
class PlanOffer:
    """A plan on the listing page, and the buyer's own subscription to it if there is one."""

    plan: Plan
    terms: Terms
    subscription: Subscription | None


@dataclass(frozen=True)
class Pricing:
    """The pricing area of a listing page.

    `state` says what the visitor can do: "not_public" (a preview), "sign_in",
    "no_organization", "not_buyer", "own_listing", or "subscribe" (with `can_manage` False
    when their role cannot). `can_pay`: the buyer has a card or accepted invoice terms, which a
    plan without a trial needs.
    """

    offers: list[PlanOffer]
    state: str
    can_manage: bool = False
    can_pay: bool = False


def pricing_for(
    listing: Listing, *, user: User | AnonymousUser, organization: Organization | None
) -> Pricing:
    buyer = organization if user.is_authenticated and organization else None
    plans = [
        (plan, selectors.current_offer(plan))
        for plan in selectors.offered_plans(listing, buyer=buyer)
        if plan.versions.all()  # a plan is made with its first version; never empty in practice
    ]
    own: dict[int, Subscription] = {}
    if buyer is not None and plans:
        # Newest first (the model's order): a plan taken again after an expired trial shows
        # the newer subscription.
        for subscription in (
            selectors.subscriptions_for(user)
            .filter(buyer_id=buyer.pk, plan_version__plan__listing_id=listing.pk)
            .exclude(status=Subscription.Status.CANCELED)
        ):
            own.setdefault(subscription.plan_version.plan_id, subscription)
    offers = [
        PlanOffer(
            plan=plan,
            terms=terms_of(version),
            subscription=own.get(plan.pk),
        )
        for plan, version in plans
    ]
    if not listing.is_public:
        return Pricing(offers, "not_public")
    if not user.is_authenticated:
        return Pricing(offers, "sign_in")
    if buyer is None:
        return Pricing(offers, "no_organization")
    if buyer.pk == listing.vendor_id:
        return Pricing(offers, "own_listing")
    if not buyer.is_buyer:
        return Pricing(offers, "not_buyer")
    if not offers:
        return Pricing(offers, "subscribe")
    account = BillingAccount.objects.filter(organization_id=buyer.pk).first()
    return Pricing(
        offers,
        "subscribe",
        can_manage=has_permission(user, buyer, Permission.MANAGE_BILLING),
        can_pay=account is not None and account.can_pay,
    )
