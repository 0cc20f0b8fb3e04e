"""On PostgreSQL, a GIN index for full-text search over the listings' search document.

The expression is the one catalog.selectors.SEARCH_VECTOR produces, so the planner uses the
index for `@@` matches. Other databases search differently and get nothing here.
"""

from django.db import migrations

INDEX = "catalog_listing_search_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_listing USING gin "
        "(to_tsvector('simple'::regconfig, COALESCE(search_document, '')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_taxonomy")]

    operations = [migrations.RunPython(create_index, drop_index)]
