"""Writing conversations to new SQLite files in the SDK's own schema."""

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .. import conversations, encryption
from ..models import (
    MAIN_BRANCH,
    SDK_COLUMNS,
    AgentMessage,
    AgentSession,
    Branch,
    MessageStructure,
    TurnUsage,
)
from ..queries import sdk_timestamp
from .reading import TransferError


def _create_sdk_schema(path: Path, session_id: str) -> None:
    """Let the SDK create its own tables, indexes and foreign keys in a new file."""
    AdvancedSQLiteSession(session_id=session_id, db_path=path, create_tables=True).close()


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _dumps(value: Any) -> str | None:
    return json.dumps(value) if value is not None else None


def _session_rows(session_ids: list[str], using: str) -> Iterator[tuple]:
    rows = (
        AgentSession.objects.using(using)
        .filter(pk__in=session_ids)
        .order_by("created_at", "pk")
        .values_list("session_id", "created_at", "updated_at")
    )
    for session_id, created_at, updated_at in rows:
        yield session_id, sdk_timestamp(created_at), sdk_timestamp(updated_at)


def _message_rows(session_ids: list[str], using: str, *, decrypt: bool = False) -> Iterator[tuple]:
    rows = (
        AgentMessage.objects.using(using)
        .filter(session_id__in=session_ids)
        .order_by("id")
        .values_list(*SDK_COLUMNS["agent_messages"])
    )
    for message_id, session_id, data, created_at in rows.iterator(chunk_size=2000):
        text = encryption.exported_text(session_id, data, decrypt=decrypt)
        yield message_id, session_id, text, sdk_timestamp(created_at)


def _structure_rows(session_ids: list[str], using: str) -> Iterator[tuple]:
    rows = (
        MessageStructure.objects.using(using)
        .filter(session_id__in=session_ids)
        .order_by("id")
        .values_list(*SDK_COLUMNS["message_structure"])
    )
    for row in rows.iterator(chunk_size=2000):
        yield (*row[:-1], sdk_timestamp(row[-1]))


def _usage_rows(session_ids: list[str], using: str) -> Iterator[tuple]:
    rows = (
        TurnUsage.objects.using(using)
        .filter(session_id__in=session_ids)
        .order_by("id")
        .values_list(*SDK_COLUMNS["turn_usage"])
    )
    for row in rows.iterator(chunk_size=2000):
        yield (*row[:8], _dumps(row[8]), _dumps(row[9]), sdk_timestamp(row[10]))


def _reservation_rows(session_ids: list[str], using: str) -> set[tuple[str, str]]:
    """Every branch name used, deleted ones included: the SDK never reuses a name."""
    names = {(session_id, MAIN_BRANCH) for session_id in session_ids}
    names |= set(
        Branch.objects.using(using)
        .filter(session_id__in=session_ids)
        .values_list("session_id", "branch_id")
    )
    names |= set(
        MessageStructure.objects.using(using)
        .filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id", "branch_id")
        .distinct()
    )
    return names


def _generation_rows(session_ids: list[str], using: str) -> list[tuple[str, int]]:
    return list(
        AgentSession.objects.using(using)
        .filter(pk__in=session_ids)
        .values_list("session_id", "clear_generation")
    )


