"""Vendor portal: vendor organizations publish listings, versions and media; staff moderate."""
