"""Locking, positions, errors and the audit entry the audited writes share."""

import contextlib
import contextvars
import functools
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.utils import timezone

from .. import queries
from ..models import (
    MAIN_BRANCH,
    AuditEntry,
)
from ..queries.sessions import STATE_COLUMNS, STATE_SQL, state_from_row, state_params
from ..sql import fetch


class ConversationError(ValueError):
    """A write that cannot be done as asked; nothing was changed."""


class ConversationInTrash(ConversationError):
    def __init__(self, session_id: str):
        super().__init__(f"Conversation '{session_id}' is in the trash; restore it first")


class ConversationNotFound(ConversationError):
    pass


class ConversationHeld(ConversationError):
    """The conversation is on legal hold: it cannot be purged, by anyone or any policy."""

    def __init__(self, session_id: str):
        super().__init__(
            f"Conversation '{session_id}' is on legal hold and cannot be purged;"
            " lift the hold first"
        )


class TurnTrimmed(ConversationError):
    """A fork from a turn whose user message max_messages deleted."""

    def __init__(self, turn_number: int, branch_id: str, max_messages: int | None):
        kept = f"its newest {max_messages} items" if max_messages else "its newest items"
        super().__init__(
            f"Turn {turn_number} of branch '{branch_id}' was trimmed: the conversation keeps"
            f" {kept} (max_messages). Branch from a later turn"
        )


# The longest branch name a write accepts, from agent code, the dashboard or a file.
BRANCH_NAME_MAX_LENGTH = 200


def check_storable(text: str, what: str) -> None:
    """ConversationError for text PostgreSQL's text type cannot hold; refused on SQLite too."""
    if "\x00" in text:
        raise ConversationError(f"{what} contains a NUL character, which cannot be stored")


def check_session_id(session_id: str) -> None:
    if not isinstance(session_id, str) or not session_id:
        raise ConversationError("session_id must be a non-empty string")
    check_storable(session_id, "session_id")


def check_branch_name(name: str) -> None:
    """ConversationError unless name can name a new branch."""
    if not name.strip():
        raise ConversationError("Branch name cannot be empty")
    if len(name) > BRANCH_NAME_MAX_LENGTH:
        raise ConversationError(
            f"Branch name is {len(name):,} characters long;"
            f" at most {BRANCH_NAME_MAX_LENGTH} are allowed"
        )
    check_storable(name, "Branch name")


@dataclass(frozen=True)
class Position:
    branch_id: str = MAIN_BRANCH
    generation: int = 0


# Where a session object starts: main, before any clear.
ON_MAIN = Position()


@dataclass
class LockedConversation:
    """The conversation row, locked, with what a write needs to know about it."""

    session_id: str
    active_branch_id: str
    generation: int
    deleted_at: Any
    last_sequence: int
    needs_adoption: bool
    # The current (user turn, branch turn) of one branch, read with the lock.
    turns_branch: str = MAIN_BRANCH
    turns: tuple[int, int] = (0, 0)

    def branch_for(self, position: "Position") -> str:
        """The position's branch, or main if the conversation was cleared since it was taken."""
        return position.branch_id if position.generation == self.generation else MAIN_BRANCH


# --- locking ---------------------------------------------------------------


# The statements every append runs, written out once: building them with the ORM
# on each call took several times longer than running them. Table names are the
# SDK's, fixed by design. The conversation's state: queries.conversation_state.
_LOCK_ROW_SQL = "SELECT 1 FROM agent_sessions WHERE session_id = %s FOR UPDATE"

# An append creates the conversation or sets its updated_at, which locks its row.
_UPSERT_SQL = (
    "INSERT INTO agent_sessions (session_id, updated_at) VALUES (%s, %s)"
    " ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at"
)

# SQLite: and reads the state in the same statement (its IMMEDIATE transaction
# took the write lock at BEGIN, so nothing can be stale).
_UPSERT_RETURNING_STATE_SQL = f"{_UPSERT_SQL} RETURNING {STATE_COLUMNS}"

# Rows per INSERT statement: well under SQLite's and PostgreSQL's parameter limits.
ROWS_PER_INSERT = 500


def insert_rows(
    cursor, table: str, columns: tuple[str, ...], rows: list[tuple], *, returning: str = ""
) -> list:
    """Multi-row INSERTs on the cursor; with `returning`, that column's values in the rows' order.

    Returned ids are sorted rather than trusted in RETURNING's order (which
    SQLite leaves unspecified): both databases number one statement's rows in
    VALUES order.
    """
    returned: list = []
    for start in range(0, len(rows), ROWS_PER_INSERT):
        batch = rows[start : start + ROWS_PER_INSERT]
        cursor.execute(
            insert_rows_sql(table, columns, len(batch), returning),
            [value for row in batch for value in row],
        )
        if returning:
            returned += sorted(row[0] for row in cursor.fetchall())
    return returned


