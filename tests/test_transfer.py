"""import_agents_db and export_agents_db against files the real Agents SDK writes and reads."""

import asyncio
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from django.apps import apps
from django.core.management import CommandError, call_command

from convstore import conversations, transfer
from convstore.models import AgentSession, AuditEntry, Branch
from convstore.session import DjangoSession
from tests import sdk_files
from tests.sdk_files import read_file, read_ours, run, run_turn, text_turn, tool_turn

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent


def database_rows() -> dict[str, list[dict]]:
    """Every row of every convstore table, to show that a refused command changed nothing."""
    return {
        model._meta.db_table: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("convstore").get_models()
    }


def file_state(path: Path) -> tuple:
    """The file's bytes and mtime, and what lies beside it."""
    if not path.is_file():
        return None, None, sorted(os.listdir(path.parent))
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def command(name: str, path: Path, sessions: tuple[str, ...]) -> str:
    out = StringIO()
    options = [option for session_id in sessions for option in ("--session", session_id)]
    call_command(name, str(path), *options, stdout=out)
    return out.getvalue()


def import_file(path: Path, *sessions: str) -> str:
    return command("import_agents_db", path, sessions)


def export_file(path: Path, *sessions: str) -> str:
    return command("export_agents_db", path, sessions)


@pytest.fixture
def advanced_file(tmp_path) -> Path:
    path = tmp_path / "advanced.sqlite3"
    sdk_files.write_advanced_file(path)
    return path


@pytest.fixture
def plain_file(tmp_path) -> Path:
    path = tmp_path / "plain.sqlite3"
    sdk_files.write_plain_file(path)
    return path


# --- import ------------------------------------------------------------------


def test_advanced_file_reads_the_same_here_after_import(advanced_file):
    output = import_file(advanced_file)

    assert "Imported 'sdk-branching'" in output
    assert "Imported 'sdk-short'" in output
    for session_id in ("sdk-branching", "sdk-short"):
        assert read_ours(session_id) == read_file(advanced_file, session_id)


def test_plain_sqlite_session_file_imports_as_main_with_turns_from_user_messages(plain_file):
    import_file(plain_file)

    async def sdk_items():
        session = sdk_files.SQLiteSession("sdk-plain", plain_file)
        try:
            return await session.get_items()
        finally:
            session.close()

    ours = read_ours("sdk-plain")
    assert ours["main"]["items"] == run(sdk_items())
    assert [branch["branch_id"] for branch in ours["branches"]] == ["main"]
    assert [turn["content"] for turn in ours["main"]["turns"]] == ["Weather in Paris?", "Thanks!"]
    assert ours["main"]["tools"] == [("get_weather", 1, 1)]


def test_second_import_imports_nothing_new(advanced_file):
    import_file(advanced_file)
    rows = database_rows()

    output = import_file(advanced_file)

    assert "0 conversations imported, 2 already here." in output
    assert database_rows() == rows


def test_import_is_audited_as_the_command(advanced_file):
    import_file(advanced_file)

    entries = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)
    assert sorted(entries.values_list("session_id", flat=True)) == ["sdk-branching", "sdk-short"]
    assert {entry.who for entry in entries} == {"command"}
    assert entries.get(session_id="sdk-short").detail == {
        "source": advanced_file.name,
        "messages": 2,
        "branches": 1,
        "usage_rows": 1,
    }


def test_session_option_imports_only_the_named_conversations(advanced_file, plain_file):
    output = import_file(advanced_file, "sdk-short", "sdk-short")

    assert "1 conversation imported" in output
    assert list(AgentSession.objects.values_list("pk", flat=True)) == ["sdk-short"]
    import_file(advanced_file, "sdk-branching", "sdk-short")
    assert AgentSession.objects.count() == 2


def test_deleted_branch_name_stays_reserved_after_import(advanced_file):
    import_file(advanced_file)

    assert Branch.objects.get(session_id="sdk-branching", branch_id="gone").deleted_at is not None
    with pytest.raises(ValueError, match="already been used"):
        run(DjangoSession("sdk-branching").create_branch_from_turn(2, "gone"))


def test_import_leaves_the_file_and_its_directory_untouched(advanced_file):
    before = file_state(advanced_file)

    import_file(advanced_file)
    import_file(advanced_file)

    assert file_state(advanced_file) == before


def test_imported_conversation_continues_here(advanced_file):
    import_file(advanced_file)
    session = DjangoSession("sdk-branching")

    run(run_turn(session, "And tomorrow?", text_turn("Sunny again.")))

    turns = run(session.get_conversation_turns())
    assert [turn["turn"] for turn in turns] == [1, 2, 3, 4]
    assert run(session.get_turn_usage(4))["total_tokens"] == 95


