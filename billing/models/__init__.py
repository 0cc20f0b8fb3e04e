"""Billing's models, one module per sub-domain; import them from here."""

from billing.models.invoicing import CreditNote, DocumentSequence, Invoice, InvoiceLine
from billing.models.ledger import LedgerEntry, LedgerTransaction
from billing.models.outcomes import Baseline, OutcomeLine, OutcomeLineEvent, OutcomeStatement
from billing.models.payments import Payment, PaymentMethod, StripeEvent
from billing.models.payouts import Payout, PayoutCredit, PayoutLine, VendorPayoutAccount
from billing.models.plans import MeteredCharge, Metric, OutcomeCharge, Plan, PlanVersion, PriceTier
from billing.models.subscriptions import (
    BillingAccount,
    Installation,
    InstallationKey,
    PendingItem,
    Subscription,
    SubscriptionEvent,
)
from billing.models.telemetry import UsageEvent

__all__ = [
    "Baseline",
    "BillingAccount",
    "CreditNote",
    "DocumentSequence",
    "Installation",
    "InstallationKey",
    "Invoice",
    "InvoiceLine",
    "LedgerEntry",
    "LedgerTransaction",
    "MeteredCharge",
    "Metric",
    "OutcomeCharge",
    "OutcomeLine",
    "OutcomeLineEvent",
    "OutcomeStatement",
    "Payment",
    "PaymentMethod",
    "Payout",
    "PayoutCredit",
    "PayoutLine",
    "PendingItem",
    "Plan",
    "PlanVersion",
    "PriceTier",
    "StripeEvent",
    "Subscription",
    "SubscriptionEvent",
    "UsageEvent",
    "VendorPayoutAccount",
]
