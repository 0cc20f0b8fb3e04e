"""A component's security contact, and a reviewer's opt-in count of plants in production.

On SQLite, adding a column rebuilds the listing table, which drops the triggers that keep the
FTS5 search index (0004) in step; they are created again, and the index rebuilt, right after
(and again after the columns are removed when the migration is undone).
"""

import importlib

import django.core.validators
from django.db import migrations, models

sqlite_search = importlib.import_module("marketplace.catalog.migrations.0004_sqlite_search")


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_sqlite_search'),
    ]

    operations = [
        # Undoing this migration rebuilds the table again: the triggers come back last.
        migrations.RunPython(migrations.RunPython.noop, sqlite_search.create),
        migrations.AddField(
            model_name='listing',
            name='security_contact',
            field=models.CharField(blank=True, help_text='Where to report a vulnerability privately: an email address or a URL.', max_length=200, verbose_name='security contact'),
        ),
        migrations.AddField(
            model_name='review',
            name='production_plants',
            field=models.PositiveIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100000)], verbose_name='plants using it in production'),
        ),
        migrations.RunPython(sqlite_search.create, migrations.RunPython.noop),
    ]
