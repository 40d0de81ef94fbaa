from django.db import migrations

from analytics import rollups


def reinstall(apps, schema_editor):
    # install() replaces the triggers with their current bodies (a new structure
    # row moves only its own message's call, on both databases, instead of a
    # re-sum of its conversation) and re-sums the rollups.
    rollups.install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_sqlite_count_new_tool_calls")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
