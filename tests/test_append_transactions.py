"""An append is one transaction, Django's own (convstore.sql.write_transaction).

It joins a caller's atomic(), a failure leaves nothing behind and the connection
ready for the next write, database errors are Django's, and whatever uses
Django's cursor and transaction layers sees its statements: execute wrappers,
the query log, tools that instrument Django's cursor class, on_commit.
"""

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext

from convstore import conversations, sql
from convstore.models import AgentMessage, AgentSession, MessageStructure
from tests.conftest import database_snapshot
from tests.session_samples import assistant, function_call, user

pytestmark = pytest.mark.django_db(transaction=True)

TURN = [
    user("Where is my order?"),
    function_call("lookup_order", "c1", order="A-1"),
    assistant("On its way."),
]


def append(session_id: str, items: list | None = None):
    return conversations.append_items(session_id=session_id, items=items or TURN)


def stored_items(session_id: str) -> list[str]:
    rows = MessageStructure.objects.filter(session_id=session_id).order_by("sequence_number")
    return [row.message.message_data for row in rows.select_related("message")]


def test_an_append_inside_a_callers_atomic_block_is_rolled_back_with_it():
    append("kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        append("kept")
        append("new")
        raise RuntimeError("the caller's own work failed")

    assert AgentSession.objects.filter(pk="new").exists() is False
    assert len(stored_items("kept")) == 3
    assert AgentMessage.objects.count() == 3


def test_an_append_inside_a_callers_atomic_block_is_committed_with_it():
    with transaction.atomic():
        append("together")
        append("together", [user("And the refund?")])
    assert len(stored_items("together")) == 4


def test_a_refused_append_changes_nothing_and_the_next_one_works():
    append("binned")
    conversations.trash(session_id="binned")
    before = database_snapshot()

    with pytest.raises(conversations.ConversationInTrash):
        append("binned")

    assert database_snapshot() == before
    assert connection.in_atomic_block is False
    append("other")
    assert len(stored_items("other")) == 3


def _refuse_structure_rows() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER refuse_structure BEFORE INSERT ON message_structure"
                " BEGIN SELECT RAISE(ABORT, 'structure refused'); END"
            )
            return
        cursor.execute(
            "CREATE FUNCTION refuse_structure() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE unique_violation USING MESSAGE = 'structure refused'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_structure BEFORE INSERT ON message_structure"
            " FOR EACH ROW EXECUTE FUNCTION refuse_structure()"
        )


def _accept_structure_rows() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS refuse_structure")
            return
        cursor.execute("DROP TRIGGER IF EXISTS refuse_structure ON message_structure")
        cursor.execute("DROP FUNCTION IF EXISTS refuse_structure()")


@pytest.fixture
def refusable_structure_rows():
    """Lets a test make the database refuse new structure rows; accepted again afterwards."""
    yield
    _accept_structure_rows()


def test_a_database_error_is_djangos_and_undoes_the_messages_already_inserted(
    refusable_structure_rows,
):
    append("failing")
    _refuse_structure_rows()
    before = database_snapshot()

    # The messages go in first; their structure rows are refused.
    with pytest.raises(IntegrityError, match="structure refused"):
        append("failing", [user("One more thing")])
    with pytest.raises(IntegrityError, match="structure refused"):
        append("never created")

    assert database_snapshot() == before
    assert connection.in_atomic_block is False


def test_the_connection_writes_again_after_a_database_error(refusable_structure_rows):
    _refuse_structure_rows()
    with pytest.raises(IntegrityError):
        append("failing")
    _accept_structure_rows()

    append("failing")
    assert stored_items("failing") == [json.dumps(item) for item in TURN]


def _first_words(statements: list[str]) -> list[str]:
    return [" ".join(text.split()[:3]) for text in statements if text.startswith("INSERT")]


APPEND_INSERTS = [
    "INSERT INTO agent_sessions",
    "INSERT INTO agent_messages",
    "INSERT INTO message_structure",
]


def test_execute_wrappers_see_an_appends_statements():
    seen = []

    def record(execute, sql_text, params, many, context):
        seen.append(sql_text.strip())
        return execute(sql_text, params, many, context)

    append("wrapped")
    with connection.execute_wrapper(record):
        append("wrapped", [user("Thanks")])

    # PostgreSQL inserts the messages and their structure rows in one statement.
    expected = APPEND_INSERTS if connection.vendor == "sqlite" else APPEND_INSERTS[:1]
    assert _first_words(seen) == expected
    assert len(stored_items("wrapped")) == 4


def test_the_query_log_holds_an_appends_statements():
    append("logged")
    with CaptureQueriesContext(connection) as captured:
        append("logged", [user("Thanks")])

    statements = [query["sql"].strip() for query in captured.captured_queries]
    expected = APPEND_INSERTS if connection.vendor == "sqlite" else APPEND_INSERTS[:1]
    assert _first_words(statements) == expected
    assert statements[-1] == "COMMIT"


def test_a_tool_that_instruments_djangos_cursor_class_sees_an_appends_statements(monkeypatch):
    """As APM agents do: they wrap CursorWrapper.execute, with no execute wrapper or DEBUG."""
    seen = []
    execute = CursorWrapper.execute

    def instrumented(self, sql_text, params=None):
        seen.append(sql_text.strip())
        return execute(self, sql_text, params)

    append("instrumented")
    monkeypatch.setattr(CursorWrapper, "execute", instrumented)
    append("instrumented", [user("Thanks")])
    monkeypatch.undo()

    expected = APPEND_INSERTS if connection.vendor == "sqlite" else APPEND_INSERTS[:1]
    assert _first_words(seen) == expected
    assert len(stored_items("instrumented")) == 4


def _titles() -> dict[str, str | None]:
    return dict(AgentSession.objects.values_list("pk", "title"))


def test_orm_code_and_on_commit_in_a_write_transaction_work_as_in_atomic():
    append("titled")
    committed = []
    with sql.write_transaction("default") as cursor:
        cursor.execute(
            "UPDATE agent_sessions SET title = %s WHERE session_id = %s", ["Orders", "titled"]
        )
        with transaction.atomic():
            AgentSession.objects.create(session_id="created")
        transaction.on_commit(lambda: committed.append(_titles()))
        assert committed == []

    assert committed == [{"titled": "Orders", "created": None}]


def test_a_write_transaction_that_raises_undoes_its_orm_writes_and_drops_on_commit():
    append("titled")
    committed = []
    with pytest.raises(RuntimeError, match="failed"), sql.write_transaction("default") as cursor:
        cursor.execute(
            "UPDATE agent_sessions SET title = %s WHERE session_id = %s", ["Orders", "titled"]
        )
        AgentSession.objects.create(session_id="created")
        transaction.on_commit(lambda: committed.append(_titles()))
        raise RuntimeError("failed")

    assert committed == []
    assert _titles() == {"titled": None}
    assert connection.in_atomic_block is False
