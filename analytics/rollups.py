"""The SQL that keeps analytics_usage_day and analytics_tool_day exact (see models.py).

The writes an agent turn makes cost the same however long its conversation is:
- a turn_usage change adds its new rows' figures to their (day, model) row and
  takes its old rows' off (the figures are sums, so this is exact);
- inserted and deleted structure rows (a fork's copies, a pop, a branch
  deleted, a purge) change only the tool calls of their own messages: each
  such call moves from the (day, tool) it had to the one it has (none, when
  its last row went), read through the message_id index.
An update of tool-call rows (a data fix) re-sums the conversations it touched,
through the indexes that start with session_id.

PostgreSQL: statement-level triggers with transition tables, so a bulk COPY or
a fork is handled once per statement. SQLite: row-level triggers (it has no
others).

Cached and reasoning tokens come from the usage row's JSON details, taken
only where they are numbers and capped as convstore.queries.usage_view caps
them, so odd details never fail a write.

Migrations install these triggers with their SQL frozen: each trigger
migration holds the statements this module generated when it was written,
and its reverse puts the previous migration's back. Chosen over installing
them after every migrate from a post_migrate handler (as django-pgtrigger
does), which keeps a single copy of the SQL but runs today's code after every
migrate, whatever it migrated to: `migrate analytics 0004` would still end
with today's triggers, rows a data migration writes would go uncounted, and
a deploy would change the triggers with no migration saying so. Frozen, a
migration builds the same database whenever it runs, and the migration
history says what changed when; the price is a copy of the SQL per change.

So this module is the description of the triggers as they should be now. To
change one: edit it here, then add a migration holding the new
trigger_statements() of each database whose triggers changed; the test suite
fails while a migrated database's triggers differ from what this module
generates. Only the first migration sums the rows already there; rebuild()
(`manage.py rebuild_rollups`) re-sums both tables when they were not kept.
"""

from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from convstore.items import TOOL_CALL_TYPES
from convstore.queries import USAGE_COUNTS

TOOL_TYPES_SQL = ", ".join(f"'{kind}'" for kind in TOOL_CALL_TYPES)
USAGE_FIGURES = ("turns", *USAGE_COUNTS, "cost", "unpriced_turns")
USAGE_DAY_COLUMNS = ", ".join(("session_id", "day", "model_name", *USAGE_FIGURES))


def _pg_detail(column: str, key: str, cap: str) -> str:
    value = f"({column} ->> '{key}')::numeric"
    number = f"CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' THEN {value} ELSE 0 END"
    return f"LEAST(GREATEST({number}, 0), {cap})::bigint"


def _sqlite_detail(column: str, key: str, cap: str) -> str:
    path = f"'$.{key}'"
    number = (
        f"CASE WHEN json_valid({column}) THEN (CASE WHEN json_type({column}, {path}) "
        f"IN ('integer', 'real') THEN CAST(json_extract({column}, {path}) AS INTEGER) "
        f"ELSE 0 END) ELSE 0 END"
    )
    return f"MIN(MAX({number}, 0), {cap})"


def _usage_select(day: str, detail, where: str) -> str:
    cached = detail("input_tokens_details", "cached_tokens", "input_tokens")
    reasoning = detail("output_tokens_details", "reasoning_tokens", "output_tokens")
    return f"""
        SELECT session_id, {day}, COALESCE(model_name, ''), COUNT(*), SUM(requests),
            SUM(input_tokens), SUM({cached}), SUM(output_tokens), SUM({reasoning}),
            SUM(total_tokens), COALESCE(SUM(cost), 0),
            SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END)
        FROM turn_usage WHERE {where}
        GROUP BY 1, 2, 3"""


def _usage_row(row: str, day: str, detail, sign: str) -> str:
    """One usage row as rollup figures, times sign: "1" to add it, "-1" to take it off."""
    cached = detail(f"{row}.input_tokens_details", "cached_tokens", f"{row}.input_tokens")
    reasoning = detail(f"{row}.output_tokens_details", "reasoning_tokens", f"{row}.output_tokens")
    figures = [
        "1",
        f"COALESCE({row}.requests, 0)",
        f"COALESCE({row}.input_tokens, 0)",
        cached,
        f"COALESCE({row}.output_tokens, 0)",
        reasoning,
        f"COALESCE({row}.total_tokens, 0)",
        f"COALESCE({row}.cost, 0)",
        f"CASE WHEN {row}.cost IS NULL THEN 1 ELSE 0 END",
    ]
    signed = ", ".join(f"{sign} * {figure}" for figure in figures)
    return f"{row}.session_id, {day}, COALESCE({row}.model_name, ''), {signed}"


