"""`field__any=[...]` finds what `field__in=[...]` finds, on both databases."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import LedgerTransaction
from marketplace.accounts.models import Organization
from tests.factories import OrganizationFactory


@pytest.fixture
def organizations(db):
    return [OrganizationFactory(name=f"Plant {n}") for n in range(4)]


def _same(queryset_any, queryset_in):
    assert list(queryset_any.order_by("pk")) == list(queryset_in.order_by("pk"))


def test_any_of_ids_strings_and_instances(organizations):
    first, second, third, _fourth = organizations
    ids = [first.pk, third.pk, third.pk, None]  # duplicates and None, as IN takes them
    _same(Organization.objects.filter(pk__any=ids), Organization.objects.filter(pk__in=ids))
    assert set(Organization.objects.filter(pk__any=ids)) == {first, third}
    slugs = [second.slug, "no-such-plant"]
    assert list(Organization.objects.filter(slug__any=slugs)) == [second]
    for key in ("a:1", "b:2"):
        LedgerTransaction.objects.create(
            kind="invoice_issued", idempotency_key=key, description=key, currency="CNY"
        )
    assert LedgerTransaction.objects.filter(idempotency_key__any=["b:2", "c:3"]).count() == 1


def test_any_of_a_foreign_key(organizations):
    from tests.factories import MembershipFactory

    member = MembershipFactory(organization=organizations[1])
    found = type(member).objects.filter(organization__any=[organizations[1], organizations[2]])
    assert list(found) == [member]
    assert list(type(member).objects.filter(organization_id__any=[organizations[1].pk])) == [member]


def test_any_of_nothing_sends_no_query(organizations):
    with CaptureQueriesContext(connection) as queries:
        assert list(Organization.objects.filter(pk__any=[])) == []
        assert list(Organization.objects.filter(pk__any=[None])) == []
    assert len(queries) == 0


def test_any_is_one_array_parameter_on_postgresql_and_in_on_sqlite(organizations):
    with CaptureQueriesContext(connection) as queries:
        list(Organization.objects.filter(pk__any=[o.pk for o in organizations]))
    sql = queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
        assert " IN (" not in sql
    else:  # SQLite has no arrays: IN, as with __in
        assert " IN (" in sql


def test_array_literals_of_integers_booleans_and_aware_datetimes(db):
    import datetime as dt

    from billing.lookups import array_literal

    when = dt.datetime(2026, 11, 1, 8, 30, 15, 250, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert array_literal([3, -1, 2**40]) == "{3,-1,1099511627776}"
    assert array_literal([True, False]) == "{t,f}"
    assert array_literal([when]) == "{2026-11-01T08:30:15.000250+08:00}"
    assert array_literal([]) == "{}"
    for wrong in (["a,b"], [1.5], [dt.datetime(2026, 11, 1)], [None]):
        with pytest.raises(TypeError):
            array_literal(wrong)
    if connection.vendor == "postgresql":  # SQLite has no arrays: it is never sent one
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT %s::bigint[], %s::boolean[], %s::timestamptz[]",
                [array_literal([1, 2**40]), array_literal([True, False]), array_literal([when])],
            )
            assert cursor.fetchone() == ([1, 2**40], [True, False], [when])
