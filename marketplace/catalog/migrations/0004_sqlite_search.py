"""On SQLite, an FTS5 index (trigram tokenizer) over the listings' search document.

Trigrams match any substring of three or more characters, in any script, so Chinese names are
found as well as English words. Triggers keep the index in step with every write, including
bulk inserts and queryset updates. PostgreSQL has its own index (0003); others get nothing.
"""

from django.db import migrations

CREATE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS catalog_listing_fts USING fts5(
        search_document, content='catalog_listing', content_rowid='id', tokenize='trigram'
    )""",
    """CREATE TRIGGER IF NOT EXISTS catalog_listing_fts_insert AFTER INSERT ON catalog_listing
    BEGIN
        INSERT INTO catalog_listing_fts(rowid, search_document)
        VALUES (new.id, new.search_document);
    END""",
    """CREATE TRIGGER IF NOT EXISTS catalog_listing_fts_delete AFTER DELETE ON catalog_listing
    BEGIN
        INSERT INTO catalog_listing_fts(catalog_listing_fts, rowid, search_document)
        VALUES ('delete', old.id, old.search_document);
    END""",
    """CREATE TRIGGER IF NOT EXISTS catalog_listing_fts_update AFTER UPDATE OF search_document
    ON catalog_listing
    BEGIN
        INSERT INTO catalog_listing_fts(catalog_listing_fts, rowid, search_document)
        VALUES ('delete', old.id, old.search_document);
        INSERT INTO catalog_listing_fts(rowid, search_document)
        VALUES (new.id, new.search_document);
    END""",
    "INSERT INTO catalog_listing_fts(catalog_listing_fts) VALUES ('rebuild')",
]
DROP = [
    "DROP TRIGGER IF EXISTS catalog_listing_fts_update",
    "DROP TRIGGER IF EXISTS catalog_listing_fts_delete",
    "DROP TRIGGER IF EXISTS catalog_listing_fts_insert",
    "DROP TABLE IF EXISTS catalog_listing_fts",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_search_index")]

    operations = [migrations.RunPython(create, drop)]
