"""Rating: turning quantities into money with a plan version's charges.

The one place prices are computed. A trial's "what you would have paid" and (with the period
close) the invoices are both made here, so they cannot disagree. Each line is rounded once to the
currency's minor unit; the total is the sum of rounded lines.

Included units are taken off the quantity first, whatever the pricing model; tiers then apply to
what is left.
"""

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.utils.translation import gettext as _

from billing.models import MeteredCharge, OutcomeCharge, PlanVersion
from billing.money import Money, round_minor

ZERO = Decimal(0)


@dataclass(frozen=True)
class Line:
    description: str
    amount: Money
    metric: str = ""
    quantity: Decimal | None = None


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total += line.amount
        return total


def metered_amount(charge: MeteredCharge, quantity: Decimal) -> Decimal:
    """The unrounded price of `quantity` units under the charge's model."""
    billable = max(quantity - (charge.included_units or ZERO), ZERO)
    if billable == 0:
        return ZERO
    if charge.model == MeteredCharge.Model.PER_UNIT:
        return billable * (charge.unit_price or ZERO)
    if charge.model == MeteredCharge.Model.PACKAGE:
        packages = (billable / charge.package_size).to_integral_value(rounding=ROUND_CEILING)
        return packages * (charge.package_price or ZERO)
    tiers = charge.tier_list
    if charge.model == MeteredCharge.Model.VOLUME:
        tier = next((t for t in tiers if t.up_to is None or billable <= t.up_to), tiers[-1])
        return billable * tier.unit_price + tier.flat_amount
    amount, floor = ZERO, ZERO  # graduated: each tier prices the units inside it
    for tier in tiers:
        top = billable if tier.up_to is None else min(billable, tier.up_to)
        if top > floor:
            amount += (top - floor) * tier.unit_price + tier.flat_amount
        if tier.up_to is None or billable <= tier.up_to:
            break
        floor = tier.up_to
    return amount


def bounded(amount: Decimal, charge: OutcomeCharge) -> Decimal:
    """An outcome charge held between its floor and cap for the period."""
    if charge.floor is not None:
        amount = max(amount, charge.floor)
    if charge.cap is not None:
        amount = min(amount, charge.cap)
    return amount


def outcome_amount(
    charge: OutcomeCharge, quantity: Decimal, *, baseline: Decimal | None
) -> Decimal:
    """Per outcome: quantity times price. Share of savings: the share of (baseline - measured)
    times the tariff, never below zero. Both bounded by floor and cap."""
    if charge.method == OutcomeCharge.Method.PER_OUTCOME:
        return bounded(quantity * (charge.unit_price or ZERO), charge)
    saved = max((baseline or ZERO) - quantity, ZERO)
    share = (charge.share_percent or ZERO) / 100
    return bounded(saved * (charge.tariff or ZERO) * share, charge)


def _line(description: str, amount: Decimal, currency: str, **kwargs) -> Line:
    return Line(description, Money(round_minor(amount, currency), currency), **kwargs)


def metered_lines(version: PlanVersion, usage: dict[str, Decimal]) -> list[Line]:
    """A line per metered charge of the version: its metric's quantity, priced and rounded."""
    return [
        _line(
            charge.metric.name,
            metered_amount(charge, usage.get(charge.metric.code, ZERO)),
            version.currency,
            metric=charge.metric.code,
            quantity=usage.get(charge.metric.code, ZERO),
        )
        for charge in version.metered_charge_list
    ]


def outcome_line(charge: OutcomeCharge, quantity: Decimal, *, baseline, currency: str) -> Line:
    """One outcome charge rated for a period (a statement line's claim or its settled value)."""
    return _line(
        charge.metric.name,
        outcome_amount(charge, quantity, baseline=baseline),
        currency,
        metric=charge.metric.code,
        quantity=quantity,
    )


def needs_baseline(charge: OutcomeCharge, baseline) -> bool:
    return charge.method == OutcomeCharge.Method.SAVINGS_SHARE and baseline is None


def recurring_label(version: PlanVersion) -> str:
    if version.recurring_interval == PlanVersion.Interval.YEAR:
        return _("Yearly fee")
    return _("Monthly fee")


def quote(
    version: PlanVersion,
    usage: dict[str, Decimal],
    *,
    include_recurring: bool = True,
    baselines: dict[str, Decimal] | None = None,
) -> Quote:
    """What a period costs under this version for the given usage (metric code -> quantity)."""
    currency = version.currency
    result = Quote(currency)
    if include_recurring and version.recurring_amount:
        result.lines.append(_line(recurring_label(version), version.recurring_amount, currency))
    result.lines.extend(metered_lines(version, usage))
    for charge in version.outcome_charge_list:
        baseline = (baselines or {}).get(charge.metric.code)
        if needs_baseline(charge, baseline):
            result.notes.append(
                _("%(metric)s: a share of savings, charged once a baseline is agreed.")
                % {"metric": charge.metric.name}
            )
            continue
        quantity = usage.get(charge.metric.code, ZERO)
        result.lines.append(outcome_line(charge, quantity, baseline=baseline, currency=currency))
    return result