def _usage_upsert(added: str) -> str:
    """Add rows of figures (a SELECT of USAGE_DAY_COLUMNS) to the rollup.

    The existing row goes by the table's name: SQLite takes no alias in a
    trigger's INSERT.
    """
    sums = ", ".join(
        f"{figure} = analytics_usage_day.{figure} + EXCLUDED.{figure}" for figure in USAGE_FIGURES
    )
    return f"""
        INSERT INTO analytics_usage_day ({USAGE_DAY_COLUMNS}) {added}
        ON CONFLICT (session_id, day, model_name) DO UPDATE SET {sums}"""


def _tools_select(day: str, where: str) -> str:
    # One row per message: a fork copies structure rows, never the message.
    return f"""
        SELECT session_id, {day}, tool, COUNT(*) FROM (
            SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM message_structure
            WHERE {where} AND message_type IN ({TOOL_TYPES_SQL})
            GROUP BY session_id, message_id
        ) AS calls
        GROUP BY 1, 2, 3"""


# --- PostgreSQL --------------------------------------------------------------------

PG_DAY = "(created_at AT TIME ZONE 'UTC')::date"
PG_FIRST_DAY = "(first_at AT TIME ZONE 'UTC')::date"


def _pg_refresh(
    name: str, table: str, columns: str, key: tuple[str, ...], figures: tuple, select: str
) -> str:
    """Upsert a conversation's fresh rows, touching only those that changed; drop the rest.

    Most refreshes change one day of one conversation: rewriting all of its
    rows would churn the table and its indexes on every append.
    """
    matches = " AND ".join(f"f.{column} = d.{column}" for column in key)
    updates = ", ".join(f"{figure} = EXCLUDED.{figure}" for figure in figures)
    old = ", ".join(f"d.{figure}" for figure in figures)
    new = ", ".join(f"EXCLUDED.{figure}" for figure in figures)
    return f"""
        CREATE OR REPLACE FUNCTION analytics_refresh_{name}(ids text[]) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            WITH fresh ({columns}) AS ({select}),
            gone AS (
                DELETE FROM {table} d WHERE d.session_id = ANY(ids)
                AND NOT EXISTS (SELECT 1 FROM fresh f WHERE {matches})
            )
            INSERT INTO {table} AS d ({columns}) SELECT * FROM fresh
            ON CONFLICT ({", ".join(key)}) DO UPDATE SET {updates}
            WHERE ({old}) IS DISTINCT FROM ({new});
        END $$"""


def _pg_refresh_functions() -> list[str]:
    return [
        _pg_refresh(
            "tools",
            "analytics_tool_day",
            "session_id, day, tool_name, calls",
            ("session_id", "day", "tool_name"),
            ("calls",),
            _tools_select(PG_FIRST_DAY, "session_id = ANY(ids)"),
        ),
    ]


# (trigger name, table, event, transition tables, refresh function, only tool rows)
PG_TRIGGERS = [
    ("analytics_usage_insert", "turn_usage", "INSERT", ("new_rows",), "usage", False),
    ("analytics_usage_update", "turn_usage", "UPDATE", ("old_rows", "new_rows"), "usage", False),
    ("analytics_usage_delete", "turn_usage", "DELETE", ("old_rows",), "usage", False),
    ("analytics_tools_insert", "message_structure", "INSERT", ("new_rows",), "tools", True),
    (
        "analytics_tools_update",
        "message_structure",
        "UPDATE",
        ("old_rows", "new_rows"),
        "tools",
        True,
    ),
    ("analytics_tools_delete", "message_structure", "DELETE", ("old_rows",), "tools", True),
]


def _pg_touched_sessions(transitions: tuple[str, ...]) -> str:
    return " UNION ".join(f"SELECT session_id FROM {t}" for t in transitions)


