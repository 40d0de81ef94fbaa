"""SQLite: the row triggers test a row's message type with comparisons, not an IN list.

What they compute is unchanged, so the rollups are not re-summed. PostgreSQL's
triggers are as 0005 left them. Reversed, SQLite gets 0005's triggers back.
The SQL is frozen (see 0001).
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
    run(schema_editor, sqlite=import_module("analytics.migrations.0005_rollups_in_place").SQLITE)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0006_reanalyze_known_empty")]

    operations = [migrations.RunPython(replace_triggers, restore_triggers)]


# --- Frozen SQL: what analytics/rollups.py generated for this migration (line breaks aside)

SQLITE = [
    "DROP TRIGGER IF EXISTS analytics_usage_insert",
    """
CREATE TRIGGER analytics_usage_insert AFTER INSERT ON turn_usage
BEGIN
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
        SELECT NEW.session_id, date(NEW.created_at), COALESCE(NEW.model_name, ''), 1 * 1, 1 *
        COALESCE(NEW.requests, 0), 1 * COALESCE(NEW.input_tokens, 0), 1 * MIN(MAX(CASE WHEN
        json_valid(NEW.input_tokens_details) THEN (CASE WHEN json_type(NEW.input_tokens_details,
        '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(NEW.input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), NEW.input_tokens), 1 * COALESCE(NEW.output_tokens, 0), 1 * MIN(MAX(CASE
        WHEN json_valid(NEW.output_tokens_details) THEN (CASE WHEN
        json_type(NEW.output_tokens_details, '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(NEW.output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0
        END) ELSE 0 END, 0), NEW.output_tokens), 1 * COALESCE(NEW.total_tokens, 0), 1 *
        COALESCE(NEW.cost, 0), 1 * CASE WHEN NEW.cost IS NULL THEN 1 ELSE 0 END WHERE true
    ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
        EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests,
        input_tokens = analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
        analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
        analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
        analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
        analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost =
        analytics_usage_day.cost + EXCLUDED.cost, unpriced_turns =
        analytics_usage_day.unpriced_turns + EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day WHERE session_id = NEW.session_id AND turns <= 0;
END
""",
    "DROP TRIGGER IF EXISTS analytics_usage_update",
    """
CREATE TRIGGER analytics_usage_update AFTER UPDATE ON turn_usage
BEGIN
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
        SELECT OLD.session_id, date(OLD.created_at), COALESCE(OLD.model_name, ''), -1 * 1, -1 *
        COALESCE(OLD.requests, 0), -1 * COALESCE(OLD.input_tokens, 0), -1 * MIN(MAX(CASE WHEN
        json_valid(OLD.input_tokens_details) THEN (CASE WHEN json_type(OLD.input_tokens_details,
        '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(OLD.input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), OLD.input_tokens), -1 * COALESCE(OLD.output_tokens, 0), -1 *
        MIN(MAX(CASE WHEN json_valid(OLD.output_tokens_details) THEN (CASE WHEN
        json_type(OLD.output_tokens_details, '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(OLD.output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0
        END) ELSE 0 END, 0), OLD.output_tokens), -1 * COALESCE(OLD.total_tokens, 0), -1 *
        COALESCE(OLD.cost, 0), -1 * CASE WHEN OLD.cost IS NULL THEN 1 ELSE 0 END WHERE true
    ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
        EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests,
        input_tokens = analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
        analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
        analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
        analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
        analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost =
        analytics_usage_day.cost + EXCLUDED.cost, unpriced_turns =
        analytics_usage_day.unpriced_turns + EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day WHERE session_id = OLD.session_id AND turns <= 0;
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
        SELECT NEW.session_id, date(NEW.created_at), COALESCE(NEW.model_name, ''), 1 * 1, 1 *
        COALESCE(NEW.requests, 0), 1 * COALESCE(NEW.input_tokens, 0), 1 * MIN(MAX(CASE WHEN
        json_valid(NEW.input_tokens_details) THEN (CASE WHEN json_type(NEW.input_tokens_details,
        '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(NEW.input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), NEW.input_tokens), 1 * COALESCE(NEW.output_tokens, 0), 1 * MIN(MAX(CASE
        WHEN json_valid(NEW.output_tokens_details) THEN (CASE WHEN
        json_type(NEW.output_tokens_details, '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(NEW.output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0
        END) ELSE 0 END, 0), NEW.output_tokens), 1 * COALESCE(NEW.total_tokens, 0), 1 *
        COALESCE(NEW.cost, 0), 1 * CASE WHEN NEW.cost IS NULL THEN 1 ELSE 0 END WHERE true
    ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
        EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests,
        input_tokens = analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
        analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
        analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
        analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
        analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost =
        analytics_usage_day.cost + EXCLUDED.cost, unpriced_turns =
        analytics_usage_day.unpriced_turns + EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day WHERE session_id = NEW.session_id AND turns <= 0;
END
""",
    "DROP TRIGGER IF EXISTS analytics_usage_delete",
    """
CREATE TRIGGER analytics_usage_delete AFTER DELETE ON turn_usage
BEGIN
    INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
        cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns)
        SELECT OLD.session_id, date(OLD.created_at), COALESCE(OLD.model_name, ''), -1 * 1, -1 *
        COALESCE(OLD.requests, 0), -1 * COALESCE(OLD.input_tokens, 0), -1 * MIN(MAX(CASE WHEN
        json_valid(OLD.input_tokens_details) THEN (CASE WHEN json_type(OLD.input_tokens_details,
        '$.cached_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(OLD.input_tokens_details, '$.cached_tokens') AS INTEGER) ELSE 0 END)
        ELSE 0 END, 0), OLD.input_tokens), -1 * COALESCE(OLD.output_tokens, 0), -1 *
        MIN(MAX(CASE WHEN json_valid(OLD.output_tokens_details) THEN (CASE WHEN
        json_type(OLD.output_tokens_details, '$.reasoning_tokens') IN ('integer', 'real') THEN
        CAST(json_extract(OLD.output_tokens_details, '$.reasoning_tokens') AS INTEGER) ELSE 0
        END) ELSE 0 END, 0), OLD.output_tokens), -1 * COALESCE(OLD.total_tokens, 0), -1 *
        COALESCE(OLD.cost, 0), -1 * CASE WHEN OLD.cost IS NULL THEN 1 ELSE 0 END WHERE true
    ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
        EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests,
        input_tokens = analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
        analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
        analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
        analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
        analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost =
        analytics_usage_day.cost + EXCLUDED.cost, unpriced_turns =
        analytics_usage_day.unpriced_turns + EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day WHERE session_id = OLD.session_id AND turns <= 0;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_update",
    """
CREATE TRIGGER analytics_tools_update AFTER UPDATE ON message_structure
    WHEN ((OLD.message_type = 'tool_call' OR OLD.message_type = 'function_call' OR
        OLD.message_type = 'computer_call' OR OLD.message_type = 'file_search_call' OR
        OLD.message_type = 'web_search_call' OR OLD.message_type = 'code_interpreter_call' OR
        OLD.message_type = 'tool_search_call' OR OLD.message_type = 'custom_tool_call' OR
        OLD.message_type = 'mcp_call' OR OLD.message_type = 'mcp_approval_request' OR
        OLD.message_type = 'shell_call' OR OLD.message_type = 'apply_patch_call') OR
        (NEW.message_type = 'tool_call' OR NEW.message_type = 'function_call' OR
        NEW.message_type = 'computer_call' OR NEW.message_type = 'file_search_call' OR
        NEW.message_type = 'web_search_call' OR NEW.message_type = 'code_interpreter_call' OR
        NEW.message_type = 'tool_search_call' OR NEW.message_type = 'custom_tool_call' OR
        NEW.message_type = 'mcp_call' OR NEW.message_type = 'mcp_approval_request' OR
        NEW.message_type = 'shell_call' OR NEW.message_type = 'apply_patch_call'))
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
    WHEN ((OLD.message_type = 'tool_call' OR OLD.message_type = 'function_call' OR
        OLD.message_type = 'computer_call' OR OLD.message_type = 'file_search_call' OR
        OLD.message_type = 'web_search_call' OR OLD.message_type = 'code_interpreter_call' OR
        OLD.message_type = 'tool_search_call' OR OLD.message_type = 'custom_tool_call' OR
        OLD.message_type = 'mcp_call' OR OLD.message_type = 'mcp_approval_request' OR
        OLD.message_type = 'shell_call' OR OLD.message_type = 'apply_patch_call'))
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
WHEN (NEW.message_type = 'tool_call' OR NEW.message_type = 'function_call' OR NEW.message_type =
    'computer_call' OR NEW.message_type = 'file_search_call' OR NEW.message_type =
    'web_search_call' OR NEW.message_type = 'code_interpreter_call' OR NEW.message_type =
    'tool_search_call' OR NEW.message_type = 'custom_tool_call' OR NEW.message_type = 'mcp_call'
    OR NEW.message_type = 'mcp_approval_request' OR NEW.message_type = 'shell_call' OR
    NEW.message_type = 'apply_patch_call') AND NOT EXISTS (SELECT 1 FROM message_structure o
    WHERE o.message_id = NEW.message_id AND o.id <> NEW.id)
BEGIN
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
VALUES (NEW.session_id, date(NEW.created_at), COALESCE(NEW.tool_name, NEW.message_type), 1)
ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
END
""",
    "DROP TRIGGER IF EXISTS analytics_tools_insert",
    """
CREATE TRIGGER analytics_tools_insert AFTER INSERT ON message_structure
WHEN (NEW.message_type = 'tool_call' OR NEW.message_type = 'function_call' OR NEW.message_type =
    'computer_call' OR NEW.message_type = 'file_search_call' OR NEW.message_type =
    'web_search_call' OR NEW.message_type = 'code_interpreter_call' OR NEW.message_type =
    'tool_search_call' OR NEW.message_type = 'custom_tool_call' OR NEW.message_type = 'mcp_call'
    OR NEW.message_type = 'mcp_approval_request' OR NEW.message_type = 'shell_call' OR
    NEW.message_type = 'apply_patch_call') AND EXISTS (SELECT 1 FROM message_structure o WHERE
    o.message_id = NEW.message_id AND o.id <> NEW.id)
BEGIN
UPDATE analytics_tool_day SET calls = calls - 1
WHERE (session_id, day, tool_name) = (SELECT NEW.session_id, date(MIN(o.created_at)),
    MIN(COALESCE(o.tool_name, o.message_type)) FROM message_structure o WHERE o.message_id =
    NEW.message_id AND (o.message_type = 'tool_call' OR o.message_type = 'function_call' OR
    o.message_type = 'computer_call' OR o.message_type = 'file_search_call' OR o.message_type =
    'web_search_call' OR o.message_type = 'code_interpreter_call' OR o.message_type =
    'tool_search_call' OR o.message_type = 'custom_tool_call' OR o.message_type = 'mcp_call' OR
    o.message_type = 'mcp_approval_request' OR o.message_type = 'shell_call' OR o.message_type =
    'apply_patch_call') AND o.id <> NEW.id);
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
SELECT NEW.session_id, date(MIN(o.created_at)), MIN(COALESCE(o.tool_name, o.message_type)), 1
    FROM message_structure o WHERE o.message_id = NEW.message_id AND (o.message_type =
    'tool_call' OR o.message_type = 'function_call' OR o.message_type = 'computer_call' OR
    o.message_type = 'file_search_call' OR o.message_type = 'web_search_call' OR o.message_type
    = 'code_interpreter_call' OR o.message_type = 'tool_search_call' OR o.message_type =
    'custom_tool_call' OR o.message_type = 'mcp_call' OR o.message_type = 'mcp_approval_request'
    OR o.message_type = 'shell_call' OR o.message_type = 'apply_patch_call')
ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
DELETE FROM analytics_tool_day WHERE session_id = NEW.session_id AND calls <= 0;
END
""",
]
