"""Statistics again for agent_messages where an earlier 0003 recorded it as empty.

0003 used to run ANALYZE on a new, empty agent_messages. On a server whose
autovacuum does not re-analyze it, the table then stays known-empty however
many rows it gets, and the foreign key check of every message_structure insert
is planned as a sequential scan of it (see 0003). A table with rows that is
still recorded as empty is analyzed now.
"""

from django.db import migrations

ANALYZE_IF_RECORDED_EMPTY = """
DO $$ BEGIN
    IF (SELECT reltuples FROM pg_class WHERE oid = 'agent_messages'::regclass) = 0
        AND EXISTS (SELECT 1 FROM agent_messages)
    THEN ANALYZE agent_messages; END IF;
END $$"""


def reanalyze(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ANALYZE_IF_RECORDED_EMPTY)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0005_rollups_in_place")]

    operations = [migrations.RunPython(reanalyze, migrations.RunPython.noop)]
