"""Accounts: people (on django-allauth), organizations, memberships, roles and invitations.

Object-level access for the whole site is decided in `policies.py`.
"""
