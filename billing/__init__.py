"""Billing: plans, subscriptions, trials, entitlements, installations and keys, telemetry
ingestion, metering, rating, outcome verification, invoices, ledger, Stripe, webhooks, payouts.

Depends on accounts and catalog; never imports the UI apps (storefront, vendors, community).
"""
