"""The database cache's table (settings.CACHE_TABLE), where the API's throttle
counts are shared by every worker. A migration, so every way Demarche starts
(make run, the container's migrate, a deployment) has it; createcachetable
leaves an existing table alone and does nothing for a Redis cache."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("annotations", "0010_article_history_status_checks")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
