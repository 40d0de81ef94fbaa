from django.db import migrations

from analytics import rollups


def replace_triggers(apps, schema_editor):
    # On SQLite the row triggers now test a row's message type with comparisons
    # instead of an IN list; what they compute is unchanged, so the rollups stay.
    rollups.replace_triggers(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0006_reanalyze_known_empty")]

    operations = [migrations.RunPython(replace_triggers, migrations.RunPython.noop)]
