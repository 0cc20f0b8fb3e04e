"""The ledger: balanced, idempotent, append-only (in the code and in the database)."""

import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors
from billing.models import LedgerEntry, LedgerTransaction
from billing.models.ledger import AppendOnlyError
from billing.services.ledger import Line, Unbalanced, ledger_record
from marketplace.errors import ServiceError
from tests.factories import OrganizationFactory

D = Decimal
R, P, F, C = "receivable", "payable", "platform_fees", "cash"


@pytest.fixture
def buyer(db):
    return OrganizationFactory(name="Huaxin Precision")


@pytest.fixture
def vendor(db):
    return OrganizationFactory(name="Lumen Edge", is_vendor=True, is_buyer=False)


def issue(buyer, vendor, key="invoice:1", total=None, fee=None):
    """An invoice of `total` issued: the buyer owes it; the vendor is owed it less the fee."""
    total = D("1000.00") if total is None else total
    fee = D("150.00") if fee is None else fee
    return ledger_record(
        kind="invoice_issued",
        idempotency_key=key,
        description="Invoice 2026-0001",
        currency="CNY",
        lines=[
            Line(R, total, buyer),
            Line(P, -(total - fee), vendor),
            Line(F, -fee),
        ],
    )


def test_an_invoice_and_its_payment_move_the_balances(buyer, vendor):
    issue(buyer, vendor)
    ledger_record(
        kind="payment",
        idempotency_key="payment:1",
        description="Bank transfer",
        currency="CNY",
        lines=[Line(C, D("1000.00")), Line(R, D("-1000.00"), buyer)],
    )
    assert selectors.ledger_balance(R, organization=buyer, currency="CNY") == 0
    assert selectors.ledger_balance(P, organization=vendor, currency="CNY") == D("-850.00")
    assert selectors.ledger_balance(F, currency="CNY") == D("-150.00")
    assert selectors.ledger_balance(C, currency="CNY") == D("1000.00")


def test_the_same_key_records_once_and_other_entries_under_it_are_refused(buyer, vendor):
    first = issue(buyer, vendor)
    assert issue(buyer, vendor) == first
    assert LedgerEntry.objects.count() == 3
    with pytest.raises(ServiceError, match="already recorded with other entries"):
        issue(buyer, vendor, total=D("999.00"))


def test_unbalanced_entries_are_refused_and_nothing_is_written(buyer, vendor):
    with pytest.raises(Unbalanced):
        ledger_record(
            kind="invoice_issued",
            idempotency_key="invoice:2",
            description="Broken",
            currency="CNY",
            lines=[Line(R, D("10.00"), buyer), Line(P, D("-9.99"), vendor)],
        )
    assert not LedgerTransaction.objects.exists()


def test_amounts_finer_than_the_minor_unit_are_refused(buyer, vendor):
    with pytest.raises(ServiceError, match="whole CNY minor units"):
        issue(buyer, vendor, total=D("10.005"), fee=D("0.005"))
    assert not LedgerTransaction.objects.exists()


def test_the_orm_refuses_to_change_or_remove_ledger_rows(buyer, vendor):
    record = issue(buyer, vendor)
    entry = record.entries.first()
    entry.amount = D(1)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D(1))
    with pytest.raises(AppendOnlyError):
        LedgerTransaction.objects.all().delete()


def test_the_database_refuses_updates_of_ledger_rows(buyer, vendor):
    record = issue(buyer, vendor)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_ledgerentry SET amount = 0 WHERE transaction_id = %s", [record.pk]
        )
    assert sorted(record.entries.values_list("amount", flat=True)) == [
        D("-850.00"),
        D("-150.00"),
        D("1000.00"),
    ]


def test_deleting_ledger_rows_is_refused(buyer, vendor):
    record = issue(buyer, vendor)
    with pytest.raises(AppendOnlyError):
        record.entries.all().delete()
    if connection.vendor == "postgresql":
        # Below the ORM too: a row trigger refuses it.
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM billing_ledgerentry WHERE transaction_id = %s", [record.pk])
    assert record.entries.count() == 3


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    movements=st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
            st.decimals(min_value=0, max_value=1, places=2, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_transaction_balances_and_balances_are_the_sum_of_entries(buyer, vendor, movements):
    # The ledger cannot be emptied between examples: each example uses its own keys and looks
    # at how the balances moved.
    run = uuid.uuid4().hex
    accounts = ((R, buyer), (P, vendor), (F, None))
    before = {a: selectors.ledger_balance(a, organization=o, currency="CNY") for a, o in accounts}
    for n, (total, share) in enumerate(movements):
        fee = (total * share).quantize(D("0.01"))
        issue(buyer, vendor, key=f"invoice:{run}:{n}", total=total, fee=fee)
    recorded = LedgerTransaction.objects.filter(idempotency_key__startswith=f"invoice:{run}:")
    assert recorded.count() == len(movements)
    for record in recorded.prefetch_related("entries"):
        assert sum(entry.amount for entry in record.entries.all()) == 0
    moved = {
        a: selectors.ledger_balance(a, organization=o, currency="CNY") - before[a]
        for a, o in accounts
    }
    assert moved[R] == sum(total for total, _share in movements)
    assert moved[R] + moved[P] + moved[F] == 0
