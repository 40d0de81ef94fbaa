"""manage.py backup: an online copy while two agent processes append, checked and recorded."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from analytics import selectors
from convstore.models import AgentMessage, AuditEntry
from tests.test_concurrency import writers_database_url

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
WRITER = PROJECT_DIR / "tests" / "backup_writer.py"
WRITERS = ("agent-a", "agent-b")
# Items each writer has committed before the backup starts.
COMMITTED_FIRST = 25

sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's backup")
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="pg_dump")


def start_writer(session_id: str, stop: Path) -> subprocess.Popen:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "convstore.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": writers_database_url(),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    return subprocess.Popen(
        [sys.executable, str(WRITER), session_id, str(stop)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_items(process: subprocess.Popen, count: int) -> None:
    for _ in range(count):
        line = process.stdout.readline()
        assert line, process.stderr.read()


def committed_items() -> dict[str, list[str]]:
    """Each writer's items as the database holds them now, in order."""
    return {
        session_id: [
            json.loads(data)["content"]
            for data in AgentMessage.objects.filter(session_id=session_id)
            .order_by("id")
            .values_list("message_data", flat=True)
        ]
        for session_id in WRITERS
    }


def backup_while_writing(tmp_path: Path, target: Path) -> tuple[dict, str, list]:
    """Start two writers, let them commit, back up while they go on; what was committed
    before the backup, the command's output, and the writers (still running then)."""
    stop = tmp_path / "stop"
    writers = [start_writer(session_id, stop) for session_id in WRITERS]
    try:
        for writer in writers:
            wait_for_items(writer, COMMITTED_FIRST)
        before = committed_items()
        out = StringIO()
        call_command("backup", str(target), stdout=out)
        still_writing = [writer.poll() is None for writer in writers]
    finally:
        stop.touch()
        results = [writer.communicate(timeout=60) for writer in writers]
    for writer, (_out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
    return before, out.getvalue(), still_writing


def assert_holds_a_prefix_of_each_writer(copied: dict[str, list[str]], before: dict) -> None:
    for session_id in WRITERS:
        held = copied[session_id]
        # Every item committed before the backup began, and what follows is whole turns
        # in order: the database as of one moment.
        assert held[: len(before[session_id])] == before[session_id]
        assert held == [f"{session_id} item {n}" for n in range(len(held))]
        assert len(held) >= COMMITTED_FIRST


@sqlite_only
def test_a_sqlite_backup_while_two_processes_append_is_consistent_and_complete(tmp_path):
    target = tmp_path / "backup.sqlite3"
    before, output, still_writing = backup_while_writing(tmp_path, target)
    assert still_writing == [True, True]  # the agents were writing throughout

    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        copied = {
            session_id: [
                json.loads(row[0])["content"]
                for row in copy.execute(
                    "SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id",
                    [session_id],
                )
            ]
            for session_id in WRITERS
        }
        unstructured = copy.execute(
            "SELECT COUNT(*) FROM agent_messages m WHERE NOT EXISTS"
            " (SELECT 1 FROM message_structure s WHERE s.message_id = m.id)"
        ).fetchone()[0]
    assert_holds_a_prefix_of_each_writer(copied, before)
    assert unstructured == 0
    assert not Path(f"{target}-wal").exists()

    messages = sum(len(items) for items in copied.values())
    counts = dict(line.split() for line in output.splitlines() if line.startswith("  "))
    assert counts["agent_messages"] == f"{messages:,}"
    assert counts["agent_sessions"] == "2" and "convstore_audit" in counts
    assert "integrity_check: ok" in output
    assert f"Backed up to {target}: {target.stat().st_size:,} bytes in " in output
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BACKUP)
    assert (entry.session_id, entry.actor, entry.actor_label) == ("", None, "command")
    assert entry.detail["path"] == str(target) and entry.detail["engine"] == "sqlite"
    assert entry.detail["size"] == target.stat().st_size
    assert isinstance(entry.detail["seconds"], float)
    assert selectors.last_backup_get() == entry


def test_a_backup_never_overwrites_a_file(tmp_path):
    target = tmp_path / "taken.bak"
    target.write_bytes(b"an older backup")
    with pytest.raises(CommandError, match=f"{target} already exists; choose a new file name"):
        call_command("backup", str(target))
    assert target.read_bytes() == b"an older backup"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.BACKUP).exists()
    assert [path.name for path in tmp_path.iterdir()] == ["taken.bak"]


def test_a_backup_into_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("backup", str(tmp_path / "nowhere" / "backup"))


@postgres_only
def test_a_postgresql_backup_while_two_processes_append_restores_complete(tmp_path):
    target = tmp_path / "backup.dump"
    before, output, still_writing = backup_while_writing(tmp_path, target)
    assert still_writing == [True, True]
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert f"Backed up to {target}: {target.stat().st_size:,} bytes" in output
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BACKUP)
    assert entry.detail["engine"] == "postgresql" and entry.actor_label == "command"

    # Restored into a new database, it holds what was committed before it began.
    config = connection.settings_dict
    scratch = f"restore_{uuid.uuid4().hex[:12]}"
    server = {"host": config["HOST"] or "localhost", "port": config["PORT"] or 5432}
    server["user"] = config["USER"]
    with psycopg.connect(dbname=config["NAME"], autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        restore = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--host={server['host']}",
                f"--port={server['port']}",
                f"--username={server['user']}",
                f"--dbname={scratch}",
                str(target),
            ],
            capture_output=True,
            text=True,
        )
        assert restore.returncode == 0, restore.stderr
        with psycopg.connect(dbname=scratch, **server) as restored:
            copied = {
                session_id: [
                    json.loads(row[0])["content"]
                    for row in restored.execute(
                        "SELECT message_data FROM agent_messages WHERE session_id = %s ORDER BY id",
                        [session_id],
                    )
                ]
                for session_id in WRITERS
            }
    finally:
        with psycopg.connect(dbname=config["NAME"], autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    assert_holds_a_prefix_of_each_writer(copied, before)


@postgres_only
def test_without_pg_dump_it_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no pg_dump is
    assert shutil.which("pg_dump") is None
    target = tmp_path / "backup.dump"
    with pytest.raises(CommandError) as error:
        call_command("backup", str(target))
    message = str(error.value)
    assert message.startswith("pg_dump is not on the PATH.")
    assert f"pg_dump --format=custom --file={target} " in message
    assert f"--dbname={connection.settings_dict['NAME']}" in message
    assert not target.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.BACKUP).exists()
