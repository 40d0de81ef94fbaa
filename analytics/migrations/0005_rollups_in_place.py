from django.db import migrations

from analytics import rollups


def reinstall(apps, schema_editor):
    # install() replaces the triggers with their current bodies (a usage row's
    # figures and a structure row's call are added and taken off in place, on
    # both databases, instead of a re-sum of the conversation) and re-sums the
    # rollups.
    rollups.install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_sqlite_count_new_tool_calls")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
