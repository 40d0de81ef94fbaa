"""Both databases: a deleted tool-call structure row moves its call in place.

The call comes off the (day, tool) it had and goes onto the one it has without
the row, instead of a re-sum of the conversation's tool calls (per deleted row
on SQLite, per statement on PostgreSQL). What the rollups hold is unchanged, so
they are not re-summed. Reversed, PostgreSQL gets 0005's triggers back and
SQLite 0007's. The SQL is frozen (see 0001).
"""

from importlib import import_module

from django.db import migrations


def run(schema_editor, **statements):
    """Execute the statements given for this database's vendor ("postgresql", "sqlite")."""
    for statement in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement, params=None)


def replace_triggers(apps, schema_editor):
    run(schema_editor, postgresql=POSTGRESQL, sqlite=SQLITE)


def restore_triggers(apps, schema_editor):
    run(
        schema_editor,
        postgresql=import_module("analytics.migrations.0005_rollups_in_place").POSTGRESQL,
        sqlite=import_module("analytics.migrations.0007_sqlite_tool_test_without_in").SQLITE,
    )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0007_sqlite_tool_test_without_in")]

    operations = [migrations.RunPython(replace_triggers, restore_triggers)]


# --- Frozen SQL: what analytics/rollups.py generated for this migration (line breaks aside)

POSTGRESQL = [
    """
CREATE OR REPLACE FUNCTION analytics_tools_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
        IF NOT EXISTS (SELECT 1 FROM old_rows WHERE message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call',
        'apply_patch_call')) THEN
                RETURN NULL;
        END IF;
        WITH calls AS (
SELECT t.session_id, t.first_at AS gone_first_at, t.tool AS gone_tool,
        g.first_at, g.tool
FROM (SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
        FROM old_rows WHERE message_type IN ('tool_call', 'function_call', 'computer_call',
        'file_search_call', 'web_search_call', 'code_interpreter_call', 'tool_search_call',
        'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call')
        GROUP BY session_id, message_id) AS t,
LATERAL (
        SELECT MIN(s.created_at) AS first_at, MIN(COALESCE(s.tool_name, s.message_type)) AS tool
        FROM message_structure s
        WHERE s.message_id = t.message_id AND s.message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call',
        'apply_patch_call')
) AS g)
        INSERT INTO analytics_tool_day AS d (session_id, day, tool_name, calls)
        SELECT session_id, day, tool, SUM(change) FROM (
                SELECT session_id, (first_at AT TIME ZONE 'UTC')::date, tool, 1 FROM calls
                WHERE first_at IS NOT NULL
                UNION ALL
                SELECT session_id, (LEAST(gone_first_at, first_at) AT TIME ZONE 'UTC')::date,
                        LEAST(gone_tool, tool), -1 FROM calls
        ) AS changes (session_id, day, tool, change)
        GROUP BY session_id, day, tool HAVING SUM(change) <> 0
        ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
        DELETE FROM analytics_tool_day
        WHERE session_id IN (SELECT session_id FROM old_rows) AND calls <= 0;
        RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_tools_delete ON message_structure",
    """
CREATE TRIGGER analytics_tools_delete AFTER DELETE ON message_structure
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION analytics_tools_delete()
""",
]

SQLITE = [
    "DROP TRIGGER IF EXISTS analytics_tools_delete",
    """
CREATE TRIGGER analytics_tools_delete AFTER DELETE ON message_structure
WHEN (OLD.message_type = 'tool_call' OR OLD.message_type = 'function_call' OR OLD.message_type =
    'computer_call' OR OLD.message_type = 'file_search_call' OR OLD.message_type = 'web_search_call'
    OR OLD.message_type = 'code_interpreter_call' OR OLD.message_type = 'tool_search_call' OR
    OLD.message_type = 'custom_tool_call' OR OLD.message_type = 'mcp_call' OR OLD.message_type =
    'mcp_approval_request' OR OLD.message_type = 'shell_call' OR OLD.message_type =
    'apply_patch_call')
BEGIN
UPDATE analytics_tool_day SET calls = calls - 1
WHERE (session_id, day, tool_name) = (SELECT OLD.session_id, date(MIN(first_at)), MIN(tool)
        FROM (SELECT o.created_at AS first_at, COALESCE(o.tool_name, o.message_type) AS tool
                FROM message_structure o WHERE o.message_id = OLD.message_id AND (o.message_type =
            'tool_call' OR o.message_type = 'function_call' OR o.message_type = 'computer_call' OR
            o.message_type = 'file_search_call' OR o.message_type = 'web_search_call' OR
            o.message_type = 'code_interpreter_call' OR o.message_type = 'tool_search_call' OR
            o.message_type = 'custom_tool_call' OR o.message_type = 'mcp_call' OR o.message_type =
            'mcp_approval_request' OR o.message_type = 'shell_call' OR o.message_type =
            'apply_patch_call')
                UNION ALL SELECT OLD.created_at, COALESCE(OLD.tool_name, OLD.message_type)));
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
SELECT OLD.session_id, date(MIN(o.created_at)), MIN(COALESCE(o.tool_name, o.message_type)), 1
        FROM message_structure o WHERE o.message_id = OLD.message_id AND (o.message_type =
        'tool_call' OR o.message_type = 'function_call' OR o.message_type = 'computer_call' OR
        o.message_type = 'file_search_call' OR o.message_type = 'web_search_call' OR o.message_type
        = 'code_interpreter_call' OR o.message_type = 'tool_search_call' OR o.message_type =
        'custom_tool_call' OR o.message_type = 'mcp_call' OR o.message_type = 'mcp_approval_request'
        OR o.message_type = 'shell_call' OR o.message_type = 'apply_patch_call') GROUP BY
        o.message_id
ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
DELETE FROM analytics_tool_day WHERE session_id = OLD.session_id AND calls <= 0;
END
""",
]