def _pg_referencing(transitions: tuple[str, ...]) -> str:
    return " ".join(f"{'OLD' if t == 'old_rows' else 'NEW'} TABLE AS {t}" for t in transitions)


def _pg_trigger(name, table, event, transitions, refresh, only_tools) -> list[str]:
    rows = _pg_touched_sessions(transitions)
    condition = "TRUE"
    if only_tools:
        tool_rows = " UNION ALL ".join(
            f"SELECT 1 FROM {t} WHERE message_type IN ({TOOL_TYPES_SQL})" for t in transitions
        )
        condition = f"EXISTS ({tool_rows})"
    referencing = _pg_referencing(transitions)
    return [
        f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {condition} THEN
                PERFORM analytics_refresh_{refresh}(ARRAY({rows}));
            END IF;
            RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"""
        CREATE TRIGGER {name} AFTER {event} ON {table}
        REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
    ]


# Inserted structure rows change only the calls of their own messages: each
# such call comes off the (day, tool) it had without the statement's rows (none,
# for a new call) and goes onto the one it has with them. An append then costs
# the same whatever the length of its conversation, where a re-sum read all of
# the conversation's calls, so that long conversations appended slower and slower.
PG_TOOLS_INSERT = "analytics_tools_insert"


def _pg_call_groups(condition: str = "") -> str:
    """(session, day, tool) of every call a tool row of new_rows belongs to.

    Each message's rows are read in a LATERAL aggregate, which the planner
    cannot flatten into a join: the message_id index is used however few
    statistics the table has (as a join it chose a scan of the whole table).
    """
    return f"""
        SELECT t.session_id, (g.first_at AT TIME ZONE 'UTC')::date AS day, g.tool
        FROM (SELECT DISTINCT session_id, message_id FROM new_rows
            WHERE message_type IN ({TOOL_TYPES_SQL})) AS t,
        LATERAL (
            SELECT MIN(s.created_at) AS first_at, MIN(COALESCE(s.tool_name, s.message_type)) AS tool
            FROM message_structure s
            WHERE s.message_id = t.message_id AND s.message_type IN ({TOOL_TYPES_SQL}){condition}
        ) AS g
        WHERE g.first_at IS NOT NULL"""


def _pg_tools_insert() -> list[str]:
    before = _pg_call_groups(" AND s.id NOT IN (SELECT id FROM new_rows)")
    return [
        f"""
        CREATE OR REPLACE FUNCTION {PG_TOOLS_INSERT}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM new_rows WHERE message_type IN ({TOOL_TYPES_SQL})) THEN
                RETURN NULL;
            END IF;
            INSERT INTO analytics_tool_day AS d (session_id, day, tool_name, calls)
            SELECT session_id, day, tool, SUM(change) FROM (
                SELECT *, 1 AS change FROM ({_pg_call_groups()}) AS after_rows
                UNION ALL
                SELECT *, -1 AS change FROM ({before}) AS before_rows
            ) AS changes
            GROUP BY session_id, day, tool HAVING SUM(change) <> 0
            ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
            DELETE FROM analytics_tool_day
            WHERE session_id IN (SELECT session_id FROM new_rows) AND calls <= 0;
            RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {PG_TOOLS_INSERT} ON message_structure",
        f"""
        CREATE TRIGGER {PG_TOOLS_INSERT} AFTER INSERT ON message_structure
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {PG_TOOLS_INSERT}()""",
    ]


