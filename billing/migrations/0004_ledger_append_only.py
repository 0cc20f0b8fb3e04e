"""The ledger is append-only in the database itself, not only in the code.

PostgreSQL refuses UPDATE and DELETE of ledger rows with row triggers (TRUNCATE, which only a
database owner's maintenance or the test runner's flush uses, is left alone). SQLite refuses
UPDATE; it cannot refuse DELETE without also breaking the test runner's flush (DELETE FROM
every table), so there the models refuse it.
"""

from django.db import migrations

TABLES = ("billing_ledgertransaction", "billing_ledgerentry")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % of % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)  # its % are PL/pgSQL
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only()"
            )
    elif connection.vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE refused'); END"
            )


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    for table in TABLES:
        if connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif connection.vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only")
    if connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS billing_ledger_append_only()")


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_ledger")]

    operations = [migrations.RunPython(forwards, backwards)]
