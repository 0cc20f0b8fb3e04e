"""Billing's writes, one module per sub-domain (plans, subscriptions, installations, telemetry)."""
