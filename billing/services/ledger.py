"""Writing to the ledger: balanced, idempotent, in the caller's database transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.models import LedgerEntry, LedgerTransaction
from billing.money import CURRENCY_EXPONENTS, round_minor
from marketplace.accounts.models import Organization, User
from marketplace.errors import ServiceError


@dataclass(frozen=True)
class Line:
    """One entry to write: positive is a debit, negative a credit."""

    account: str
    amount: Decimal
    organization: Organization | None = None


class Unbalanced(ServiceError):
    """Entries that do not sum to zero: a bug in the caller, never written."""


@transaction.atomic
def ledger_record(
    *,
    kind: str,
    idempotency_key: str,
    description: str,
    currency: str,
    lines: list[Line],
    actor: User | None = None,
) -> LedgerTransaction:
    """Record a money movement once. The same key again returns the first record (and checks
    that it says the same); entries that do not balance are refused and nothing is written."""
    if currency not in CURRENCY_EXPONENTS:
        raise ServiceError(_("Unknown currency %(currency)s.") % {"currency": currency})
    if len(lines) < 2:
        raise Unbalanced(_("A ledger transaction needs at least two entries."))
    for line in lines:
        if not isinstance(line.amount, Decimal) or not line.amount.is_finite():
            raise ServiceError(_("Ledger amounts are finite Decimals."))
        if line.amount != round_minor(line.amount, currency):
            raise ServiceError(
                _(
                    "Ledger amounts are whole %(currency)s minor units (invoice lines are rounded "
                    "before they reach the ledger)."
                )
                % {"currency": currency}
            )
        if line.account not in LedgerEntry.Account.values:
            raise ServiceError(_("Unknown ledger account %(account)s.") % {"account": line.account})
    if sum(line.amount for line in lines) != 0:
        raise Unbalanced(_("The entries of %(key)s do not balance.") % {"key": idempotency_key})
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same(existing, kind, currency, lines)
    try:
        with transaction.atomic():
            record = LedgerTransaction.objects.create(
                kind=kind,
                idempotency_key=idempotency_key,
                description=description,
                currency=currency,
                actor=actor,
            )
    except IntegrityError:  # recorded at the same moment by another process
        return _same(
            LedgerTransaction.objects.get(idempotency_key=idempotency_key), kind, currency, lines
        )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction=record,
            account=line.account,
            organization=line.organization,
            amount=line.amount,
            currency=currency,
        )
        for line in lines
    )
    return record


def _same(
    record: LedgerTransaction, kind: str, currency: str, lines: list[Line]
) -> LedgerTransaction:
    wanted = sorted(
        (line.account, line.organization.pk if line.organization else None, line.amount)
        for line in lines
    )
    stored = sorted(record.entries.values_list("account", "organization_id", "amount"))
    if (record.kind, record.currency) != (kind, currency) or stored != wanted:
        raise ServiceError(
            _("%(key)s was already recorded with other entries.") % {"key": record.idempotency_key},
            code="conflict",
            status_code=409,
        )
    return record
