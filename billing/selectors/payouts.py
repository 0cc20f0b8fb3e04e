"""Reads of vendor payouts for the vendor's pages (writes are in billing.services.payouts)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from billing.models import LedgerEntry, Payout, PayoutCredit, PayoutLine, VendorPayoutAccount
from billing.money import round_minor
from marketplace.accounts.models import Organization

ON_COLLECTION = LedgerEntry.Account.PAYABLE_ON_COLLECTION
PAYABLE = LedgerEntry.Account.PAYABLE


@dataclass(frozen=True)
class VendorBalance:
    """What Precis will owe a vendor in one currency, from the ledger: its share of invoices
    its customers have not paid yet, and its share of those they paid that no paid payout has
    settled yet."""

    currency: str
    awaiting_payment: Decimal
    owed: Decimal


def vendor_balances(vendor: Organization) -> list[VendorBalance]:
    """The vendor's balances per currency, in one query (credits are what Precis owes, so the
    sign is turned); currencies with nothing left either way are left out."""
    sums: dict[str, dict[str, Decimal]] = {}
    for account, currency, total in (
        LedgerEntry.objects.filter(organization=vendor, account__in=[ON_COLLECTION, PAYABLE])
        .values_list("account", "currency")
        .annotate(total=Sum("amount"))
        .order_by("currency", "account")
    ):
        sums.setdefault(currency, {})[account] = -round_minor(Decimal(str(total)), currency)
    balances = [
        VendorBalance(
            currency=currency,
            awaiting_payment=found.get(ON_COLLECTION, Decimal(0)),
            owed=found.get(PAYABLE, Decimal(0)),
        )
        for currency, found in sums.items()
    ]
    return [b for b in balances if b.awaiting_payment or b.owed]


def payouts_of(vendor: Organization) -> QuerySet[Payout]:
    return Payout.objects.filter(vendor=vendor).select_related("paid_by")


def payout_lines(payout: Payout) -> QuerySet[PayoutLine]:
    return payout.lines.select_related("invoice__buyer").order_by("invoice__paid_at", "pk")


def later_credits(payout: Payout) -> QuerySet[PayoutCredit]:
    """Credit notes on invoices paid out earlier that this payout took off."""
    return payout.credits_taken.filter(on_line=False).select_related("credit_note__invoice")


def payout_account_of(vendor: Organization) -> VendorPayoutAccount | None:
    return VendorPayoutAccount.objects.filter(organization=vendor).first()