# A turn_usage change is added to its (day, model) row as it is: the new rows'
# figures on, the old rows' off, and rows left with no turns dropped. The
# figures are sums, so this is exact, and a turn's usage recorded costs the same
# however many turns its conversation has, where a re-sum read all of them.
def _pg_usage_trigger(name: str, event: str, transitions: tuple[str, ...]) -> list[str]:
    pg_day = "(r.created_at AT TIME ZONE 'UTC')::date"
    changes = " UNION ALL ".join(
        f"SELECT {_usage_row('r', pg_day, _pg_detail, '1' if t == 'new_rows' else '-1')}"
        f" FROM {t} AS r"
        for t in transitions
    )
    figures = ", ".join(f"SUM({figure})" for figure in USAGE_FIGURES)
    added = (
        f"SELECT session_id, day, model_name, {figures}"
        f" FROM ({changes}) AS changes ({USAGE_DAY_COLUMNS}) GROUP BY 1, 2, 3"
    )
    touched = _pg_touched_sessions(transitions)
    referencing = _pg_referencing(transitions)
    return [
        f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {_usage_upsert(added)};
            DELETE FROM analytics_usage_day
            WHERE session_id IN ({touched}) AND turns <= 0;
            RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {name} ON turn_usage",
        f"""
        CREATE TRIGGER {name} AFTER {event} ON turn_usage
        REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
    ]


# Deleted structure rows, likewise: each call one of them belonged to comes off
# the (day, tool) it had with the statement's rows (the remaining rows' group
# joined with the deleted ones') and goes onto the one it has without them, if
# any row of it remains. A pop then costs the same whatever the length of its
# conversation, where a re-sum read all of the conversation's calls.
PG_TOOLS_DELETE = "analytics_tools_delete"


def _pg_tools_delete() -> list[str]:
    remaining = f"""
        SELECT t.session_id, t.first_at AS gone_first_at, t.tool AS gone_tool,
            g.first_at, g.tool
        FROM (SELECT session_id, message_id, MIN(created_at) AS first_at,
                MIN(COALESCE(tool_name, message_type)) AS tool
            FROM old_rows WHERE message_type IN ({TOOL_TYPES_SQL})
            GROUP BY session_id, message_id) AS t,
        LATERAL (
            SELECT MIN(s.created_at) AS first_at, MIN(COALESCE(s.tool_name, s.message_type)) AS tool
            FROM message_structure s
            WHERE s.message_id = t.message_id AND s.message_type IN ({TOOL_TYPES_SQL})
        ) AS g"""
    return [
        f"""
        CREATE OR REPLACE FUNCTION {PG_TOOLS_DELETE}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM old_rows WHERE message_type IN ({TOOL_TYPES_SQL})) THEN
                RETURN NULL;
            END IF;
            WITH calls AS ({remaining})
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
        END $$""",
        f"DROP TRIGGER IF EXISTS {PG_TOOLS_DELETE} ON message_structure",
        f"""
        CREATE TRIGGER {PG_TOOLS_DELETE} AFTER DELETE ON message_structure
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {PG_TOOLS_DELETE}()""",
    ]


def _pg_install() -> list[str]:
    # The usage triggers used to re-sum through this function.
    statements = ["DROP FUNCTION IF EXISTS analytics_refresh_usage(text[])"]
    statements += _pg_refresh_functions()
    for name, table, event, transitions, refresh, only_tools in PG_TRIGGERS:
        if refresh == "usage":
            statements += _pg_usage_trigger(name, event, transitions)
        elif name not in (PG_TOOLS_INSERT, PG_TOOLS_DELETE):
            statements += _pg_trigger(name, table, event, transitions, refresh, only_tools)
    return statements + _pg_tools_insert() + _pg_tools_delete()


# --- SQLite ------------------------------------------------------------------------

SQLITE_DAY = "date(created_at)"
SQLITE_FIRST_DAY = "date(first_at)"


def _sqlite_is_tool_call(message_type: str) -> str:
    """Whether message_type names a tool call, for a row trigger.

    Comparisons rather than IN: SQLite builds an IN list's lookup table anew
    each time a row trigger runs, which made the two insert triggers cost an
    append more than its own message_structure insert; with comparisons they
    cost a fraction of it (bench/session_bench.py measures appends).
    """
    return "(" + " OR ".join(f"{message_type} = '{kind}'" for kind in TOOL_CALL_TYPES) + ")"


def _sqlite_refresh(session: str) -> str:
    select = _tools_select(SQLITE_FIRST_DAY, f"session_id = {session}")
    return (
        f"DELETE FROM analytics_tool_day WHERE session_id = {session};\n"
        f"INSERT INTO analytics_tool_day (session_id, day, tool_name, calls) {select};"
    )


# Another structure row holds the inserted row's message: a fork's copy.
_SQLITE_SHARED_MESSAGE = (
    "EXISTS (SELECT 1 FROM message_structure o"
    " WHERE o.message_id = NEW.message_id AND o.id <> NEW.id)"
)

# The common insert, an agent's new tool call, counted without a re-sum. SQLite's
# triggers are row-level, so re-summing fired once per tool-call row and read
# every tool call of the conversation each time (a fifth of an append's time).
# A row whose message no other structure row holds is a call group of its own
# in _tools_select: first_at is its created_at and its tool its own, so the
# re-sum's result is the old rollup plus one call on that (day, tool). Rows that
# copy a message (a fork) change an existing group and are re-summed.
SQLITE_NEW_CALL_TRIGGER = "analytics_tools_insert_call"
_SQLITE_NEW_CALL = f"""
    CREATE TRIGGER {SQLITE_NEW_CALL_TRIGGER} AFTER INSERT ON message_structure
    WHEN {_sqlite_is_tool_call("NEW.message_type")} AND NOT {_SQLITE_SHARED_MESSAGE}
    BEGIN
    INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
    VALUES (NEW.session_id, date(NEW.created_at), COALESCE(NEW.tool_name, NEW.message_type), 1)
    ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
    END"""


# A row that copies a message (a fork) can only move that message's one call:
# its group's first day and tool are MIN()s over the message's tool rows. The
# call comes off the (day, tool) it had without the new row and goes onto the
# one it has with it (the same one, almost always), instead of a re-sum of the
# conversation per copied row, which made a fork's cost grow with its conversation.
SQLITE_COPY_TRIGGER = "analytics_tools_insert"


def _sqlite_call_group(extra: str = "", condition: str = "") -> str:
    """The copied message's call group as (session, day, tool{extra})."""
    return (
        "SELECT NEW.session_id, date(MIN(o.created_at)),"
        f" MIN(COALESCE(o.tool_name, o.message_type)){extra} FROM message_structure o"
        f" WHERE o.message_id = NEW.message_id AND {_sqlite_is_tool_call('o.message_type')}"
        f"{condition}"
    )


