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
