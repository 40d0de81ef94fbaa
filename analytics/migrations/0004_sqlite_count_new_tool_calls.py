"""SQLite: a new tool call is counted in place (analytics_tools_insert_call), not re-summed.

What the rollups hold is unchanged, so they are not re-summed. PostgreSQL's
triggers are as 0002 left them. Reversed, the new trigger is dropped and SQLite
gets 0001's triggers back. The SQL is frozen (see 0001).
"""

from importlib import import_module

from django.db import migrations


def run(schema_editor, **statements):
    """Execute the statements given for this database's vendor ("postgresql", "sqlite")."""
    for statement in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement, params=None)


def replace_triggers(apps, schema_editor):
    run(schema_editor, sqlite=SQLITE)


def restore_triggers(apps, schema_editor):
    before = import_module("analytics.migrations.0001_rollups").SQLITE
    run(schema_editor, sqlite=["DROP TRIGGER IF EXISTS analytics_tools_insert_call", *before])


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_message_search")]

    operations = [migrations.RunPython(replace_triggers, restore_triggers)]


# --- Frozen SQL: what analytics/rollups.py generated for this migration (line breaks aside)

SQLITE = [
    "DROP TRIGGER IF EXISTS analytics_usage_insert",
    """
CREATE TRIGGER analytics_usage_insert AFTER INSERT ON turn_usage
BEGIN
    DELETE FROM analytics_usage_day WHERE session_id = NEW.session_id;
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
    SELECT session_id, date(created_at), COALESCE(model_name, ''), COUNT(*), SUM(requests),
    SUM(input_tokens), SUM(MIN(MAX(CASE WHEN json_valid(input_tokens_details) THEN (CASE WHEN
        json_type(input_tokens_details, '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END) ELSE
        0 END, 0), input_tokens)), SUM(output_tokens), SUM(MIN(MAX(CASE WHEN
        json_valid(output_tokens_details) THEN (CASE WHEN json_type(output_tokens_details,
        '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), output_tokens)),
    SUM(total_tokens), COALESCE(SUM(cost), 0),
    SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
    FROM turn_usage WHERE session_id = NEW.session_id
    GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_usage_update",
    """
CREATE TRIGGER analytics_usage_update AFTER UPDATE ON turn_usage
BEGIN
    DELETE FROM analytics_usage_day WHERE session_id = OLD.session_id;
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
    SELECT session_id, date(created_at), COALESCE(model_name, ''), COUNT(*), SUM(requests),
    SUM(input_tokens), SUM(MIN(MAX(CASE WHEN json_valid(input_tokens_details) THEN (CASE WHEN
        json_type(input_tokens_details, '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END) ELSE
        0 END, 0), input_tokens)), SUM(output_tokens), SUM(MIN(MAX(CASE WHEN
        json_valid(output_tokens_details) THEN (CASE WHEN json_type(output_tokens_details,
        '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), output_tokens)),
    SUM(total_tokens), COALESCE(SUM(cost), 0),
    SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
    FROM turn_usage WHERE session_id = OLD.session_id
    GROUP BY 1, 2, 3;
    DELETE FROM analytics_usage_day WHERE session_id = NEW.session_id;
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
    SELECT session_id, date(created_at), COALESCE(model_name, ''), COUNT(*), SUM(requests),
    SUM(input_tokens), SUM(MIN(MAX(CASE WHEN json_valid(input_tokens_details) THEN (CASE WHEN
        json_type(input_tokens_details, '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END) ELSE
        0 END, 0), input_tokens)), SUM(output_tokens), SUM(MIN(MAX(CASE WHEN
        json_valid(output_tokens_details) THEN (CASE WHEN json_type(output_tokens_details,
        '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), output_tokens)),
    SUM(total_tokens), COALESCE(SUM(cost), 0),
    SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
    FROM turn_usage WHERE session_id = NEW.session_id
    GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_usage_delete",
    """
CREATE TRIGGER analytics_usage_delete AFTER DELETE ON turn_usage
BEGIN
    DELETE FROM analytics_usage_day WHERE session_id = OLD.session_id;
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
    SELECT session_id, date(created_at), COALESCE(model_name, ''), COUNT(*), SUM(requests),
    SUM(input_tokens), SUM(MIN(MAX(CASE WHEN json_valid(input_tokens_details) THEN (CASE WHEN
        json_type(input_tokens_details, '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END) ELSE
        0 END, 0), input_tokens)), SUM(output_tokens), SUM(MIN(MAX(CASE WHEN
        json_valid(output_tokens_details) THEN (CASE WHEN json_type(output_tokens_details,
        '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), output_tokens)),
    SUM(total_tokens), COALESCE(SUM(cost), 0),
    SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
    FROM turn_usage WHERE session_id = OLD.session_id
    GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_insert",
    """
CREATE TRIGGER analytics_tools_insert AFTER INSERT ON message_structure
    WHEN (NEW.message_type IN ('tool_call', 'function_call', 'computer_call',
        'file_search_call', 'web_search_call', 'code_interpreter_call', 'tool_search_call',
        'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call',
        'apply_patch_call')) AND EXISTS (SELECT 1 FROM message_structure o WHERE o.message_id =
        NEW.message_id AND o.id <> NEW.id)
BEGIN
DELETE FROM analytics_tool_day WHERE session_id = NEW.session_id;
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
        SELECT session_id, date(first_at), tool, COUNT(*) FROM (
            SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM message_structure
            WHERE session_id = NEW.session_id AND message_type IN ('tool_call', 'function_call',
                'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
                'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
                'shell_call', 'apply_patch_call')
            GROUP BY session_id, message_id
        ) AS calls
        GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_update",
    """
CREATE TRIGGER analytics_tools_update AFTER UPDATE ON message_structure
    WHEN (OLD.message_type IN ('tool_call', 'function_call', 'computer_call',
        'file_search_call', 'web_search_call', 'code_interpreter_call', 'tool_search_call',
        'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call',
        'apply_patch_call') OR NEW.message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call'))
BEGIN
DELETE FROM analytics_tool_day WHERE session_id = OLD.session_id;
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
        SELECT session_id, date(first_at), tool, COUNT(*) FROM (
            SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM message_structure
            WHERE session_id = OLD.session_id AND message_type IN ('tool_call', 'function_call',
                'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
                'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
                'shell_call', 'apply_patch_call')
            GROUP BY session_id, message_id
        ) AS calls
        GROUP BY 1, 2, 3;
DELETE FROM analytics_tool_day WHERE session_id = NEW.session_id;
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
        SELECT session_id, date(first_at), tool, COUNT(*) FROM (
            SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM message_structure
            WHERE session_id = NEW.session_id AND message_type IN ('tool_call', 'function_call',
                'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
                'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
                'shell_call', 'apply_patch_call')
            GROUP BY session_id, message_id
        ) AS calls
        GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_delete",
    """
CREATE TRIGGER analytics_tools_delete AFTER DELETE ON message_structure
    WHEN (OLD.message_type IN ('tool_call', 'function_call', 'computer_call',
        'file_search_call', 'web_search_call', 'code_interpreter_call', 'tool_search_call',
        'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call',
        'apply_patch_call'))
BEGIN
DELETE FROM analytics_tool_day WHERE session_id = OLD.session_id;
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
        SELECT session_id, date(first_at), tool, COUNT(*) FROM (
            SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM message_structure
            WHERE session_id = OLD.session_id AND message_type IN ('tool_call', 'function_call',
                'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
                'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
                'shell_call', 'apply_patch_call')
            GROUP BY session_id, message_id
        ) AS calls
        GROUP BY 1, 2, 3;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_insert_call",
    """
CREATE TRIGGER analytics_tools_insert_call AFTER INSERT ON message_structure
WHEN NEW.message_type IN ('tool_call', 'function_call', 'computer_call', 'file_search_call',
    'web_search_call', 'code_interpreter_call', 'tool_search_call', 'custom_tool_call',
    'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call') AND NOT EXISTS (SELECT
    1 FROM message_structure o WHERE o.message_id = NEW.message_id AND o.id <> NEW.id)
BEGIN
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
VALUES (NEW.session_id, date(NEW.created_at), COALESCE(NEW.tool_name, NEW.message_type), 1)
ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
END
""",
]
