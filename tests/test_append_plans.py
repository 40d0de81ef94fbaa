"""On PostgreSQL an append's cost must not grow with the tables: no sequential scans.

The foreign keys (migration 0002) are checked with plans each connection caches
for its life. A plan made while a table was small and recorded as known-empty
is a sequential scan, and then every later append read the whole table. The
dashboard's trigger (analytics.rollups) must find a new call's other rows
through the message_id index too, with or without statistics.
"""

import importlib

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from convstore import conversations

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]

TURN = [
    {"role": "user", "content": "Where is my parcel?"},
    {"type": "function_call", "call_id": "c1", "name": "track", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c1", "output": "in transit"},
    {"role": "assistant", "content": "It is in transit."},
]


def sequential_scans(table: str) -> int:
    """Sequential scans of the table in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_numscans(%s::regclass)", [table])
        return cursor.fetchone()[0]


# The foreign keys' targets, and the table the dashboard's tool-call trigger reads.
TABLES = ("agent_messages", "agent_sessions", "message_structure")


def test_appends_check_their_foreign_keys_and_count_tool_calls_through_indexes():
    with connection.cursor() as cursor:
        # Check each row's keys as it is written, inside this test's transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # The first checks, on nearly empty tables, plan and cache the checks' queries.
    conversations.append_items(session_id="first", items=TURN)
    for number in range(60):
        conversations.append_items(session_id=f"filler-{number}", items=TURN * 10)
    before = {table: sequential_scans(table) for table in TABLES}

    conversations.append_items(session_id="first", items=TURN)

    after = {table: sequential_scans(table) for table in TABLES}
    assert after == before


@pytest.mark.skipif(
    connection.settings_dict["OPTIONS"].get("prepare_threshold") is None,
    reason="DATABASE_PREPARE_THRESHOLD=off",
)
def test_an_agents_repeated_statements_run_prepared_and_stay_readable_in_the_query_log():
    for _ in range(6):
        conversations.append_items(session_id="prepared", items=TURN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any(
        s.startswith("INSERT INTO agent_sessions (session_id, updated_at)") for s in prepared
    )
    assert any("WITH inserted AS" in s for s in prepared)

    with CaptureQueriesContext(connection) as captured:
        conversations.append_items(session_id="prepared", items=TURN)
    logged = [query["sql"] for query in captured.captured_queries]
    assert logged[1].startswith(
        "INSERT INTO agent_sessions (session_id, updated_at) VALUES ('prepared', '"
    )
    assert all(isinstance(sql, str) and sql for sql in logged)


def recorded_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


_SIZE_FIGURES = "relpages, reltuples, relallvisible"


@pytest.fixture
def messages_size_figures_kept():
    """Put back the size figures agent_messages had before the test.

    ANALYZE writes them in place, so they outlive the test's rollback, and the
    small table they describe would have later tests plan the foreign key
    checks as sequential scans. They go back through a connection of its own.
    """
    where = "WHERE oid = 'agent_messages'::regclass"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_SIZE_FIGURES} FROM pg_class {where}")
        figures = cursor.fetchone()
    yield
    other = connections.create_connection(connection.alias)
    try:
        with other.cursor() as cursor:
            cursor.execute(f"UPDATE pg_class SET ({_SIZE_FIGURES}) = (%s, %s, %s) {where}", figures)
    finally:
        other.close()


@pytest.mark.usefixtures("messages_size_figures_kept")
def test_migration_0006_gives_a_table_recorded_as_empty_its_statistics_again():
    reanalyze = importlib.import_module("analytics.migrations.0006_reanalyze_known_empty").reanalyze
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM agent_messages")
        cursor.execute("ANALYZE agent_messages")  # what 0003 used to do on a new database
    conversations.append_items(session_id="grown", items=TURN * 5)
    assert recorded_rows("agent_messages") == 0

    with connection.schema_editor() as editor:
        reanalyze(None, editor)

    assert recorded_rows("agent_messages") == 20
