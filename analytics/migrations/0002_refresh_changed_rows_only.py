from django.db import migrations

from analytics import rollups


def reinstall(apps, schema_editor):
    # install() replaces the refresh functions with their current bodies
    # (upserting changed rows only) and re-sums the rollups.
    rollups.install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_rollups")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
