"""Appending, popping and clearing a conversation's items."""

import functools
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .. import encryption
from .. import items as sdk_items
from ..models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from ..sql import cursor as fixed_sql_cursor
from ..sql import write_transaction
from .base import (
    ON_MAIN,
    ROWS_PER_INSERT,
    ConversationInTrash,
    LockedConversation,
    Position,
    audit,
    insert_rows,
    lock_conversation,
    lock_conversation_for_append,
)


def _lock_for_agent(
    cursor, session_id: str, position: Position, *, using: str
) -> tuple[LockedConversation, str]:
    """Lock (creating) for an agent-side write; returns the row and the branch to write."""
    locked = lock_conversation_for_append(
        cursor, session_id, using=using, turns_of=position.branch_id
    )
    if locked.deleted_at is not None:
        raise ConversationInTrash(session_id)
    if locked.needs_adoption:
        _adopt_unstructured_on(cursor, locked)
    return locked, locked.branch_for(position)


# --- appending ---------------------------------------------------------------


class Placement(NamedTuple):
    """Where a new item goes: the message_structure columns an append works out for it."""

    branch_id: str
    message_type: str
    sequence_number: int
    user_turn_number: int
    branch_turn_number: int
    tool_name: str | None


# The columns an insert fills (the database gives ids and created_at): a message's
# conversation and data; a structure row's conversation and message, then its placement.
MESSAGE_INSERT_COLUMNS = ("session_id", "message_data")
STRUCTURE_INSERT_COLUMNS = ("session_id", "message_id", *Placement._fields)


# A branch's current turn numbers (see queries.conversation_state).
_BRANCH_TURNS_SQL = """
    SELECT user_turn_number, branch_turn_number FROM message_structure
    WHERE session_id = %s AND branch_id = %s
    ORDER BY sequence_number DESC LIMIT 1
"""


def _branch_turns(cursor, session_id: str, branch_id: str) -> tuple[int, int]:
    """(user turn, branch turn) the branch is at: its newest row's (their MAX)."""
    cursor.execute(_BRANCH_TURNS_SQL, [session_id, branch_id])
    newest = cursor.fetchone()
    turn, branch_turn = newest if newest else (0, 0)
    return turn or 0, branch_turn or 0


def _place(cursor, locked: LockedConversation, branch_id: str, decoded: list) -> list[Placement]:
    """Where each new item goes at the end of the branch."""
    if branch_id == locked.turns_branch:
        turn, branch_turn = locked.turns
    else:
        turn, branch_turn = _branch_turns(cursor, locked.session_id, branch_id)
    placed = []
    for offset, item in enumerate(decoded, start=1):
        if sdk_items.is_user_message(item):
            turn, branch_turn = turn + 1, branch_turn + 1
        placed.append(
            Placement(
                branch_id=branch_id,
                message_type=sdk_items.message_type(item),
                sequence_number=locked.last_sequence + offset,
                user_turn_number=turn,
                branch_turn_number=branch_turn,
                tool_name=sdk_items.tool_name(item),
            )
        )
    locked.last_sequence += len(placed)
    locked.turns_branch, locked.turns = branch_id, (turn, branch_turn)
    return placed


def _insert(
    cursor,
    locked: LockedConversation,
    branch_id: str,
    encoded: list[str],
    decoded: list,
    *,
    using: str,
):
    """Insert messages and their structure rows at the end of a branch.

    created_at is left to the columns' database default (Now()), as bulk_create does.
    """
    session_id = locked.session_id
    placed = _place(cursor, locked, branch_id, decoded)
    if connections[using].vendor == "postgresql":
        _insert_together(cursor, session_id, encoded, placed)
        return
    message_ids = insert_rows(
        cursor,
        "agent_messages",
        MESSAGE_INSERT_COLUMNS,
        [(session_id, data) for data in encoded],
        returning="id",
    )
    rows = [
        (session_id, message_id, *place)
        for message_id, place in zip(message_ids, placed, strict=True)
    ]
    insert_rows(cursor, "message_structure", STRUCTURE_INSERT_COLUMNS, rows)


