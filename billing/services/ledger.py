"""Writing to the ledger: balanced, idempotent, in the caller's database transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.bulk import insert_rows
from billing.models import LedgerEntry, LedgerTransaction
from billing.money import CURRENCY_EXPONENTS, round_minor
from marketplace.accounts.models import Organization, User
from marketplace.errors import ServiceError

ACCOUNTS = frozenset(LedgerEntry.Account.values)


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
        if line.account not in ACCOUNTS:
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
    ledger_record_many(movements=[movement])
    return LedgerTransaction.objects.get(idempotency_key=idempotency_key)


@transaction.atomic
def ledger_record_many(*, movements: list[Movement]) -> None:
    """Record many movements with a few queries (period close issues thousands of invoices);
    each one as ledger_record would.

    Rows are written without model instances (billing.bulk.insert_rows): at ten thousand
    invoices a close, building instances took longer than the database took to store them.
    """
    for movement in movements:
        _check(movement)
    keys = [movement.idempotency_key for movement in movements]
    if len(set(keys)) != len(keys):
        raise ServiceError(_("The same ledger key appears twice in one batch."))
    existing = {
        record.idempotency_key: record
        for record in LedgerTransaction.objects.filter(idempotency_key__any=keys)
    }
    for movement in movements:
        if movement.idempotency_key in existing:
            _same(
                existing[movement.idempotency_key], movement.kind, movement.currency, movement.lines
            )
    new = [m for m in movements if m.idempotency_key not in existing]
    now = timezone.now()
    try:
        with transaction.atomic():
            created = insert_rows(
                LedgerTransaction,
                ["kind", "idempotency_key", "description", "currency", "actor_id", "created_at"],
                [
                    (m.kind, m.idempotency_key, m.description, m.currency, _pk(m.actor), now)
                    for m in new
                ],
                ids=True,
            )
    except IntegrityError:  # recorded at the same moment by another process: one at a time
        if len(movements) > 1:
            for movement in movements:
                ledger_record_many(movements=[movement])
            return
        if not LedgerTransaction.objects.filter(idempotency_key=keys[0]).exists():
            raise
        ledger_record_many(movements=movements)  # now finds it, and checks it is the same
        return
    insert_rows(
        LedgerEntry,
        ["transaction_id", "account", "organization_id", "amount", "currency"],
        [
            (record, line.account, _pk(line.organization), line.amount, m.currency)
            for m, record in zip(new, created, strict=True)
            for line in m.lines
        ],
    )


def _pk(instance) -> int | None:
    return instance.pk if instance is not None else None


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
