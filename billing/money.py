"""Money: Decimal amounts with an ISO 4217 currency, and the one place precision is decided.

Amounts are stored with AMOUNT_PLACES decimals (unit prices can be fractions of a fen) and
rounded once per invoice line to the currency's minor unit. Floats never appear here: a float
passed as an amount is a bug and is refused.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_CURRENCY = "CNY"
# Minor-unit exponents of the currencies plans may use (ISO 4217).
CURRENCY_EXPONENTS = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0, "KRW": 0}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]
AMOUNT_DIGITS = 20
AMOUNT_PLACES = 6
# Metered quantities: a kWh reading with three decimals, a count of parts, ...
QUANTITY_DIGITS = 30
QUANTITY_PLACES = 9


def amount_field(verbose_name: str = "", **kwargs) -> models.DecimalField:
    """A money amount column (its currency is a sibling field on the same row)."""
    return models.DecimalField(
        verbose_name or _("amount"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        **kwargs,
    )


def quantity_field(verbose_name: str = "", **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name or _("quantity"),
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        **kwargs,
    )


def currency_field(**kwargs) -> models.CharField:
    return models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY, **kwargs
    )


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, not {type(self.amount).__name__}")
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"Unknown currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal(0), currency)

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self) -> "Money":
        """Rounded half up to the currency's minor unit: once per line, never on totals."""
        return Money(round_minor(self.amount, self.currency), self.currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def round_minor(amount: Decimal, currency: str) -> Decimal:
    exponent = CURRENCY_EXPONENTS[currency]
    return amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
