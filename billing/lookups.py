"""`field__any=[...]`: the `__in` lookup sent as one array parameter on PostgreSQL.

The period close filters by hundreds of ids at a time. `__in` sends one placeholder per value,
and psycopg then parses and merges the whole statement in Python for every execution (a query
with that many parameters is too long for its cache): a few milliseconds per statement, a tenth
of the close's Python (tests/perf/test_bench_close.py). `= ANY(%s)` is one parameter; the planner
treats it as it treats IN. Django has no such lookup, hence this one; SQLite keeps `IN`.

Integers go as an array literal (`array_literal`), which psycopg sends as it is: given a list,
it adapts it in Python element by element (scanning it to choose a type, checking every element
for quoting), which took a twentieth of the close's Python.
"""

from datetime import datetime

from django.db.models import Field, ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class _ArrayParameter:
    """`= ANY(%s)` for In and RelatedIn, which prepare the values as they always do."""

    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not isinstance(self.rhs, list | tuple | set | frozenset):
            return super().as_sql(compiler, connection)  # a subquery stays IN (SELECT ...)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # What In does with its values: None never matches, duplicates are dropped.
        values = list(dict.fromkeys(value for value in self.rhs if value is not None))
        if not values:
            return super().as_sql(compiler, connection)  # raises EmptyResultSet, as In does
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=True) for value in values]
        if all(type(value) is int for value in values):
            return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, array_literal(values))
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def array_literal(values) -> str:
    """A PostgreSQL array literal of integers, booleans or aware datetimes, to send cast
    (`%s::bigint[]`, `%s::timestamptz[]`) in place of a list (see the module docstring). Their
    text needs no quoting in an array: digits, signs, `T`, `:` and `.` only."""
    parts = []
    for value in values:
        if isinstance(value, bool):
            parts.append("t" if value else "f")
        elif isinstance(value, int):
            parts.append(str(value))
        elif isinstance(value, datetime) and value.tzinfo is not None:
            parts.append(value.isoformat())
        else:
            raise TypeError(f"No array literal for {value!r}.")
    return "{" + ",".join(parts) + "}"


@Field.register_lookup
class AnyOf(_ArrayParameter, In):
    pass


@ForeignObject.register_lookup  # foreign keys take their lookups from ForeignObject down only
class RelatedAnyOf(_ArrayParameter, RelatedIn):
    pass