_SQLITE_COPY = f"""
    CREATE TRIGGER {SQLITE_COPY_TRIGGER} AFTER INSERT ON message_structure
    WHEN {_sqlite_is_tool_call("NEW.message_type")} AND {_SQLITE_SHARED_MESSAGE}
    BEGIN
    UPDATE analytics_tool_day SET calls = calls - 1
    WHERE (session_id, day, tool_name) = ({_sqlite_call_group(condition=" AND o.id <> NEW.id")});
    INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
    {_sqlite_call_group(extra=", 1")}
    ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
    DELETE FROM analytics_tool_day WHERE session_id = NEW.session_id AND calls <= 0;
    END"""


# A deleted row (a pop, a branch deleted, a purge) can only move its message's
# one call, as a copy can: off the (day, tool) it had with the row and onto the
# one it has without it, if any of the message's tool rows remain. SQLite's
# triggers are row-level, so a re-sum ran once per deleted tool row and read
# every tool call of the conversation each time: a pop's cost grew with the
# conversation, and deleting a branch or a conversation grew with its square.
SQLITE_DELETE_TRIGGER = "analytics_tools_delete"

_SQLITE_REMAINING_CALL = (
    "FROM message_structure o"
    f" WHERE o.message_id = OLD.message_id AND {_sqlite_is_tool_call('o.message_type')}"
)
_SQLITE_DELETE = f"""
    CREATE TRIGGER {SQLITE_DELETE_TRIGGER} AFTER DELETE ON message_structure
    WHEN {_sqlite_is_tool_call("OLD.message_type")}
    BEGIN
    UPDATE analytics_tool_day SET calls = calls - 1
    WHERE (session_id, day, tool_name) = (SELECT OLD.session_id, date(MIN(first_at)), MIN(tool)
        FROM (SELECT o.created_at AS first_at, COALESCE(o.tool_name, o.message_type) AS tool
            {_SQLITE_REMAINING_CALL}
            UNION ALL SELECT OLD.created_at, COALESCE(OLD.tool_name, OLD.message_type)));
    INSERT INTO analytics_tool_day (session_id, day, tool_name, calls)
    SELECT OLD.session_id, date(MIN(o.created_at)), MIN(COALESCE(o.tool_name, o.message_type)), 1
        {_SQLITE_REMAINING_CALL} GROUP BY o.message_id
    ON CONFLICT (session_id, day, tool_name) DO UPDATE SET calls = calls + 1;
    DELETE FROM analytics_tool_day WHERE session_id = OLD.session_id AND calls <= 0;
    END"""


