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


@dataclass(frozen=True)
class Movement:
    """One transaction to record (see ledger_record)."""

    kind: str
    idempotency_key: str
    description: str
    currency: str
    lines: list[Line]
    actor: User | None = None


def _check(movement: Movement) -> None:
    currency, lines = movement.currency, movement.lines
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
        raise Unbalanced(
            _("The entries of %(key)s do not balance.") % {"key": movement.idempotency_key}
        )


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
    movement = Movement(kind, idempotency_key, description, currency, lines, actor)
    return ledger_record_many(movements=[movement])[0]


@transaction.atomic
def ledger_record_many(*, movements: list[Movement]) -> list[LedgerTransaction]:
    """Record many movements with a few queries (period close issues thousands of invoices);
    each one as ledger_record would."""
    for movement in movements:
        _check(movement)
    keys = [movement.idempotency_key for movement in movements]
    if len(set(keys)) != len(keys):
        raise ServiceError(_("The same ledger key appears twice in one batch."))
    existing = LedgerTransaction.objects.in_bulk(keys, field_name="idempotency_key")
    new = [m for m in movements if m.idempotency_key not in existing]
    try:
        with transaction.atomic():
            created = LedgerTransaction.objects.bulk_create(
                LedgerTransaction(
                    kind=m.kind,
                    idempotency_key=m.idempotency_key,
                    description=m.description,
                    currency=m.currency,
                    actor=m.actor,
                )
                for m in new
            )
    except IntegrityError:  # recorded at the same moment by another process: one at a time
        if len(movements) == 1:
            existing = LedgerTransaction.objects.in_bulk(keys, field_name="idempotency_key")
            created, new = [], []
        else:
            return [ledger_record_many(movements=[m])[0] for m in movements]
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction=record,
            account=line.account,
            organization=line.organization,
            amount=line.amount,
            currency=m.currency,
        )
        for m, record in zip(new, created, strict=True)
        for line in m.lines
    )
    recorded = {record.idempotency_key: record for record in created}
    for m in movements:
        if m.idempotency_key in existing:
            recorded[m.idempotency_key] = _same(
                existing[m.idempotency_key], m.kind, m.currency, m.lines
            )
    return [recorded[key] for key in keys]


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
