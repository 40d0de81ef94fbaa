"""Both databases: usage rows and tool calls are added and taken off in place.

A usage row's figures and a structure row's call move onto and off their (day,
model) and (day, tool) rows instead of a re-sum of the conversation; PostgreSQL
drops analytics_refresh_usage, which only the usage triggers called. What the
rollups hold is unchanged, so they are not re-summed. Reversed, PostgreSQL gets
0002's triggers back and SQLite 0004's. The SQL is frozen (see 0001).
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
        postgresql=import_module("analytics.migrations.0002_refresh_changed_rows_only").POSTGRESQL,
        sqlite=import_module("analytics.migrations.0004_sqlite_count_new_tool_calls").SQLITE,
    )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_sqlite_count_new_tool_calls")]

    operations = [migrations.RunPython(replace_triggers, restore_triggers)]


# --- Frozen SQL: what analytics/rollups.py generated for this migration (line breaks aside)

POSTGRESQL = [
    "DROP FUNCTION IF EXISTS analytics_refresh_usage(text[])",
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
INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
    cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns) SELECT
    session_id, day, model_name, SUM(turns), SUM(requests), SUM(input_tokens),
    SUM(cached_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(total_tokens), SUM(cost),
    SUM(unpriced_turns) FROM (SELECT r.session_id, (r.created_at AT TIME ZONE 'UTC')::date,
    COALESCE(r.model_name, ''), 1 * 1, 1 * COALESCE(r.requests, 0), 1 * COALESCE(r.input_tokens,
    0), 1 * LEAST(GREATEST(CASE WHEN jsonb_typeof(r.input_tokens_details -> 'cached_tokens') =
    'number' THEN (r.input_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END, 0),
    r.input_tokens)::bigint, 1 * COALESCE(r.output_tokens, 0), 1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.output_tokens_details -> 'reasoning_tokens') = 'number' THEN
    (r.output_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END, 0),
    r.output_tokens)::bigint, 1 * COALESCE(r.total_tokens, 0), 1 * COALESCE(r.cost, 0), 1 * CASE
    WHEN r.cost IS NULL THEN 1 ELSE 0 END FROM new_rows AS r) AS changes (session_id, day,
    model_name, turns, requests, input_tokens, cached_tokens, output_tokens, reasoning_tokens,
    total_tokens, cost, unpriced_turns) GROUP BY 1, 2, 3
ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
    EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests, input_tokens =
    analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
    analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
    analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
    analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
    analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost = analytics_usage_day.cost +
    EXCLUDED.cost, unpriced_turns = analytics_usage_day.unpriced_turns +
    EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day
    WHERE session_id IN (SELECT session_id FROM new_rows) AND turns <= 0;
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
INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
    cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns) SELECT
    session_id, day, model_name, SUM(turns), SUM(requests), SUM(input_tokens),
    SUM(cached_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(total_tokens), SUM(cost),
    SUM(unpriced_turns) FROM (SELECT r.session_id, (r.created_at AT TIME ZONE 'UTC')::date,
    COALESCE(r.model_name, ''), -1 * 1, -1 * COALESCE(r.requests, 0), -1 *
    COALESCE(r.input_tokens, 0), -1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.input_tokens_details -> 'cached_tokens') = 'number' THEN
    (r.input_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END, 0),
    r.input_tokens)::bigint, -1 * COALESCE(r.output_tokens, 0), -1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.output_tokens_details -> 'reasoning_tokens') = 'number' THEN
    (r.output_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END, 0),
    r.output_tokens)::bigint, -1 * COALESCE(r.total_tokens, 0), -1 * COALESCE(r.cost, 0), -1 *
    CASE WHEN r.cost IS NULL THEN 1 ELSE 0 END FROM old_rows AS r UNION ALL SELECT r.session_id,
    (r.created_at AT TIME ZONE 'UTC')::date, COALESCE(r.model_name, ''), 1 * 1, 1 *
    COALESCE(r.requests, 0), 1 * COALESCE(r.input_tokens, 0), 1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.input_tokens_details -> 'cached_tokens') = 'number' THEN
    (r.input_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END, 0),
    r.input_tokens)::bigint, 1 * COALESCE(r.output_tokens, 0), 1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.output_tokens_details -> 'reasoning_tokens') = 'number' THEN
    (r.output_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END, 0),
    r.output_tokens)::bigint, 1 * COALESCE(r.total_tokens, 0), 1 * COALESCE(r.cost, 0), 1 * CASE
    WHEN r.cost IS NULL THEN 1 ELSE 0 END FROM new_rows AS r) AS changes (session_id, day,
    model_name, turns, requests, input_tokens, cached_tokens, output_tokens, reasoning_tokens,
    total_tokens, cost, unpriced_turns) GROUP BY 1, 2, 3
ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
    EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests, input_tokens =
    analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
    analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
    analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
    analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
    analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost = analytics_usage_day.cost +
    EXCLUDED.cost, unpriced_turns = analytics_usage_day.unpriced_turns +
    EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day
    WHERE session_id IN (SELECT session_id FROM old_rows UNION SELECT session_id FROM new_rows)
        AND turns <= 0;
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
INSERT INTO analytics_usage_day (session_id, day, model_name, turns, requests, input_tokens,
    cached_tokens, output_tokens, reasoning_tokens, total_tokens, cost, unpriced_turns) SELECT
    session_id, day, model_name, SUM(turns), SUM(requests), SUM(input_tokens),
    SUM(cached_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(total_tokens), SUM(cost),
    SUM(unpriced_turns) FROM (SELECT r.session_id, (r.created_at AT TIME ZONE 'UTC')::date,
    COALESCE(r.model_name, ''), -1 * 1, -1 * COALESCE(r.requests, 0), -1 *
    COALESCE(r.input_tokens, 0), -1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.input_tokens_details -> 'cached_tokens') = 'number' THEN
    (r.input_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END, 0),
    r.input_tokens)::bigint, -1 * COALESCE(r.output_tokens, 0), -1 * LEAST(GREATEST(CASE WHEN
    jsonb_typeof(r.output_tokens_details -> 'reasoning_tokens') = 'number' THEN
    (r.output_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END, 0),
    r.output_tokens)::bigint, -1 * COALESCE(r.total_tokens, 0), -1 * COALESCE(r.cost, 0), -1 *
    CASE WHEN r.cost IS NULL THEN 1 ELSE 0 END FROM old_rows AS r) AS changes (session_id, day,
    model_name, turns, requests, input_tokens, cached_tokens, output_tokens, reasoning_tokens,
    total_tokens, cost, unpriced_turns) GROUP BY 1, 2, 3
ON CONFLICT (session_id, day, model_name) DO UPDATE SET turns = analytics_usage_day.turns +
    EXCLUDED.turns, requests = analytics_usage_day.requests + EXCLUDED.requests, input_tokens =
    analytics_usage_day.input_tokens + EXCLUDED.input_tokens, cached_tokens =
    analytics_usage_day.cached_tokens + EXCLUDED.cached_tokens, output_tokens =
    analytics_usage_day.output_tokens + EXCLUDED.output_tokens, reasoning_tokens =
    analytics_usage_day.reasoning_tokens + EXCLUDED.reasoning_tokens, total_tokens =
    analytics_usage_day.total_tokens + EXCLUDED.total_tokens, cost = analytics_usage_day.cost +
    EXCLUDED.cost, unpriced_turns = analytics_usage_day.unpriced_turns +
    EXCLUDED.unpriced_turns;
    DELETE FROM analytics_usage_day
    WHERE session_id IN (SELECT session_id FROM old_rows) AND turns <= 0;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_usage_delete ON turn_usage",
    """