def _sqlite_usage_trigger(name: str, event: str, transitions: tuple[str, ...]) -> str:
    """As _pg_usage_trigger, a row at a time."""
    body = []
    for transition in transitions:
        row, sign = ("NEW", "1") if transition == "new_rows" else ("OLD", "-1")
        figures = _usage_row(row, f"date({row}.created_at)", _sqlite_detail, sign)
        # WHERE true: SQLite's upsert needs a WHERE after an INSERT's SELECT.
        body.append(_usage_upsert(f"SELECT {figures} WHERE true") + ";")
        body.append(
            f"DELETE FROM analytics_usage_day WHERE session_id = {row}.session_id AND turns <= 0;"
        )
    return f"CREATE TRIGGER {name} AFTER {event} ON turn_usage\nBEGIN\n" + "\n".join(body) + "\nEND"


def _sqlite_install() -> list[str]:
    statements = []
    for name, table, event, transitions, refresh, only_tools in PG_TRIGGERS:
        if name in (SQLITE_COPY_TRIGGER, SQLITE_DELETE_TRIGGER):
            continue
        if refresh == "usage":
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                _sqlite_usage_trigger(name, event, transitions),
            ]
            continue
        rows = ["OLD" if t == "old_rows" else "NEW" for t in transitions]
        when = ""
        if only_tools:
            tool_rows = [_sqlite_is_tool_call(f"{row}.message_type") for row in rows]
            when = "WHEN (" + " OR ".join(tool_rows) + ")"
        body = "\n".join(_sqlite_refresh(f"{row}.session_id") for row in rows)
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {when}\nBEGIN\n{body}\nEND",
        ]
    for name, trigger in (
        (SQLITE_NEW_CALL_TRIGGER, _SQLITE_NEW_CALL),
        (SQLITE_COPY_TRIGGER, _SQLITE_COPY),
        (SQLITE_DELETE_TRIGGER, _SQLITE_DELETE),
    ):
        statements += [f"DROP TRIGGER IF EXISTS {name}", trigger]
    return statements


# --- what migrations freeze, rebuild ----------------------------------------------------


def trigger_statements(vendor: str) -> list[str]:
    """The statements that give the triggers their current bodies ("postgresql" or "sqlite").

    Idempotent. For a migration to freeze: migrations never call this.
    """
    return _pg_install() if vendor == "postgresql" else _sqlite_install()


class RollupRows(NamedTuple):
    usage_days: int
    tool_days: int


def rebuild(*, using: str = DEFAULT_DB_ALIAS) -> RollupRows:
    """Re-sum both rollups from the base tables (after restoring a backup made without them, say).

    Returns the rows written.
    """
    connection = connections[using]
    postgres = connection.vendor == "postgresql"
    day, first_day = (PG_DAY, PG_FIRST_DAY) if postgres else (SQLITE_DAY, SQLITE_FIRST_DAY)
    detail = _pg_detail if postgres else _sqlite_detail
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if postgres:
            # Writers wait until the sums are in: a row written meanwhile could
            # be missed by them, or its trigger's rollup row collide with theirs.
            # (SQLite's immediate transaction holds the write lock already.)
            cursor.execute("LOCK TABLE turn_usage, message_structure IN SHARE MODE")
        cursor.execute("DELETE FROM analytics_usage_day")
        cursor.execute(
            f"INSERT INTO analytics_usage_day ({USAGE_DAY_COLUMNS}) "
            + _usage_select(day, detail, "TRUE")
        )
        usage_days = cursor.rowcount
        cursor.execute("DELETE FROM analytics_tool_day")
        cursor.execute(
            "INSERT INTO analytics_tool_day (session_id, day, tool_name, calls) "
            + _tools_select(first_day, "TRUE")
        )
        return RollupRows(usage_days=usage_days, tool_days=cursor.rowcount)
