"""Rating worked examples, computed by hand."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import rating
from billing.models import MeteredCharge, OutcomeCharge, PlanVersion, PriceTier

D = Decimal


def charge(model, *, tiers=(), **fields) -> MeteredCharge:
    """An unsaved charge whose tiers are given in memory."""
    item = MeteredCharge(pk=1, model=model, **fields)
    item._prefetched_objects_cache = {
        "tiers": [PriceTier(up_to=up, unit_price=D(p), flat_amount=D(f)) for up, p, f in tiers]
    }
    return item


TIERS = [(D(1000), "0.10", "0"), (D(5000), "0.08", "0"), (None, "0.05", "0")]


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (D(0), D(0)),
        (D(1000), D("100.00")),  # exactly the first boundary: all at 0.10
        (D(1001), D("100.08")),  # one unit into the second tier
        (D(5000), D("420.00")),  # 100 + 4000 * 0.08
        (D(6000), D("470.00")),  # 420 + 1000 * 0.05
    ],
)
def test_graduated_tiers_price_the_units_inside_each(quantity, amount):
    assert rating.metered_amount(charge("graduated", tiers=TIERS), quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (D(1000), D("100.00")),  # the whole quantity at 0.10
        (D(1001), D("80.08")),  # the whole quantity reaches the second tier: 1001 * 0.08
        (D(6000), D("300.00")),  # 6000 * 0.05
    ],
)
def test_volume_tiers_price_every_unit_at_the_tier_reached(quantity, amount):
    assert rating.metered_amount(charge("volume", tiers=TIERS), quantity) == amount


def test_flat_fees_of_tiers_are_added_once_per_tier_reached():
    tiers = [(D(10), "1", "5"), (None, "0.5", "20")]
    # 10 * 1 + 5, then 5 * 0.5 + 20
    assert rating.metered_amount(charge("graduated", tiers=tiers), D(15)) == D("37.5")
    # volume: 15 * 0.5 + 20
    assert rating.metered_amount(charge("volume", tiers=tiers), D(15)) == D("27.5")


def test_per_unit_after_included_units():
    item = charge("per_unit", unit_price=D("0.02"), included_units=D(1000))
    assert rating.metered_amount(item, D(999)) == 0
    assert rating.metered_amount(item, D(1500)) == D("10.00")


def test_packages_are_charged_per_started_package():
    item = charge("package", package_size=D(100), package_price=D("9.90"), included_units=D(0))
    assert rating.metered_amount(item, D(1)) == D("9.90")
    assert rating.metered_amount(item, D(100)) == D("9.90")
    assert rating.metered_amount(item, D(101)) == D("19.80")


def outcome(**fields) -> OutcomeCharge:
    return OutcomeCharge(**fields)


def test_per_outcome_with_floor_and_cap():
    item = outcome(method="per_outcome", unit_price=D("2.50"), floor=D(50), cap=D(500))
    assert rating.outcome_amount(item, D(10), baseline=None) == D(50)  # 25 is under the floor
    assert rating.outcome_amount(item, D(100), baseline=None) == D("250.00")
    assert rating.outcome_amount(item, D(1000), baseline=None) == D(500)  # capped


def test_share_of_savings_hits_its_cap_and_its_floor():
    # 20% of the kWh saved against a 10,000 kWh baseline, at 0.80 CNY per kWh.
    item = outcome(
        method="savings_share", share_percent=D(20), tariff=D("0.80"), floor=D(100), cap=D(600)
    )
    # Saved 2,000 kWh: 2000 * 0.80 * 20% = 320.
    assert rating.outcome_amount(item, D(8000), baseline=D(10000)) == D("320.00")
    # Saved 5,000 kWh: 800, capped at 600.
    assert rating.outcome_amount(item, D(5000), baseline=D(10000)) == D(600)
    # Saved 100 kWh: 16, held at the floor of 100.
    assert rating.outcome_amount(item, D(9900), baseline=D(10000)) == D(100)
    # Used more than the baseline: nothing saved, still the floor.
    assert rating.outcome_amount(item, D(12000), baseline=D(10000)) == D(100)


@given(st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False))
def test_graduated_never_costs_more_than_all_units_at_the_top_price(quantity):
    amount = rating.metered_amount(charge("graduated", tiers=TIERS), quantity)
    assert 0 <= amount <= quantity * D("0.10")


@pytest.mark.django_db
def test_a_quote_rounds_each_line_once(plan):
    version: PlanVersion = plan.versions.get()
    version.currency = "CNY"
    quote = rating.quote(version, {"inspections": D("1234.567")})
    # 499 monthly, then (1234.567 - 1000) * 0.02 = 4.69134 -> 4.69
    assert [(line.description, line.amount.amount) for line in quote.lines] == [
        ("Monthly fee", D("499.00")),
        ("Inspections", D("4.69")),
    ]
    assert quote.total.amount == D("503.69")
    assert quote.total.currency == "CNY"