CREATE TRIGGER analytics_usage_delete AFTER DELETE ON turn_usage
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_usage_delete()
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
    """
CREATE OR REPLACE FUNCTION analytics_tools_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call')) THEN
        RETURN NULL;
    END IF;
    INSERT INTO analytics_tool_day AS d (session_id, day, tool_name, calls)
    SELECT session_id, day, tool, SUM(change) FROM (
        SELECT *, 1 AS change FROM (
SELECT t.session_id, (g.first_at AT TIME ZONE 'UTC')::date AS day, g.tool
FROM (SELECT DISTINCT session_id, message_id FROM new_rows
    WHERE message_type IN ('tool_call', 'function_call', 'computer_call', 'file_search_call',
        'web_search_call', 'code_interpreter_call', 'tool_search_call', 'custom_tool_call',
        'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call')) AS t,
LATERAL (
    SELECT MIN(s.created_at) AS first_at, MIN(COALESCE(s.tool_name, s.message_type)) AS tool
    FROM message_structure s
    WHERE s.message_id = t.message_id AND s.message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call')
) AS g
WHERE g.first_at IS NOT NULL) AS after_rows
        UNION ALL
        SELECT *, -1 AS change FROM (
SELECT t.session_id, (g.first_at AT TIME ZONE 'UTC')::date AS day, g.tool
FROM (SELECT DISTINCT session_id, message_id FROM new_rows
    WHERE message_type IN ('tool_call', 'function_call', 'computer_call', 'file_search_call',
        'web_search_call', 'code_interpreter_call', 'tool_search_call', 'custom_tool_call',
        'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call')) AS t,
LATERAL (
    SELECT MIN(s.created_at) AS first_at, MIN(COALESCE(s.tool_name, s.message_type)) AS tool
    FROM message_structure s
    WHERE s.message_id = t.message_id AND s.message_type IN ('tool_call', 'function_call',
        'computer_call', 'file_search_call', 'web_search_call', 'code_interpreter_call',
        'tool_search_call', 'custom_tool_call', 'mcp_call', 'mcp_approval_request',
        'shell_call', 'apply_patch_call') AND s.id NOT IN (SELECT id FROM new_rows)
) AS g
WHERE g.first_at IS NOT NULL) AS before_rows
    ) AS changes
    GROUP BY session_id, day, tool HAVING SUM(change) <> 0
    ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
    DELETE FROM analytics_tool_day
    WHERE session_id IN (SELECT session_id FROM new_rows) AND calls <= 0;
    RETURN NULL;
END $$
""",
    "DROP TRIGGER IF EXISTS analytics_tools_insert ON message_structure",
    """
CREATE TRIGGER analytics_tools_insert AFTER INSERT ON message_structure
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION analytics_tools_insert()
""",
]

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
    "DROP TRIGGER IF EXISTS analytics_tools_insert",
    """
CREATE TRIGGER analytics_tools_insert AFTER INSERT ON message_structure
WHEN NEW.message_type IN ('tool_call', 'function_call', 'computer_call', 'file_search_call',
    'web_search_call', 'code_interpreter_call', 'tool_search_call', 'custom_tool_call',
    'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call') AND EXISTS (SELECT 1
    FROM message_structure o WHERE o.message_id = NEW.message_id AND o.id <> NEW.id)
BEGIN
UPDATE analytics_tool_day SET calls = calls - 1
WHERE (session_id, day, tool_name) = (SELECT NEW.session_id, date(MIN(o.created_at)),
    MIN(COALESCE(o.tool_name, o.message_type)) FROM message_structure o WHERE o.message_id =
    NEW.message_id AND o.message_type IN ('tool_call', 'function_call', 'computer_call',
    'file_search_call', 'web_search_call', 'code_interpreter_call', 'tool_search_call',
    'custom_tool_call', 'mcp_call', 'mcp_approval_request', 'shell_call', 'apply_patch_call')
    AND o.id <> NEW.id);
INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
SELECT NEW.session_id, date(MIN(o.created_at)), MIN(COALESCE(o.tool_name, o.message_type)), 1
    FROM message_structure o WHERE o.message_id = NEW.message_id AND o.message_type IN
    ('tool_call', 'function_call', 'computer_call', 'file_search_call', 'web_search_call',
    'code_interpreter_call', 'tool_search_call', 'custom_tool_call', 'mcp_call',
    'mcp_approval_request', 'shell_call', 'apply_patch_call')
ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
DELETE FROM analytics_tool_day WHERE session_id = NEW.session_id AND calls <= 0;
END
""",
]
