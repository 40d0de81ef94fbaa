from django.db import migrations

from analytics import rollups


def reinstall(apps, schema_editor):
    # install() replaces the triggers with their current bodies (on SQLite, a new
    # tool call counted without re-summing its conversation) and re-sums the rollups.
    rollups.install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_message_search")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
