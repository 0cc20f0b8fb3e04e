"""Reads of vendor payouts for the vendor's pages (writes are in billing.services.payouts)."""

from django.db.models import QuerySet

from billing.models import Payout, PayoutLine, VendorPayoutAccount
from marketplace.accounts.models import Organization


def payouts_of(vendor: Organization) -> QuerySet[Payout]:
    return Payout.objects.filter(vendor=vendor).select_related("paid_by")


def payout_lines(payout: Payout) -> QuerySet[PayoutLine]:
    return payout.lines.select_related("invoice__buyer").order_by("invoice__paid_at", "pk")


def payout_account_of(vendor: Organization) -> VendorPayoutAccount | None:
    return VendorPayoutAccount.objects.filter(organization=vendor).first()
