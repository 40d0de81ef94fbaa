"""Reading the SDK's own SQLite files, read-only, and importing them."""

import datetime
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from .. import conversations, encryption
from .. import items as sdk_items
from ..models import (
    SDK_COLUMNS,
)

SQLITE_HEADER = b"SQLite format 3\x00"

# The columns an SDK file must have for us to read it.
BASE_COLUMNS = {table: set(SDK_COLUMNS[table]) for table in ("agent_sessions", "agent_messages")}
STRUCTURE_COLUMNS = {
    table: set(SDK_COLUMNS[table]) for table in ("message_structure", "turn_usage")
}


class TransferError(ValueError):
    """A file that cannot be imported or written as asked; nothing was changed."""


@dataclass
class SdkMessage:
    """A message of an SDK file; an encrypted one, once opened, in plaintext with
    the time it was sealed."""

    id: int
    data: str
    created_at: datetime.datetime
    sealed_at: int | None = None


@dataclass
class SdkStructureRow:
    message_id: int
    branch_id: str
    message_type: str
    sequence_number: int
    user_turn_number: int | None
    branch_turn_number: int | None
    tool_name: str | None
    created_at: datetime.datetime


@dataclass
class SdkUsageRow:
    branch_id: str
    user_turn_number: int
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: Any
    output_tokens_details: Any
    created_at: datetime.datetime


@dataclass
class SdkConversation:
    """One conversation of an SDK file. structure is None for a SQLiteSession file.

    derive_structure: the structure rows' kinds, tools and turns are to be
    derived from the items, as the SDK recorded them over envelopes it could
    not read (every row 'other', turn 0): only branches and order are kept.
    """

    session_id: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    messages: list[SdkMessage]
    structure: list[SdkStructureRow] | None
    usage: list[SdkUsageRow] = field(default_factory=list)
    reserved_branches: set[str] = field(default_factory=set)
    clear_generation: int = 0
    derive_structure: bool = False


