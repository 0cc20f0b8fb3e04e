"""Money and quantities as people read them: exact Decimals, grouped digits, the currency named.

- `{{ amount|money:"CNY" }}` (or `{{ money_object|money }}`): 499.00 CNY, 0.005 CNY. At least the
  currency's minor unit is shown, more when a unit price has more (a fraction of a fen).
- `{{ quantity|quantity }}`: 1,000 or 12.5, with no trailing zeros.

Values are never turned into floats: a Decimal goes straight to Django's number formatting.
"""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from billing.money import CURRENCY_EXPONENTS, Money

register = template.Library()

NBSP = "\u00a0"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("Amounts and quantities are Decimals, never floats")
    return value if isinstance(value, Decimal) else Decimal(value)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def format_quantity(value: Decimal, *, min_places: int = 0) -> str:
    places = max(_places(value), min_places)
    return number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def quantity(value) -> str:
    number = _decimal(value)
    return "" if number is None else format_quantity(number)


@register.filter
def money(value, currency: str = "") -> str:
    if isinstance(value, Money):
        value, currency = value.amount, value.currency
    number = _decimal(value)
    if number is None:
        return ""
    text = format_quantity(number, min_places=CURRENCY_EXPONENTS.get(currency, 2))
    return f"{text}{NBSP}{currency}" if currency else text