# PostgreSQL: the messages and their structure rows in one statement, one round
# trip. The k-th smallest new id is the k-th message: one INSERT numbers its
# rows in VALUES order (as insert_rows relies on too). The placements join by
# position, their columns named as Placement's fields.
_INSERT_TOGETHER_TEMPLATE = """
    WITH inserted AS (
        INSERT INTO agent_messages (session_id, message_data) VALUES {messages} RETURNING id
    ), numbered AS (
        SELECT id, row_number() OVER (ORDER BY id) AS position FROM inserted
    )
    INSERT INTO message_structure ({structure_columns})
    SELECT %s, numbered.id, {placed_columns} FROM numbered
    JOIN (VALUES {placed}) AS placed (position, {placed_columns})
        ON placed.position = numbered.position
    ORDER BY numbered.position
"""
# The casts keep the parameter types, and so the prepared statement, the same
# from call to call.
_INTEGER_PLACED_COLUMNS = {"position", "sequence_number", "user_turn_number", "branch_turn_number"}
_PLACED_ROW = (
    "("
    + ", ".join(
        "%s::integer" if column in _INTEGER_PLACED_COLUMNS else "%s"
        for column in ("position", *Placement._fields)
    )
    + ")"
)


@functools.lru_cache(maxsize=ROWS_PER_INSERT)
def insert_together_sql(row_count: int) -> str:
    return _INSERT_TOGETHER_TEMPLATE.format(
        messages=", ".join(["(%s, %s)"] * row_count),
        structure_columns=", ".join(STRUCTURE_INSERT_COLUMNS),
        placed_columns=", ".join(Placement._fields),
        placed=", ".join([_PLACED_ROW] * row_count),
    )


def _insert_together(cursor, session_id: str, encoded: list[str], placed: list[Placement]):
    for start in range(0, len(encoded), ROWS_PER_INSERT):
        messages = encoded[start : start + ROWS_PER_INSERT]
        places = placed[start : start + ROWS_PER_INSERT]
        params = [value for data in messages for value in (session_id, data)]
        params.append(session_id)
        for position, place in enumerate(places, start=1):
            params += (position, *place)
        cursor.execute(insert_together_sql(len(messages)), params)


# Messages an SDK writer added without structure rows, oldest first.
_UNSTRUCTURED_SQL = """
    SELECT m.id, m.message_data FROM agent_messages m
    WHERE m.session_id = %s
    AND NOT EXISTS (SELECT 1 FROM message_structure u WHERE u.message_id = m.id)
    ORDER BY m.id
"""


def adopt_unstructured_holding_lock(locked: LockedConversation, *, using: str) -> None:
    """Give messages written without structure rows their place at the end of main."""
    with fixed_sql_cursor(using) as cursor:
        _adopt_unstructured_on(cursor, locked)


def _adopt_unstructured_on(cursor, locked: LockedConversation) -> None:
    cursor.execute(_UNSTRUCTURED_SQL, [locked.session_id])
    unstructured = cursor.fetchall()
    decoded = [encryption.item_for_structure(locked.session_id, data) for _id, data in unstructured]
    placed = _place(cursor, locked, MAIN_BRANCH, decoded)
    rows = [
        (locked.session_id, message_id, *place)
        for (message_id, _data), place in zip(unstructured, placed, strict=True)
    ]
    insert_rows(cursor, "message_structure", STRUCTURE_INSERT_COLUMNS, rows)
    locked.needs_adoption = False


