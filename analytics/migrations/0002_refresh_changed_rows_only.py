"""PostgreSQL: the refresh functions upsert only the rows whose figures changed.

What the rollups hold is unchanged, so they are not re-summed. SQLite's triggers
are as 0001 left them. Reversed, PostgreSQL gets 0001's triggers back.
The SQL is frozen (see 0001).
"""

from importlib import import_module

from django.db import migrations


def run(schema_editor, **statements):
    """Execute the statements given for this database's vendor ("postgresql", "sqlite")."""
    for statement in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement, params=None)


def replace_triggers(apps, schema_editor):
    run(schema_editor, postgresql=POSTGRESQL)


def restore_triggers(apps, schema_editor):
    run(schema_editor, postgresql=import_module("analytics.migrations.0001_rollups").POSTGRESQL)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_rollups")]

    operations = [migrations.RunPython(replace_triggers, restore_triggers)]


# --- Frozen SQL: what analytics/rollups.py generated for this migration (line breaks aside)

POSTGRESQL = [
    """
CREATE OR REPLACE FUNCTION analytics_refresh_usage(ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH fresh (session_id, day, model_name, turns, requests, input_tokens, cached_tokens,
        output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns) AS (
SELECT session_id, (created_at AT TIME ZONE 'UTC')::date, COALESCE(model_name, ''), COUNT(*),
    SUM(requests),
    SUM(input_tokens), SUM(LEAST(GREATEST(CASE WHEN jsonb_typeof(input_tokens_details ->
        'cached_tokens') = 'number' THEN (input_tokens_details ->> 'cached_tokens')::numeric
        ELSE 0 END, 0), input_tokens)::bigint), SUM(output_tokens), SUM(LEAST(GREATEST(CASE WHEN
        jsonb_typeof(output_tokens_details -> 'reasoning_tokens') = 'number' THEN
        (output_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END, 0),
        output_tokens)::bigint),
    SUM(total_tokens), COALESCE(SUM(cost), 0),
    SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
FROM turn_usage WHERE session_id = ANY(ids)
GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM analytics_usage_day d WHERE d.session_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.session_id = d.session_id AND f.day =
            d.day AND f.model_name = d.model_name)
    )
    INSERT INTO analytics_usage_day AS d (session_id, day, model_name, turns, requests,
        input_tokens, cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost,
        unpriced_turns) SELECT * FROM fresh
    ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = EXCLUDED.turns, requests =
        EXCLUDED.requests, input_tokens = EXCLUDED.input_tokens, cached_tokens =
        EXCLUDED.cached_tokens, output_tokens = EXCLUDED.output_tokens, reasoning_tokens =
        EXCLUDED.reasoning_tokens, total_tokens = EXCLUDED.total_tokens, cost = EXCLUDED.cost,
        unpriced_turns = EXCLUDED.unpriced_turns
    WHERE (d.turns, d.requests, d.input_tokens, d.cached_tokens, d.output_tokens,
        d.reasoning_tokens, d.total_tokens, d.cost, d.unpriced_turns) IS DISTINCT FROM
        (EXCLUDED.turns, EXCLUDED.requests, EXCLUDED.input_tokens, EXCLUDED.cached_tokens,
        EXCLUDED.output_tokens, EXCLUDED.reasoning_tokens, EXCLUDED.total_tokens, EXCLUDED.cost,
        EXCLUDED.unpriced_turns);
END $$
""",
    """
CREATE OR REPLACE FUNCTION analytics_refresh_tools(ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH fresh (session_id, day, tool_name, calls) AS (
SELECT session_id, (first_at AT TIME ZONE 'UTC')::date, tool, COUNT(*) FROM (
    SELECT session_id, message_id, MIN(created_at) AS first_at,
        MIN(COALESCE(tool_name, message_type)) AS tool
    FROM message_structure
    WHERE session_id = ANY(ids) AND message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call')
    GROUP BY session_id, message_id
) AS calls
GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM analytics_tool_day d WHERE d.session_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.session_id = d.session_id AND f.day =
            d.day AND f.tool_name = d.tool_name)
    )
    INSERT INTO analytics_tool_day AS d (session_id, day, tool_name, calls) SELECT * FROM fresh
    ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = EXCLUDED.calls
    WHERE (d.calls) IS DISTINCT FROM (EXCLUDED.calls);
END $$
""",
    """
CREATE OR REPLACE FUNCTION analytics_usage_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TRUE THEN
        PERFORM analytics_refresh_usage(ARRAY(SELECT session_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_usage_insert ON turn_usage",
    """
CREATE TRIGGER analytics_usage_insert AFTER INSERT ON turn_usage
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_usage_insert()
""",
    """
CREATE OR REPLACE FUNCTION analytics_usage_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TRUE THEN
        PERFORM analytics_refresh_usage(ARRAY(SELECT session_id FROM old_rows UNION SELECT
            session_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_usage_update ON turn_usage",
    """
CREATE TRIGGER analytics_usage_update AFTER UPDATE ON turn_usage
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION
    analytics_usage_update()
""",
    """
CREATE OR REPLACE FUNCTION analytics_usage_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TRUE THEN
        PERFORM analytics_refresh_usage(ARRAY(SELECT session_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_usage_delete ON turn_usage",
    """
CREATE TRIGGER analytics_usage_delete AFTER DELETE ON turn_usage
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_usage_delete()
""",
    """
CREATE OR REPLACE FUNCTION analytics_tools_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call')) THEN
        PERFORM analytics_refresh_tools(ARRAY(SELECT session_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_tools_insert ON message_structure",
    """
CREATE TRIGGER analytics_tools_insert AFTER INSERT ON message_structure
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_tools_insert()
""",
    """
CREATE OR REPLACE FUNCTION analytics_tools_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows WHERE message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call') UNION ALL SELECT 1 FROM new_rows WHERE message_type IN
        ('tool_call', 'function_call', 'computer_call', 'file_search_call', 'web_search_call',
        'code_interpreter_call', 'tool_search_call', 'custom_tool_call', 'mcp_call',
        'mcp_approval_request', 'shell_call', 'apply_patch_call')) THEN
        PERFORM analytics_refresh_tools(ARRAY(SELECT session_id FROM old_rows UNION SELECT
            session_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_tools_update ON message_structure",
    """
CREATE TRIGGER analytics_tools_update AFTER UPDATE ON message_structure
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION
    analytics_tools_update()
""",
    """
CREATE OR REPLACE FUNCTION analytics_tools_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows WHERE message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call')) THEN
        PERFORM analytics_refresh_tools(ARRAY(SELECT session_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_tools_delete ON message_structure",
    """
CREATE TRIGGER analytics_tools_delete AFTER DELETE ON message_structure
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_tools_delete()
""",
]