@functools.lru_cache(maxsize=256)
def insert_rows_sql(table: str, columns: tuple[str, ...], row_count: int, returning: str) -> str:
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    sql += ", ".join([placeholders] * row_count)
    return sql + f" RETURNING {returning}" if returning else sql


def _hold_row_lock(session_id: str, *, using: str) -> bool:
    """Wait for and take the conversation row's lock, in a statement of its own.

    False when there was no row to lock: the caller must then treat the row as
    missing even if a later statement sees it (its creator committed meanwhile).
    PostgreSQL (READ COMMITTED) evaluates a statement's subqueries on the
    snapshot taken when the statement began, before it waited for the lock, so
    a MAX(sequence_number) read in the locking statement itself can be stale.
    SQLite has no row locks: its IMMEDIATE transaction took the write lock at BEGIN.
    """
    if not connections[using].features.has_select_for_update:
        return True
    return bool(fetch(_LOCK_ROW_SQL, [session_id], using=using))


def _upsert_and_read_state(cursor, session_id: str, turns_of: str, *, using: str) -> dict:
    """Create the conversation or set its updated_at to now, locking its row; its state."""
    connection = connections[using]
    # Stored as the ORM stores timezone.now().
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "sqlite":
        cursor.execute(_UPSERT_RETURNING_STATE_SQL, [session_id, now, turns_of, turns_of])
        return state_from_row(cursor.fetchone())
    # PostgreSQL: the state comes from a statement that starts once the
    # upsert holds the lock (see _hold_row_lock).
    cursor.execute(_UPSERT_SQL, [session_id, now])
    cursor.execute(STATE_SQL, state_params(session_id, turns_of))
    return state_from_row(cursor.fetchone())


def _locked(session_id: str, turns_of: str, state: dict) -> LockedConversation:
    return LockedConversation(
        session_id=session_id,
        active_branch_id=state["active_branch_id"],
        generation=state["generation"],
        deleted_at=state["deleted_at"],
        last_sequence=state["last_sequence"],
        needs_adoption=state["needs_adoption"],
        turns_branch=turns_of,
        turns=state["turns"],
    )


def lock_conversation(
    session_id: str, *, using: str, turns_of: str = MAIN_BRANCH
) -> LockedConversation | None:
    """Lock the conversation row; None if it does not exist.

    The branch turns_of's current turn numbers are read along.
    """
    if not _hold_row_lock(session_id, using=using):
        return None
    state = queries.conversation_state(session_id, turns_of, using=using)
    return _locked(session_id, turns_of, state) if state is not None else None


def lock_conversation_for_append(
    cursor, session_id: str, *, using: str, turns_of: str
) -> LockedConversation:
    """Lock the conversation row for an append, creating the conversation if needed."""
    state = _upsert_and_read_state(cursor, session_id, turns_of, using=using)
    return _locked(session_id, turns_of, state)


def lock_conversations(session_ids, *, using: str) -> None:
    """Lock several conversations' rows, in id order, so that two writers locking
    overlapping sets queue instead of deadlocking."""
    for session_id in sorted(set(session_ids)):
        _hold_row_lock(session_id, using=using)


def lock_existing_conversation(
    session_id: str, *, using: str, allow_trash: bool = False
) -> LockedConversation:
    locked = lock_conversation(session_id, using=using)
    if locked is None:
        raise ConversationNotFound(f"Conversation '{session_id}' does not exist")
    if locked.deleted_at is not None and not allow_trash:
        raise ConversationInTrash(session_id)
    return locked


# What the entries of one bulk action share (its id, action and filter), added
# to each entry the single writes make while it runs, so those writes stay as
# they are whether one conversation or thousands go through them.
_bulk_detail: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "bulk_detail", default=None
)


@contextlib.contextmanager
def bulk_audit(bulk: dict):
    """Every audit entry written inside records `bulk` as its detail's "bulk"."""
    token = _bulk_detail.set(bulk)
    try:
        yield
    finally:
        _bulk_detail.reset(token)


def audit(
    action: str,
    session_id: str,
    *,
    actor=None,
    branch_id: str | None = None,
    using: str,
    actor_label: str | None = None,
    **detail: Any,
) -> AuditEntry:
    if actor_label is None:
        actor_label = "" if actor is not None else "agent"
    bulk = _bulk_detail.get()
    if bulk is not None:
        detail["bulk"] = bulk
    return AuditEntry.objects.using(using).create(
        action=action,
        session_id=session_id,
        branch_id=branch_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        detail=detail,
    )