def _parse_time(value: Any) -> datetime.datetime:
    """An SDK timestamp ('YYYY-MM-DD HH:MM:SS', UTC) as an aware datetime."""
    try:
        parsed = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.datetime.now(datetime.UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _parse_details(value: Any) -> Any:
    """Token details as the SDK reads them back: parsed JSON, or None."""
    if not value:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise TransferError(f"{path} does not exist")
    if not path.is_file():
        raise TransferError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise TransferError(f"{path} is empty")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise TransferError(f"{path} is not a SQLite database")


@contextmanager
def _open_read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection that changes nothing, not even beside the file.

    Without a -wal file beside it the file holds everything, and immutable=1
    keeps SQLite from creating -wal and -shm files for a database in WAL mode.
    With one (an SDK writer still open, or one that crashed), SQLite has to
    read the WAL too.
    """
    wal = path.with_name(path.name + "-wal")
    options = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True)
    except sqlite3.Error as exc:
        raise TransferError(f"{path} cannot be opened: {exc}") from exc
    with closing(connection):
        try:
            yield connection
        except sqlite3.DatabaseError as exc:
            raise TransferError(f"{path} is not a readable SDK database: {exc}") from exc


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _check_schema(connection: sqlite3.Connection, path: Path) -> set[str]:
    """The optional SDK tables present; TransferError when the file is damaged or foreign."""
    check = connection.execute("PRAGMA quick_check").fetchone()
    if not check or check[0] != "ok":
        raise TransferError(f"{path} is damaged: {check[0] if check else 'no answer'}")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    for table, required in BASE_COLUMNS.items():
        if table not in tables:
            raise TransferError(f"{path} is not an Agents SDK session database (no {table} table)")
        missing = required - _columns(connection, table)
        if missing:
            raise TransferError(f"{path}: table {table} lacks {', '.join(sorted(missing))}")
    for table, required in STRUCTURE_COLUMNS.items():
        if table in tables and required - _columns(connection, table):
            missing = ", ".join(sorted(required - _columns(connection, table)))
            raise TransferError(f"{path}: table {table} lacks {missing}")
    return tables


def _read_structure(connection, session_id: str) -> list[SdkStructureRow]:
    rows = connection.execute(
        "SELECT message_id, branch_id, message_type, sequence_number, user_turn_number,"
        " branch_turn_number, tool_name, created_at FROM message_structure"
        " WHERE session_id = ? ORDER BY sequence_number, id",
        (session_id,),
    )
    return [SdkStructureRow(*row[:7], created_at=_parse_time(row[7])) for row in rows]


def _read_usage(connection, session_id: str) -> list[SdkUsageRow]:
    rows = connection.execute(
        "SELECT branch_id, user_turn_number, requests, input_tokens, output_tokens,"
        " total_tokens, input_tokens_details, output_tokens_details, created_at"
        " FROM turn_usage WHERE session_id = ? ORDER BY branch_id, user_turn_number",
        (session_id,),
    )
    return [
        SdkUsageRow(
            branch_id=branch_id,
            user_turn_number=turn,
            requests=requests or 0,
            input_tokens=input_tokens or 0,
            output_tokens=output_tokens or 0,
            total_tokens=total_tokens or 0,
            input_tokens_details=_parse_details(input_details),
            output_tokens_details=_parse_details(output_details),
            created_at=_parse_time(created_at),
        )
        for (
            branch_id,
            turn,
            requests,
            input_tokens,
            output_tokens,
            total_tokens,
            input_details,
            output_details,
            created_at,
        ) in rows
    ]


def _read_conversation(connection, tables: set[str], row: tuple) -> SdkConversation:
    session_id, created_at, updated_at = row
    messages = [
        SdkMessage(id=message_id, data=data, created_at=_parse_time(at))
        for message_id, data, at in connection.execute(
            "SELECT id, message_data, created_at FROM agent_messages"
            " WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
    ]
    structure = None
    if "message_structure" in tables:
        # A conversation an AdvancedSQLiteSession wrote has structure rows; one a
        # plain SQLiteSession wrote into the same file has none.
        structure = _read_structure(connection, session_id) or None
    conversation = SdkConversation(
        session_id=session_id,
        created_at=_parse_time(created_at),
        updated_at=_parse_time(updated_at),
        messages=messages,
        structure=structure,
    )
    if "turn_usage" in tables:
        conversation.usage = _read_usage(connection, session_id)
    if "branch_reservations" in tables:
        conversation.reserved_branches = {
            name
            for (name,) in connection.execute(
                "SELECT branch_id FROM branch_reservations WHERE session_id = ?", (session_id,)
            )
        }
    if "session_clear_generations" in tables:
        generation = connection.execute(
            "SELECT generation FROM session_clear_generations WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        conversation.clear_generation = generation[0] if generation else 0
    return conversation


def read_sdk_database(path: str | Path, session_ids: Iterable[str] = ()) -> list[SdkConversation]:
    """Every conversation of an SDK SQLite file (or only those named), read-only."""
    path = Path(path)
    _check_file(path)
    wanted = list(dict.fromkeys(session_ids))
    with _open_read_only(path) as connection:
        tables = _check_schema(connection, path)
        rows = connection.execute(
            "SELECT session_id, created_at, updated_at FROM agent_sessions"
            " ORDER BY created_at, rowid"
        ).fetchall()
        found = {row[0]: row for row in rows}
        missing = [session_id for session_id in wanted if session_id not in found]
        if missing:
            raise TransferError(f"{path} holds no conversation {', '.join(map(repr, missing))}")
        chosen = [found[session_id] for session_id in wanted] if wanted else rows
        return [_read_conversation(connection, tables, row) for row in chosen]


@dataclass
class ImportReport:
    imported: dict[str, dict[str, int]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


def _is_encrypted(message: SdkMessage) -> bool:
    return encryption.is_envelope(sdk_items.decode_item(message.data))


def _open_items(conversation: SdkConversation, keys: tuple[str, ...], none_opens: str) -> None:
    """Every envelope of the conversation replaced by its item, with its sealing time."""
    for message in conversation.messages:
        if not _is_encrypted(message):
            continue
        try:
            message.data, message.sealed_at = encryption.open_envelope(
                conversation.session_id, message.data, keys=keys
            )
        except encryption.UnreadableItem:
            raise TransferError(
                f"Conversation {conversation.session_id!r} holds an item that {none_opens}"
            ) from None
    conversation.derive_structure = conversation.structure is not None


def open_encrypted_items(
    found: list[SdkConversation], path: Path, *, key: str | None = None
) -> None:
    """Open the envelopes of an SDK file written through the SDK's EncryptedSession.

    With key, the file's master key; without, this server's keys. Items are
    opened here and sealed again by the import under this server's newest key,
    so a file under one key imports into a server under another. A server with
    no keys would store them in plaintext: TransferError instead.
    """
    encrypted = [c for c in found if any(_is_encrypted(message) for message in c.messages)]
    if not encrypted:
        return
    if not encryption.enabled():
        raise TransferError(
            f"{path.name} holds encrypted items (conversation {encrypted[0].session_id!r}),"
            f" and this server would store them in plaintext: set {encryption.SETTING} first"
        )
    keys = (key,) if key else encryption.master_keys()
    none_opens = "the given key does not open" if key else f"no key of {encryption.SETTING} opens"
    for conversation in encrypted:
        _open_items(conversation, keys, none_opens)


def import_sdk_database(
    path: str | Path,
    session_ids: Iterable[str] = (),
    *,
    key: str | None = None,
    actor=None,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportReport:
    """Import an SDK file's conversations, all or nothing.

    Items the SDK's EncryptedSession wrote are opened with key (the file's
    master key), else with this server's keys (see open_encrypted_items).
    Conversations already here with the same content are left as they are;
    one here with different content raises ConversationError and nothing is
    imported.
    """
    found = read_sdk_database(path, session_ids)
    open_encrypted_items(found, Path(path), key=key)
    report = ImportReport()
    source = Path(path).name
    with transaction.atomic(using=using):
        for conversation in found:
            counts = conversations.import_conversation(
                conversation=conversation,
                source=source,
                actor=actor,
                actor_label="" if actor is not None else "command",
                using=using,
            )
            if counts is None:
                report.unchanged.append(conversation.session_id)
            else:
                report.imported[conversation.session_id] = counts
    return report
