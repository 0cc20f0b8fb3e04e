"""Billing's models, one module per sub-domain; import them from here."""

from billing.models.ledger import LedgerEntry, LedgerTransaction
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
    "BillingAccount",
    "Installation",
    "InstallationKey",
    "LedgerEntry",
    "LedgerTransaction",
    "MeteredCharge",
    "Metric",
    "OutcomeCharge",
    "PendingItem",
    "Plan",
    "PlanVersion",
    "PriceTier",
    "Subscription",
    "SubscriptionEvent",
    "UsageEvent",
]