def adopt_unstructured_messages(*, session_id: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Structure the messages an SDK writer added without structure rows (branch main)."""
    with transaction.atomic(using=using):
        locked = lock_conversation(session_id, using=using)
        if locked is not None and locked.needs_adoption:
            adopt_unstructured_holding_lock(locked, using=using)


def check_max_messages(max_messages) -> None:
    if max_messages is not None and (
        not isinstance(max_messages, int) or isinstance(max_messages, bool) or max_messages < 1
    ):
        raise ValueError(
            f"max_messages must be a positive whole number or None, not {max_messages!r}"
        )


def append_items(
    *,
    session_id: str,
    items: list,
    position: Position = ON_MAIN,
    max_messages: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Position:
    """Append items to the end of the position's branch; returns the position written.

    With max_messages, the branch then keeps its newest max_messages items: the
    older ones are deleted in the same transaction (see _trim).
    """
    check_max_messages(max_messages)
    if not isinstance(items, list | tuple):
        raise sdk_items.InvalidItem(f"items must be a list, not {type(items).__name__}")
    encoded = [sdk_items.encode_item(item) for item in items]
    if not encoded:
        return position
    stored = encryption.stored_texts(session_id, list(items), encoded)
    with write_transaction(using) as cursor:
        locked, branch_id = _lock_for_agent(cursor, session_id, position, using=using)
        _insert(cursor, locked, branch_id, stored, list(items), using=using)
        if max_messages is not None:
            _trim(cursor, session_id, branch_id, max_messages)
    return Position(branch_id, locked.generation)


# --- trimming to max_messages -------------------------------------------------

# The items a trim may remove from: a conversation on legal hold has none.
_TRIMMABLE_SIZE_SQL = """
    SELECT COUNT(*) FROM message_structure
    WHERE session_id = %s AND branch_id = %s AND NOT EXISTS (
        SELECT 1 FROM agent_sessions WHERE session_id = %s AND held_at IS NOT NULL
    )
"""
_OLDEST_ROWS_SQL = """
    SELECT id, message_id FROM message_structure
    WHERE session_id = %s AND branch_id = %s
    ORDER BY sequence_number LIMIT %s
"""
# The limit is kept on the conversation for the dashboard, written only when it
# changes or items went, so an append under the limit adds no write.
_RECORD_TRIM_SQL = """
    UPDATE agent_sessions SET max_messages = %s, trimmed_items = trimmed_items + %s
    WHERE session_id = %s AND (max_messages IS NULL OR max_messages <> %s OR %s > 0)
"""


def _trim(cursor, session_id: str, branch_id: str, max_messages: int) -> None:
    """Delete the branch's items older than its newest max_messages, unless it is held.

    Their structure rows go, and their messages unless another branch holds
    them. Usage rows stay and the remaining rows keep their turn numbers, so a
    turn's usage still belongs to it; a trimmed turn can no longer be branched
    from (fork says why).
    """
    cursor.execute(_TRIMMABLE_SIZE_SQL, [session_id, branch_id, session_id])
    excess = cursor.fetchone()[0] - max_messages
    trimmed = 0
    if excess > 0:
        cursor.execute(_OLDEST_ROWS_SQL, [session_id, branch_id, excess])
        oldest = cursor.fetchall()
        for row_id, message_id in oldest:
            cursor.execute(_DELETE_ROW_SQL, [row_id])
            cursor.execute(_DELETE_UNHELD_MESSAGE_SQL, [message_id, message_id])
        trimmed = len(oldest)
    params = [max_messages, trimmed, session_id, max_messages, trimmed]
    cursor.execute(_RECORD_TRIM_SQL, params)


# --- popping and clearing ----------------------------------------------------


def delete_unreferenced_messages(message_ids, *, using: str) -> None:
    AgentMessage.objects.using(using).filter(pk__in=message_ids).exclude(
        Exists(MessageStructure.objects.using(using).filter(message=OuterRef("pk")))
    ).delete()


# pop_item's statements, written out once as the append's are. The usage row
# goes with the last row of its turn. The newest two rows are read: when the
# second is of the same turn, the turn keeps a row and its usage stays, with no
# query for it (most pops).
_NEWEST_ROW_SQL = """
    SELECT ms.id, ms.message_id, ms.user_turn_number, m.message_data
    FROM message_structure ms LEFT JOIN agent_messages m ON m.id = ms.message_id
    WHERE ms.session_id = %s AND ms.branch_id = %s
    ORDER BY ms.sequence_number DESC LIMIT 2
"""
_DELETE_ROW_SQL = "DELETE FROM message_structure WHERE id = %s"
_DELETE_UNHELD_MESSAGE_SQL = """
    DELETE FROM agent_messages WHERE id = %s
    AND NOT EXISTS (SELECT 1 FROM message_structure WHERE message_id = %s)
"""
_DELETE_EMPTIED_TURN_USAGE_SQL = """
    DELETE FROM turn_usage
    WHERE session_id = %s AND branch_id = %s AND user_turn_number = %s
    AND NOT EXISTS (SELECT 1 FROM message_structure
        WHERE session_id = %s AND branch_id = %s AND user_turn_number = %s)
"""


class _NewestRow(NamedTuple):
    """A row of _NEWEST_ROW_SQL: message_data is None when its message is missing."""

    id: int
    message_id: int
    user_turn_number: int | None
    message_data: str | None


def _remove_newest(session_id: str, branch_id: str, *, using: str) -> _NewestRow | None:
    """Remove the branch's newest structure row, and what only it held; None if it is empty."""
    with fixed_sql_cursor(using) as cursor:
        cursor.execute(_NEWEST_ROW_SQL, [session_id, branch_id])
        rows = [_NewestRow(*row) for row in cursor.fetchall()]
        if not rows:
            return None
        newest = rows[0]
        turn_kept = len(rows) == 2 and rows[1].user_turn_number == newest.user_turn_number
        cursor.execute(_DELETE_ROW_SQL, [newest.id])
        cursor.execute(_DELETE_UNHELD_MESSAGE_SQL, [newest.message_id, newest.message_id])
        if newest.user_turn_number is not None and not turn_kept:
            where = [session_id, branch_id, newest.user_turn_number]
            cursor.execute(_DELETE_EMPTIED_TURN_USAGE_SQL, where + where)
    return newest


def pop_item(
    *, session_id: str, position: Position = ON_MAIN, using: str = DEFAULT_DB_ALIAS
) -> tuple[dict | None, Position]:
    """Remove the newest item of the branch and return it (None when the branch is empty).

    The message row goes only when no other branch still holds it; a turn left
    empty loses its usage row. Rows that do not decode are dropped on the way.
    """
    with transaction.atomic(using=using):
        locked = lock_conversation(session_id, using=using)
        if locked is None:
            return None, position
        if locked.deleted_at is not None:
            raise ConversationInTrash(session_id)
        branch_id = locked.branch_for(position)
        new_position = Position(branch_id, locked.generation)
        while True:
            removed = _remove_newest(session_id, branch_id, using=using)
            if removed is None:
                return None, new_position
            data = removed.message_data
            item = encryption.open_message(session_id, data) if data is not None else None
            if item is not None:
                return item, new_position


def clear(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> Position:
    """Delete every item, branch and usage row; branch names stay reserved.

    The conversation row stays (with its title), back on main, with its clear
    generation bumped so other session objects fall back to main.
    """
    with transaction.atomic(using=using):
        locked = lock_conversation(session_id, using=using)
        if locked is None:
            return Position()
        if locked.deleted_at is not None:
            raise ConversationInTrash(session_id)
        for model in (TurnUsage, MessageStructure, AgentMessage):
            model.objects.using(using).filter(session_id=session_id).delete()
        now = timezone.now()
        Branch.objects.using(using).filter(session_id=session_id, deleted_at=None).update(
            deleted_at=now
        )
        generation = locked.generation + 1
        AgentSession.objects.using(using).filter(pk=session_id).update(
            active_branch_id=MAIN_BRANCH, clear_generation=generation, updated_at=now
        )
        audit(AuditEntry.Action.CLEAR, session_id, actor=actor, using=using)
    return Position(MAIN_BRANCH, generation)
