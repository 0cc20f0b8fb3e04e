"""Writing many rows of a model at once, faster than the ORM's bulk_create and bulk_update.

The period close writes tens of thousands of rows (invoices, lines, ledger entries) per run.
Django prepares every value of every row through its field machinery, and psycopg dumps the
arrays of an UNNEST insert in Python: together two thirds of a close of 10,000 subscriptions
(tests/perf/test_bench_close.py). Here rows reach PostgreSQL through COPY, whose rows psycopg
formats in C, and values go as they are, since the models hold them as the database wants
them; SQLite, the embedded default, keeps the ORM's way.
"""

from django.db import connection, connections, models, transaction

# Fields whose Python value is what PostgreSQL stores, so COPY can take it as it is.
PLAIN_FIELDS = (
    models.BooleanField,
    models.CharField,
    models.DateTimeField,
    models.DecimalField,
    models.ForeignKey,  # its column holds the id
    models.IntegerField,  # and the big, small and positive ones
    models.TextField,
)

# Table -> the sequence of its identity column, looked up once per process.
SEQUENCES: dict[str, str] = {}


def factory(model: type[models.Model]):
    """A function making unsaved instances of `model` from keyword values, as `model(**values)`
    does, four times as fast: the period close makes thousands of invoices.

    Model.__init__ takes a positional value for every concrete field quickly, but looks up each
    field's keyword and default one by one (25 µs an invoice). Here the defaults are computed
    once (callable ones per instance) and the values placed by position; a related object given
    by name is stored as its id and cached on the instance, as its descriptor would.
    """
    fields = model._meta.concrete_fields
    position = {field.attname: index for index, field in enumerate(fields)}
    related = {
        field.name: (index, field) for index, field in enumerate(fields) if field.is_relation
    }
    static = [field.get_default() for field in fields]
    dynamic = [
        (index, field.default)
        for index, field in enumerate(fields)
        if field.has_default() and callable(field.default)
    ]

    def make(**values) -> models.Model:
        args = static.copy()
        for index, default in dynamic:
            args[index] = default()
        cached = []
        for name, value in values.items():
            if name in related:
                index, field = related[name]
                args[index] = value.pk if value is not None else None
                cached.append((field, value))
            elif name in position:
                args[position[name]] = value
            else:
                raise TypeError(f"{model.__name__} has no field {name!r}.")
        instance = model(*args)
        for field, value in cached:
            field.set_cached_value(instance, value)
        return instance

    return make


def insert_objects(objects: list[models.Model]) -> list[models.Model]:
    """What `Model.objects.bulk_create(objects)` does: insert them and set their primary keys.

    Nothing here runs `save()` or signals, as with bulk_create.
    """
    if not objects:
        return objects
    model = type(objects[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objects)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    automatic = [f for f in fields if getattr(f, "auto_now", 0) or getattr(f, "auto_now_add", 0)]
    for item in objects:  # as bulk_create does
        for field in automatic:
            field.pre_save(item, add=True)
    names = [field.attname for field in fields]
    rows = [[getattr(item, name) for name in names] for item in objects]
    for item, pk in zip(objects, insert_rows(model, names, rows, ids=True), strict=True):
        item.pk = pk
        item._state.adding = False
        item._state.db = connection.alias
    return objects


def insert_rows(model, fields: list[str], rows: list, *, ids: bool = False) -> list[int]:
    """Insert rows given as sequences of values, in the order of `fields` (attnames: `invoice_id`
    for a foreign key), with no model instances: the ids of the new rows when `ids` is set.

    Fields left out get no Python default; they must have a database default or allow NULL.
    On PostgreSQL the ids come from the table's identity sequence first and the rows follow
    with one COPY; SQLite builds instances for bulk_create.
    """
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows]
        )
        return [item.pk for item in created]
    columns = [meta.get_field(name) for name in fields]
    with connection.cursor() as cursor:
        if not ids:
            _copy(cursor, connection.ops.quote_name(meta.db_table), columns, rows)
            return []
        if meta.db_table not in SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            SEQUENCES[meta.db_table] = cursor.fetchone()[0]
        # The sequence named once: naming it per row costs ten times as much.
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [SEQUENCES[meta.db_table], len(rows)],
        )
        new_ids = [pk for (pk,) in cursor.fetchall()]
        _copy(
            cursor,
            connection.ops.quote_name(meta.db_table),
            [meta.pk, *columns],
            [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)],
        )
    return new_ids


def update_rows(model, rows: list, fields: list[str]) -> None:
    """What `model.objects.bulk_update(rows, fields)` does, in one UPDATE from a table of the
    new values: on PostgreSQL a temporary table filled by COPY, on SQLite a VALUES list.

    bulk_update writes a CASE with a branch per row for every field: building it took a fifth
    of a close of 10,000 subscriptions (0.1 ms of Python per row and field), and the database
    then searches each CASE for every row (tests/perf/test_bench_close.py).
    """
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    table = quote(meta.db_table)
    assignments = ", ".join(
        f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:]
    )
    where = f"WHERE {table}.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}"
    if connection.vendor == "postgresql":
        source = quote(f"new_{meta.db_table}")
        definition = ", ".join(
            f"{quote(column.column)} {column.db_type(connection)}" for column in columns
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {source} ({definition}) ON COMMIT DROP")
            values = [[getattr(item, field.attname) for field in columns] for item in rows]
            _copy(cursor, source, columns, values)
            cursor.execute(f"UPDATE {table} SET {assignments} FROM {source} AS v {where}")  # noqa: S608
            cursor.execute(f"DROP TABLE {source}")
        return
    batch = connection.ops.bulk_batch_size(columns, rows)  # SQLite's limit on parameters
    for first in range(0, len(rows), batch):
        part = rows[first : first + batch]
        row = f"({', '.join(['%s'] * len(columns))})"
        params = [
            column.get_db_prep_save(getattr(item, column.attname), connection)
            for item in part
            for column in columns
        ]
        with connection.cursor() as cursor:
            names = ", ".join(quote(column.column) for column in columns)
            cursor.execute(
                f"WITH v ({names}) AS (VALUES {', '.join([row] * len(part))}) "  # noqa: S608
                f"UPDATE {table} SET {assignments} FROM v {where}",
                params,
            )


def _copy(cursor, table: str, columns: list, rows: list) -> None:
    """COPY rows (sequences of values of the fields in `columns`) into a quoted table name."""
    prepare = [
        (index, field) for index, field in enumerate(columns) if not isinstance(field, PLAIN_FIELDS)
    ]
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    database = connections[connection.alias]  # the proxy looks it up again on every use
    with (
        database.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as stream,
    ):
        for row in rows:
            if prepare:
                row = list(row)
                for index, field in prepare:
                    row[index] = field.get_db_prep_save(row[index], database)
            stream.write_row(row)