INSERTS = (
    (
        "INSERT INTO agent_sessions (session_id, created_at, updated_at) VALUES (?, ?, ?)",
        _session_rows,
    ),
    (
        "INSERT INTO agent_messages (id, session_id, message_data, created_at) VALUES (?, ?, ?, ?)",
        _message_rows,
    ),
    (
        "INSERT INTO message_structure (id, session_id, message_id, branch_id, message_type,"
        " sequence_number, user_turn_number, branch_turn_number, tool_name, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _structure_rows,
    ),
    (
        "INSERT INTO turn_usage (id, session_id, branch_id, user_turn_number, requests,"
        " input_tokens, output_tokens, total_tokens, input_tokens_details,"
        " output_tokens_details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _usage_rows,
    ),
    ("INSERT INTO branch_reservations (session_id, branch_id) VALUES (?, ?)", _reservation_rows),
    (
        "INSERT INTO session_clear_generations (session_id, generation) VALUES (?, ?)",
        _generation_rows,
    ),
)


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One view of the tables for all the reads inside, while agents keep writing.

    Otherwise a turn appended between reading messages and reading structure
    would leave rows in the file that point at messages it lacks.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _fill(path: Path, session_ids: list[str], using: str, decrypt: bool) -> None:
    with closing(sqlite3.connect(path)) as connection:
        with connection:
            # The SDK registered the session it was opened with; ours come next.
            connection.execute("DELETE FROM session_clear_generations")
            for chunk in _chunks(session_ids):
                with _snapshot(using):
                    for statement, rows in INSERTS:
                        options = {"decrypt": decrypt} if rows is _message_rows else {}
                        connection.executemany(statement, rows(chunk, using, **options))
        # One self-contained file, no -wal beside it; the SDK turns WAL back on.
        connection.execute("PRAGMA journal_mode=DELETE")


def exportable_ids(session_ids: Iterable[str] = (), *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The conversations to export: those named (which must exist, out of the trash),
    else every conversation not in the trash."""
    wanted = list(dict.fromkeys(session_ids))
    live = AgentSession.objects.using(using).filter(deleted_at__isnull=True)
    if not wanted:
        return list(live.order_by("created_at", "pk").values_list("pk", flat=True))
    found = set(live.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [session_id for session_id in wanted if session_id not in found]
    if missing:
        raise TransferError(
            f"No conversation {', '.join(map(repr, missing))} (or it is in the trash)"
        )
    return wanted


def export_sdk_database(
    path: str | Path,
    session_ids: Iterable[str] = (),
    *,
    decrypt: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[str]:
    """Write conversations to a new SQLite file in the SDK's schema; returns their ids.

    With encryption keys set the items stay encrypted, each under the newest
    key, for the SDK's EncryptedSession; decrypt writes them in plaintext
    (TransferError, and no file, when an item opens with no key here). See
    encryption.exported_text. The file appears only once complete: it is
    written beside its final name and renamed. An existing file is never
    overwritten.
    """
    path = Path(path)
    if path.exists():
        raise TransferError(f"{path} already exists; choose a new file name")
    if not path.parent.is_dir():
        raise TransferError(f"{path.parent} is not a directory")
    ids = exportable_ids(session_ids, using=using)
    for session_id in ids:
        # Messages an SDK writer added without structure rows count as main.
        conversations.adopt_unstructured_messages(session_id=session_id, using=using)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    partial = Path(partial)
    try:
        partial.unlink()
        _create_sdk_schema(partial, ids[0] if ids else "export")
        try:
            _fill(partial, ids, using, decrypt)
        except encryption.UnreadableItem as exc:
            raise TransferError(f"{exc}; nothing was written") from None
        try:
            # A hard link, unlike a rename, never replaces a file created meanwhile.
            os.link(partial, path)
        except FileExistsError:
            raise TransferError(f"{path} already exists; choose a new file name") from None
    finally:
        for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return ids


def export_sqlite_bytes(
    session_ids: Iterable[str], *, decrypt: bool = False, using: str = DEFAULT_DB_ALIAS
) -> bytes:
    """Conversations as the bytes of an SDK SQLite file, for a download."""
    session_ids = list(session_ids)
    if not session_ids:
        raise TransferError("No conversation chosen")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "conversations.sqlite3"
        export_sdk_database(path, session_ids, decrypt=decrypt, using=using)
        return path.read_bytes()


def export_conversation_sqlite(
    session_id: str, *, decrypt: bool = False, using: str = DEFAULT_DB_ALIAS
) -> bytes:
    """One conversation as the bytes of an SDK SQLite file (the dashboard's download):
    encrypted with keys set (see export_sdk_database), or in plaintext with decrypt."""
    return export_sqlite_bytes([session_id], decrypt=decrypt, using=using)
