"""The SDK's foreign keys, ON DELETE CASCADE, on PostgreSQL.

Django 5.2 cannot declare a database-level cascade, and the SDK's own writers
(SQLAlchemySession) rely on one when they clear a session, so the mirrored
tables get their foreign keys here instead of from Django. SQLite keeps none:
Django's own deletes cascade in Python there.
"""

from django.db import migrations

FOREIGN_KEYS = [
    ("agent_messages", "agent_messages_session_fk", "session_id", "agent_sessions", "session_id"),
    ("message_structure", "message_structure_session_fk", "session_id", "agent_sessions", "session_id"),
    ("message_structure", "message_structure_message_fk", "message_id", "agent_messages", "id"),
    ("turn_usage", "turn_usage_session_fk", "session_id", "agent_sessions", "session_id"),
    ("convstore_branch", "convstore_branch_session_fk", "session_id", "agent_sessions", "session_id"),
]


def add_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, column, target, target_column in FOREIGN_KEYS:
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}") '
            f'REFERENCES "{target}" ("{target_column}") ON DELETE CASCADE '
            "DEFERRABLE INITIALLY DEFERRED"
        )


def drop_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, *_ in FOREIGN_KEYS:
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("convstore", "0001_initial")]

    operations = [migrations.RunPython(add_foreign_keys, drop_foreign_keys)]
