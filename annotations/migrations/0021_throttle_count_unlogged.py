"""The throttle's counts in an UNLOGGED table on PostgreSQL.

Every API request counts itself with one UPSERT on ``annotations_throttlecount``
(``annotations.throttling``), in a transaction of its own: on a logged table its
commit waits for the write-ahead log to reach the disk, 0.3–0.5 ms of a request
that otherwise takes about 2 ms. An UNLOGGED table writes no WAL, so the commit
doesn't wait (0.1 ms). What it gives up: after a crash (not a clean restart)
PostgreSQL empties the table, and a replica doesn't have it (the throttle reads
and writes on the primary only, ``config/db_router.py``). Rate-limit counts
starting again from zero after a crash is harmless. SQLite has no such tables.
"""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE annotations_throttlecount SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE annotations_throttlecount SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("annotations", "0020_speaker_tallies")]

    operations = [migrations.RunPython(unlogged, logged, elidable=False)]
