"""Agent code's additions: the agents behind each turn, conversation metadata
and where a copied conversation came from, the "copy" audit action, and on
PostgreSQL the GIN index the list's metadata filter uses."""

from django.db import migrations, models

# The list's key=value filter is `metadata @> '{"key": value}'`, which this
# index serves. SQLite has no such index: there the filter scans the live
# conversations (see the README).
METADATA_INDEX_SQL = (
    "CREATE INDEX agent_sessions_metadata ON agent_sessions USING gin (metadata jsonb_path_ops)"
)
DROP_METADATA_INDEX_SQL = "DROP INDEX IF EXISTS agent_sessions_metadata"


def create_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(METADATA_INDEX_SQL)


def drop_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_METADATA_INDEX_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("convstore", "0011_audit_backup"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentsession",
            name="copied_from_branch_id",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="agentsession",
            name="copied_from_session_id",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="agentsession",
            name="copied_up_to_turn",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="agentsession",
            name="metadata",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="turnusage",
            name="agent_name",
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="turnusage",
            name="agents",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="turnusage",
            index=models.Index(
                condition=models.Q(("agent_name__isnull", False)),
                fields=["agent_name", "session"],
                name="turn_usage_agent",
            ),
        ),
        migrations.RunPython(create_metadata_index, drop_metadata_index),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("fork", "Branch created"),
                    ("make_active", "Branch made active"),
                    ("delete_branch", "Branch deleted"),
                    ("clear", "Conversation cleared"),
                    ("trash", "Moved to trash"),
                    ("restore", "Restored"),
                    ("purge", "Purged"),
                    ("edit", "Edited"),
                    ("recompute", "Structure recomputed"),
                    ("reprice", "Usage repriced"),
                    ("import", "Imported"),
                    ("encrypt", "Items encrypted"),
                    ("rekey", "Items re-encrypted"),
                    ("read", "Content read"),
                    ("hold", "Legal hold placed"),
                    ("release_hold", "Legal hold lifted"),
                    ("expire", "Expired items deleted"),
                    ("backup", "Backup taken"),
                    ("copy", "Copied as new conversation"),
                ],
                max_length=32,
            ),
        ),
    ]
