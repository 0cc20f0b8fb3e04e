"""Installations of a subscription and their API keys: create, rotate, revoke."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import keys
from billing.models import Installation, InstallationKey, Subscription
from marketplace.accounts.models import User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import Conflict, ServiceError


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: `key` is shown this once and never stored."""

    installation: Installation
    record: InstallationKey
    key: str


def _check(actor: User, subscription: Subscription) -> None:
    if not has_permission(actor, subscription.buyer, Permission.MANAGE_BILLING):
        raise ServiceError(
            _("Only owners, admins and billing members can manage installations."),
            code="forbidden",
            status_code=403,
        )


def _issue(installation: Installation, actor: User | None) -> IssuedKey:
    key, prefix, key_hash = keys.new_key()
    record = InstallationKey.objects.create(
        installation=installation, prefix=prefix, key_hash=key_hash, created_by=actor
    )
    return IssuedKey(installation, record, key)


@transaction.atomic
def installation_create(
    *, actor: User, subscription: Subscription, name: str, kind: str = Installation.Kind.PLANT
) -> IssuedKey:
    _check(actor, subscription)
    name = name.strip()
    if not name:
        raise ServiceError(_("Give the installation a name, such as a plant or a line."))
    if kind not in Installation.Kind.values:
        raise ServiceError(_("Choose a plant, a line or a machine."))
    installation = Installation.objects.create(subscription=subscription, name=name, kind=kind)
    return _issue(installation, actor)


@transaction.atomic
def installation_key_rotate(
    *, actor: User, installation: Installation, now: datetime | None = None
) -> IssuedKey:
    """A new key for the installation; its other keys stop working at once."""
    _check(actor, installation.subscription)
    installation.keys.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now())
    return _issue(installation, actor)


@transaction.atomic
def installation_key_revoke(
    *, actor: User, key: InstallationKey, now: datetime | None = None
) -> InstallationKey:
    _check(actor, key.installation.subscription)
    key = InstallationKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise Conflict(_("This key is already revoked."))
    key.revoked_at = now or timezone.now()
    key.save(update_fields=["revoked_at"])
    return key