# --- refusals ----------------------------------------------------------------


def write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def bad_files(tmp_path: Path, advanced: Path) -> dict[str, Path]:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("INSERT INTO notes (body) VALUES ('hello')")
    connection.close()
    content = advanced.read_bytes()
    return {
        "missing": tmp_path / "missing.sqlite3",
        "empty": write_bytes(tmp_path / "empty.sqlite3", b""),
        "not SQLite": write_bytes(tmp_path / "notes.txt", b"just some text\n" * 100),
        "truncated": write_bytes(tmp_path / "truncated.sqlite3", content[: len(content) // 2]),
        "header only": write_bytes(tmp_path / "header.sqlite3", content[:100]),
        "wrong schema": other,
        "a directory": tmp_path,
    }


@pytest.mark.parametrize(
    "kind",
    ["missing", "empty", "not SQLite", "truncated", "header only", "wrong schema", "a directory"],
)
def test_bad_file_is_refused_and_nothing_changes(tmp_path, advanced_file, kind):
    import_file(advanced_file, "sdk-short")
    path = bad_files(tmp_path, advanced_file)[kind]
    rows, before = database_rows(), file_state(path)

    with pytest.raises(CommandError, match="Nothing imported"):
        import_file(path)

    assert database_rows() == rows
    assert file_state(path) == before


def test_unknown_session_is_refused_and_nothing_is_imported(advanced_file):
    with pytest.raises(CommandError, match="holds no conversation 'nope'"):
        import_file(advanced_file, "sdk-short", "nope")

    assert not AgentSession.objects.exists()


def test_conversation_here_with_other_content_is_refused_and_nothing_is_imported(advanced_file):
    conversations.append_items(
        session_id="sdk-short", items=[{"role": "user", "content": "Something else"}]
    )
    rows, before = database_rows(), file_state(advanced_file)

    with pytest.raises(CommandError, match="'sdk-short' already exists here with different"):
        import_file(advanced_file)

    assert database_rows() == rows
    assert not AgentSession.objects.filter(pk="sdk-branching").exists()
    assert file_state(advanced_file) == before


def test_command_exits_non_zero_on_a_bad_file(tmp_path):
    bad = write_bytes(tmp_path / "bad.sqlite3", b"not a database")
    env = {
        **os.environ,
        "SECRET_KEY": "tests",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "import_agents_db", str(bad)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "is not a SQLite database" in result.stderr


# --- export ------------------------------------------------------------------


def write_our_conversation(session_id: str = "ours") -> DjangoSession:
    """Through DjangoSession and the real Runner: branches, usage, a deleted branch."""
    session = DjangoSession(session_id)
    run(sdk_files.branching_conversation(session))
    return session


def test_export_reads_the_same_in_the_sdk_with_or_without_create_tables(tmp_path):
    write_our_conversation()
    path = tmp_path / "export.sqlite3"

    output = export_file(path)

    assert "Exported 'ours'" in output
    ours = read_ours("ours")
    assert ours["alt"]["turn_usage"] and ours["main"]["turn_usage"]
    assert read_file(path, "ours") == ours
    assert read_file(path, "ours", create_tables=True) == ours


def test_sdk_continues_an_exported_conversation(tmp_path):
    write_our_conversation()
    path = tmp_path / "export.sqlite3"
    export_file(path)

    async def continue_in_sdk():
        session = AdvancedSQLiteSession(session_id="ours", db_path=path)
        try:
            await run_turn(session, "One more?", tool_turn("Lima"))
            branch = await session.create_branch_from_turn(4, "later")
            await run_turn(session, "Or Quito?", text_turn("Also sunny."))
            with pytest.raises(ValueError, match="already been used"):
                await session.create_branch_from_turn(2, "gone")
            return branch, await sdk_files.sdk_reads(session)
        finally:
            session.close()

    branch, reads = asyncio.run(continue_in_sdk())

    assert branch == "later"
    assert [turn["turn"] for turn in reads["main"]["turns"]] == [1, 2, 3, 4]
    assert reads["main"]["turn_usage"][-1]["user_turn_number"] == 4
    assert [turn["content"] for turn in reads["later"]["turns"]][-1] == "Or Quito?"
    assert {branch["branch_id"] for branch in reads["branches"]} == {"main", "alt", "later"}


def test_exported_schema_is_the_sdks_own(tmp_path):
    write_our_conversation()
    exported, fresh = tmp_path / "export.sqlite3", tmp_path / "fresh.sqlite3"
    export_file(exported)
    AdvancedSQLiteSession(session_id="x", db_path=fresh, create_tables=True).close()

    def schema(path: Path) -> dict:
        with sqlite3.connect(path) as connection:
            objects = connection.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
            ).fetchall()
            keys = {
                table: connection.execute(f"PRAGMA foreign_key_list({table})").fetchall()
                for _, table, *_ in objects
                if _ == "table"
            }
        connection.close()
        return {"objects": objects, "foreign_keys": keys}

    assert schema(exported) == schema(fresh)
    assert not Path(f"{exported}-wal").exists()


def test_export_then_import_into_the_same_database_imports_nothing(tmp_path):
    write_our_conversation()
    path = tmp_path / "export.sqlite3"
    export_file(path)
    rows = database_rows()

    assert "0 conversations imported, 1 already here." in import_file(path)
    assert database_rows() == rows


def test_export_refuses_an_existing_file_unknown_or_trashed_conversations(tmp_path):
    write_our_conversation()
    existing = write_bytes(tmp_path / "existing.sqlite3", b"keep me")
    conversations.append_items(session_id="binned", items=[{"role": "user", "content": "x"}])
    conversations.trash(session_id="binned")

    with pytest.raises(CommandError, match="already exists"):
        export_file(existing)
    with pytest.raises(CommandError, match="No conversation 'nope'"):
        export_file(tmp_path / "a.sqlite3", "nope")
    with pytest.raises(CommandError, match="No conversation 'binned'"):
        export_file(tmp_path / "b.sqlite3", "binned")

    assert existing.read_bytes() == b"keep me"
    assert sorted(os.listdir(tmp_path)) == ["existing.sqlite3"]


def test_export_of_all_leaves_out_the_trash(tmp_path):
    write_our_conversation()
    conversations.append_items(session_id="binned", items=[{"role": "user", "content": "x"}])
    conversations.trash(session_id="binned")
    path = tmp_path / "all.sqlite3"

    export_file(path)

    with sqlite3.connect(path) as connection:
        ids = connection.execute("SELECT session_id FROM agent_sessions").fetchall()
    connection.close()
    assert ids == [("ours",)]


def test_one_conversation_exports_to_bytes_for_a_download(tmp_path):
    write_our_conversation()
    write_our_conversation("other")

    content = transfer.export_conversation_sqlite("ours")

    path = write_bytes(tmp_path / "download.sqlite3", content)
    assert content.startswith(b"SQLite format 3\x00")
    assert read_file(path, "ours") == read_ours("ours")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT session_id FROM agent_sessions").fetchall() == [("ours",)]
    connection.close()


def corrupt(path: Path, *statements: tuple[str, list]) -> Path:
    with sqlite3.connect(path) as connection:
        for sql, params in statements:
            connection.execute(sql, params)
    connection.close()
    return path


def rename_conversation(old: str, new: str) -> list[tuple[str, list]]:
    tables = ("agent_sessions", "agent_messages", "message_structure", "turn_usage")
    return [
        (f"UPDATE {table} SET session_id = ? WHERE session_id = ?", [new, old]) for table in tables
    ]


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        pytest.param(
            [
                (
                    "UPDATE agent_messages SET message_data = ? WHERE id = ("
                    "SELECT MIN(id) FROM agent_messages WHERE session_id = 'sdk-branching')",
                    ['{"role": "user", "content": "a\x00b"}'],
                )
            ],
            r"Conversation 'sdk-branching': Message \d+ contains a NUL character",
            id="a NUL in a message",
        ),
        pytest.param(
            rename_conversation("sdk-branching", "sdk\x00branching"),
            r"Conversation 'sdk\\x00branching': session_id contains a NUL character",
            id="a NUL in a session id",
        ),
        pytest.param(
            [
                (
                    "UPDATE message_structure SET branch_id = ? WHERE branch_id != 'main'",
                    ["b" * 201],
                ),
                ("UPDATE turn_usage SET branch_id = ? WHERE branch_id != 'main'", ["b" * 201]),
            ],
            "Conversation 'sdk-branching': Branch name is 201 characters long",
            id="a branch name over the limit",
        ),
    ],
)
def test_a_file_holding_what_cannot_be_stored_is_refused_naming_the_conversation(
    advanced_file, statements, message
):
    corrupt(advanced_file, *statements)

    with pytest.raises(CommandError, match=f"Nothing imported: {message}"):
        import_file(advanced_file)

    assert not AgentSession.objects.exists()
