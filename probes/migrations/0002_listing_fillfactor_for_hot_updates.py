"""Leave room in probes_listing pages so a re-import's UPDATE of last_seen is HOT.

Every re-import rewrites last_seen on each listing of the feed. With full
pages (fillfactor 100) each update also writes all five indexes; with free
space, PostgreSQL keeps the new version on the same page and skips them
(measured: about twice as fast). PostgreSQL only; nothing to do on SQLite.
"""

from django.db import migrations


def fillfactor(value: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE probes_listing SET (fillfactor = {value})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("probes", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(fillfactor(70), fillfactor(100)),
    ]
