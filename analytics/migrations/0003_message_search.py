"""Word search over message text on PostgreSQL: a GIN index on agent_messages.

It serves the conversation list's search (analytics.selectors, messages_matching):
    analytics_message_words(message_data) @@ to_tsquery('simple', ...)
An index only: the SDK's table keeps its columns. SQLite gets nothing; its
search is a substring scan, fine at the sizes SQLite serves.

message_data is json.dumps text, which writes "café" as "caf\\u00e9" and a line
break as "\\n", so the words come from the decoded JSON's string values. A
message jsonb refuses (a NUL character, NaN) or whose words overflow a
tsvector (1 MB) falls back to the first 100,000 characters of its raw text:
the function never fails, so it never fails a write.
"""

from django.db import migrations

CREATE = [
    """
CREATE FUNCTION analytics_message_words(message_data text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN to_tsvector('simple', message_data::jsonb);
EXCEPTION WHEN others THEN
    -- 100,000 characters make well under 1 MB of tsvector, whatever the text.
    RETURN to_tsvector('simple', left(message_data, 100000));
END
$$""",
    "CREATE INDEX agent_messages_words ON agent_messages"
    " USING gin (analytics_message_words(message_data))",
]

# Statistics of the indexed expression, which only ANALYZE gathers: the
# planner's row estimates for a search. Only for a table that has rows: ANALYZE
# of an empty table records it as known-empty (reltuples 0), so the planner drops
# its minimum size guess for new tables, and the foreign key check every
# message_structure insert runs against agent_messages gets planned, and cached
# for the connection's life, as a sequential scan: every append then read the
# whole table, on a server whose autovacuum does not re-analyze it.
ANALYZE_IF_ROWS = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM agent_messages) THEN ANALYZE agent_messages; END IF;
END $$"""

DROP = [
    "DROP INDEX IF EXISTS agent_messages_words",
    "DROP FUNCTION IF EXISTS analytics_message_words(text)",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)
        schema_editor.execute(ANALYZE_IF_ROWS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_refresh_changed_rows_only")]

    operations = [migrations.RunPython(create, drop)]
