"""Every write to a conversation: one function each, one transaction each.

DjangoSession, the dashboard, the admin and the management commands all write
through here. Each write locks the conversation's agent_sessions row first
(SELECT ... FOR UPDATE on PostgreSQL; on SQLite every transaction is IMMEDIATE,
which takes the database's write lock at BEGIN), so concurrent writers queue
and sequence numbers are assigned without gaps or duplicates.

A "position" is what a session object holds: the branch it writes to and the
clear generation it last saw. When another writer has cleared the conversation
since, the position falls back to main, as in the SDK.
"""

import datetime
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from . import items as sdk_items
from . import pricing, queries
from .models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    ModelPrice,
    TurnUsage,
)


class ConversationError(ValueError):
    """A write that cannot be done as asked; nothing was changed."""


class ConversationInTrash(ConversationError):
    pass


class ConversationNotFound(ConversationError):
    pass


@dataclass(frozen=True)
class Position:
    branch_id: str = MAIN_BRANCH
    generation: int = 0


@dataclass
class _Locked:
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


# --- locking ---------------------------------------------------------------


# The statements every append runs, written out once: building them with the ORM
# on each call took several times longer than running them. Table names are the
# SDK's, fixed by design. The conversation's state: queries.conversation_state.
_LOCK_ROW_SQL = "SELECT 1 FROM agent_sessions WHERE session_id = %s FOR UPDATE"

# A branch's current turn numbers (see queries.conversation_state).
_BRANCH_TURNS_SQL = """
    SELECT user_turn_number, branch_turn_number FROM message_structure
    WHERE session_id = %s AND branch_id = %s
    ORDER BY sequence_number DESC LIMIT 1
"""

_TOUCH_SQL = "UPDATE agent_sessions SET updated_at = %s WHERE session_id = %s"

_STRUCTURE_COLUMNS = (
    "session_id",
    "message_id",
    "branch_id",
    "message_type",
    "sequence_number",
    "user_turn_number",
    "branch_turn_number",
    "tool_name",
)

# Rows per INSERT statement: well under SQLite's and PostgreSQL's parameter limits.
_ROWS_PER_INSERT = 500


def _fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _insert_rows(
    table: str, columns: tuple[str, ...], rows: list[tuple], *, using: str, returning: str = ""
) -> list:
    """Multi-row INSERTs; with `returning`, that column's values in the rows' order.

    Returned ids are sorted rather than trusted in RETURNING's order (which
    SQLite leaves unspecified): both databases number one statement's rows in
    VALUES order.
    """
    returned: list = []
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connections[using].cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            batch = rows[start : start + _ROWS_PER_INSERT]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            sql += ", ".join([placeholders] * len(batch))
            if returning:
                sql += f" RETURNING {returning}"
            cursor.execute(sql, [value for row in batch for value in row])
            if returning:
                returned += sorted(row[0] for row in cursor.fetchall())
    return returned


def _hold_row_lock(session_id: str, *, using: str, touch: bool = False) -> bool:
    """Wait for and take the conversation row's lock, in a statement of its own.

    With touch, the lock is taken by the UPDATE of updated_at that an append
    owes anyway: one statement (and round trip) instead of two.

    False when there was no row to lock: the caller must then treat the row as
    missing even if a later statement sees it (its creator committed meanwhile).
    PostgreSQL (READ COMMITTED) evaluates a statement's subqueries on the
    snapshot taken when the statement began, before it waited for the lock, so
    a MAX(sequence_number) read in the locking statement itself can be stale.
    SQLite has no row locks: its IMMEDIATE transaction took the write lock at BEGIN.
    """
    if touch:
        return _touch(session_id, using=using)
    if not connections[using].features.has_select_for_update:
        return True
    return bool(_fetch(_LOCK_ROW_SQL, [session_id], using=using))


def _lock(
    session_id: str, *, using: str, create: bool, turns_of: str = MAIN_BRANCH, touch: bool = False
) -> _Locked | None:
    """Lock the conversation row (creating it if asked); None if it does not exist.

    The branch turns_of's current turn numbers are read along, for an append;
    touch sets updated_at to now.
    """

    def state():
        return queries.conversation_state(session_id, turns_of, using=using)

    row = state() if _hold_row_lock(session_id, using=using, touch=touch) else None
    if row is None and create:
        AgentSession.objects.using(using).bulk_create(
            [AgentSession(session_id=session_id)], ignore_conflicts=True
        )
        _hold_row_lock(session_id, using=using, touch=touch)
        row = state()
    if row is None:
        return None
    return _Locked(
        session_id=session_id,
        active_branch_id=row["active_branch_id"],
        generation=row["generation"],
        deleted_at=row["deleted_at"],
        last_sequence=row["last_sequence"],
        needs_adoption=row["needs_adoption"],
        turns_branch=turns_of,
        turns=row["turns"],
    )


def _lock_existing(session_id: str, *, using: str, allow_trash: bool = False) -> _Locked:
    locked = _lock(session_id, using=using, create=False)
    if locked is None:
        raise ConversationNotFound(f"Conversation '{session_id}' does not exist")
    if locked.deleted_at is not None and not allow_trash:
        raise ConversationInTrash(f"Conversation '{session_id}' is in the trash; restore it first")
    return locked


def _lock_for_agent(session_id: str, position: Position, *, using: str) -> tuple[_Locked, str]:
    """Lock (creating) for an agent-side write; returns the row and the branch to write."""
    locked = _lock(session_id, using=using, create=True, turns_of=position.branch_id, touch=True)
    if locked.deleted_at is not None:
        raise ConversationInTrash(f"Conversation '{session_id}' is in the trash; restore it first")
    if locked.needs_adoption:
        _adopt_unstructured(locked, using=using)
    branch_id = position.branch_id if position.generation == locked.generation else MAIN_BRANCH
    return locked, branch_id


def _audit(
    action: str,
    session_id: str,
    *,
    actor=None,
    branch_id: str | None = None,
    using: str,
    actor_label: str | None = None,
    **detail: Any,
) -> None:
    if actor_label is None:
        actor_label = "" if actor is not None else "agent"
    AuditEntry.objects.using(using).create(
        action=action,
        session_id=session_id,
        branch_id=branch_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        detail=detail,
    )


# --- appending ---------------------------------------------------------------


def _branch_turns(session_id: str, branch_id: str, *, using: str) -> tuple[int, int]:
    """(user turn, branch turn) the branch is at: its newest row's (their MAX)."""
    newest = _fetch(_BRANCH_TURNS_SQL, [session_id, branch_id], using=using)
    turn, branch_turn = newest[0] if newest else (0, 0)
    return turn or 0, branch_turn or 0


def _insert(locked: _Locked, branch_id: str, encoded: list[str], decoded: list, *, using: str):
    """Insert messages and their structure rows at the end of a branch.

    created_at is left to the columns' database default (Now()), as bulk_create does.
    """
    session_id = locked.session_id
    message_ids = _insert_rows(
        "agent_messages",
        ("session_id", "message_data"),
        [(session_id, data) for data in encoded],
        using=using,
        returning="id",
    )
    if branch_id == locked.turns_branch:
        turn, branch_turn = locked.turns
    else:
        turn, branch_turn = _branch_turns(session_id, branch_id, using=using)
    rows = []
    for offset, (message_id, item) in enumerate(zip(message_ids, decoded, strict=True), start=1):
        if sdk_items.is_user_message(item):
            turn, branch_turn = turn + 1, branch_turn + 1
        rows.append(
            (
                session_id,
                message_id,
                branch_id,
                sdk_items.message_type(item),
                locked.last_sequence + offset,
                turn,
                branch_turn,
                sdk_items.tool_name(item),
            )
        )
    _insert_rows("message_structure", _STRUCTURE_COLUMNS, rows, using=using)
    locked.last_sequence += len(rows)
    locked.turns_branch, locked.turns = branch_id, (turn, branch_turn)


def _touch(session_id: str, *, using: str) -> bool:
    """updated_at = now, stored as the ORM stores timezone.now(); False if there is no row."""
    now = connections[using].ops.adapt_datetimefield_value(timezone.now())
    with connections[using].cursor() as cursor:
        cursor.execute(_TOUCH_SQL, [now, session_id])
        return cursor.rowcount > 0


def _adopt_unstructured(locked: _Locked, *, using: str) -> None:
    """Give messages written without structure rows their place at the end of main."""
    unstructured = list(
        AgentMessage.objects.using(using)
        .filter(session_id=locked.session_id)
        .exclude(Exists(MessageStructure.objects.using(using).filter(message=OuterRef("pk"))))
        .order_by("id")
        .values_list("id", "message_data")
    )
    turn, branch_turn = _branch_turns(locked.session_id, MAIN_BRANCH, using=using)
    rows = []
    for offset, (message_id, data) in enumerate(unstructured, start=1):
        item = sdk_items.decode_item(data)
        if sdk_items.is_user_message(item):
            turn, branch_turn = turn + 1, branch_turn + 1
        rows.append(
            MessageStructure(
                session_id=locked.session_id,
                message_id=message_id,
                branch_id=MAIN_BRANCH,
                message_type=sdk_items.message_type(item),
                sequence_number=locked.last_sequence + offset,
                user_turn_number=turn,
                branch_turn_number=branch_turn,
                tool_name=sdk_items.tool_name(item),
            )
        )
    MessageStructure.objects.using(using).bulk_create(rows)
    locked.last_sequence += len(rows)
    locked.needs_adoption = False
    locked.turns_branch, locked.turns = MAIN_BRANCH, (turn, branch_turn)


def adopt_unstructured_messages(*, session_id: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Structure the messages an SDK writer added without structure rows (branch main)."""
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is not None and locked.needs_adoption:
            _adopt_unstructured(locked, using=using)


def append_items(
    *, session_id: str, items: list, position: Position = Position(), using: str = DEFAULT_DB_ALIAS
) -> Position:
    """Append items to the end of the position's branch; returns the position written."""
    if not isinstance(items, list | tuple):
        raise sdk_items.InvalidItem(f"items must be a list, not {type(items).__name__}")
    encoded = [sdk_items.encode_item(item) for item in items]
    if not encoded:
        return position
    with transaction.atomic(using=using):
        locked, branch_id = _lock_for_agent(session_id, position, using=using)
        _insert(locked, branch_id, encoded, list(items), using=using)
    return Position(branch_id, locked.generation)


# --- popping and clearing ----------------------------------------------------


def _delete_unreferenced_messages(message_ids, *, using: str) -> None:
    AgentMessage.objects.using(using).filter(pk__in=message_ids).exclude(
        Exists(MessageStructure.objects.using(using).filter(message=OuterRef("pk")))
    ).delete()


def pop_item(
    *, session_id: str, position: Position = Position(), using: str = DEFAULT_DB_ALIAS
) -> tuple[dict | None, Position]:
    """Remove the newest item of the branch and return it (None when the branch is empty).

    The message row goes only when no other branch still holds it; a turn left
    empty loses its usage row. Rows that do not decode are dropped on the way.
    """
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is None:
            return None, position
        if locked.deleted_at is not None:
            raise ConversationInTrash(
                f"Conversation '{session_id}' is in the trash; restore it first"
            )
        branch_id = position.branch_id if position.generation == locked.generation else MAIN_BRANCH
        new_position = Position(branch_id, locked.generation)
        branch_rows = MessageStructure.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id
        )
        while True:
            newest = (
                branch_rows.order_by("-sequence_number")
                .values("id", "message_id", "user_turn_number", "message__message_data")
                .first()
            )
            if newest is None:
                return None, new_position
            MessageStructure.objects.using(using).filter(pk=newest["id"]).delete()
            _delete_unreferenced_messages([newest["message_id"]], using=using)
            turn = newest["user_turn_number"]
            if turn is not None and not branch_rows.filter(user_turn_number=turn).exists():
                TurnUsage.objects.using(using).filter(
                    session_id=session_id, branch_id=branch_id, user_turn_number=turn
                ).delete()
            data = newest["message__message_data"]
            item = sdk_items.decode_item(data) if data is not None else None
            if item is not None:
                return item, new_position


def clear(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> Position:
    """Delete every item, branch and usage row; branch names stay reserved.

    The conversation row stays (with its title), back on main, with its clear
    generation bumped so other session objects fall back to main.
    """
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is None:
            return Position()
        if locked.deleted_at is not None:
            raise ConversationInTrash(
                f"Conversation '{session_id}' is in the trash; restore it first"
            )
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
        _audit(AuditEntry.Action.CLEAR, session_id, actor=actor, using=using)
    return Position(MAIN_BRANCH, generation)


# --- usage -------------------------------------------------------------------


def _details(details: Any) -> dict | None:
    if not details:
        return None
    return dict(details.__dict__) if hasattr(details, "__dict__") else dict(details)


def record_usage(
    *,
    session_id: str,
    usage: Any,
    model_name: str | None = None,
    position: Position = Position(),
    using: str = DEFAULT_DB_ALIAS,
) -> int | None:
    """Store a run's usage as the current turn's usage (replacing it); returns the turn.

    Nothing is stored when the branch holds no turn or the conversation was
    cleared since the position was taken. The cost is fixed now, from the
    price in force today.
    """
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is not None and locked.deleted_at is not None:
            raise ConversationInTrash(
                f"Conversation '{session_id}' is in the trash; restore it first"
            )
        if locked is None or locked.generation != position.generation:
            return None
        branch_id = position.branch_id
        rows = MessageStructure.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id
        )
        turn = rows.aggregate(turn=Max("user_turn_number"))["turn"]
        if turn is None:
            return None
        input_details = _details(getattr(usage, "input_tokens_details", None))
        output_details = _details(getattr(usage, "output_tokens_details", None))
        input_tokens = usage.input_tokens or 0
        cost = pricing.cost_of(
            pricing.price_in_force(model_name, timezone.now().date()),
            input_tokens=input_tokens,
            cached_tokens=(input_details or {}).get("cached_tokens") or 0,
            output_tokens=usage.output_tokens or 0,
        )
        TurnUsage.objects.using(using).update_or_create(
            session_id=session_id,
            branch_id=branch_id,
            user_turn_number=turn,
            defaults={
                "requests": usage.requests or 0,
                "input_tokens": input_tokens,
                "output_tokens": usage.output_tokens or 0,
                "total_tokens": usage.total_tokens or 0,
                "input_tokens_details": input_details,
                "output_tokens_details": output_details,
                "model_name": model_name,
                "cost": cost,
                "created_at": timezone.now(),
            },
        )
    return turn


# --- branches ----------------------------------------------------------------


def _branch_exists(session_id: str, branch_id: str, *, using: str) -> bool:
    if branch_id == MAIN_BRANCH:
        return True
    live = Branch.objects.using(using).filter(
        session_id=session_id, branch_id=branch_id, deleted_at=None
    )
    holding = MessageStructure.objects.using(using).filter(
        session_id=session_id, branch_id=branch_id
    )
    return live.exists() or holding.exists()


def _name_used(session_id: str, branch_id: str, *, using: str) -> bool:
    return (
        branch_id == MAIN_BRANCH
        or Branch.objects.using(using).filter(session_id=session_id, branch_id=branch_id).exists()
        or MessageStructure.objects.using(using)
        .filter(session_id=session_id, branch_id=branch_id)
        .exists()
    )


def _new_branch_name(session_id: str, turn_number: int, *, using: str) -> str:
    base = f"branch_from_turn_{turn_number}_{int(time.time())}"
    name, suffix = base, 1
    while _name_used(session_id, name, using=using):
        suffix += 1
        name = f"{base}_{suffix}"
    return name


def fork(
    *,
    session_id: str,
    turn_number: int,
    branch_name: str | None = None,
    position: Position = Position(),
    actor=None,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[str, Position, Any]:
    """Make a branch from user turn N of the position's branch: a copy of turns before N.

    Returns the new branch's name, the position on it, and the forked turn's content.
    """
    if branch_name is not None and not branch_name.strip():
        raise ConversationError("Branch name cannot be empty")
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using)
        source = position.branch_id if position.generation == locked.generation else MAIN_BRANCH
        source_rows = MessageStructure.objects.using(using).filter(
            session_id=session_id, branch_id=source
        )
        turn_message = (
            source_rows.filter(branch_turn_number=turn_number, message_type="user")
            .values_list("message__message_data", flat=True)
            .first()
        )
        if turn_message is None:
            raise ConversationError(
                f"Turn {turn_number} does not contain a user message in branch '{source}'"
            )
        if branch_name is None:
            branch_name = _new_branch_name(session_id, turn_number, using=using)
        elif _name_used(session_id, branch_name, using=using):
            raise ConversationError(
                f"Branch ID '{branch_name}' has already been used. Choose a new branch ID."
            )
        copies = [
            MessageStructure(
                session_id=session_id,
                message_id=row.message_id,
                branch_id=branch_name,
                message_type=row.message_type,
                sequence_number=locked.last_sequence + offset,
                user_turn_number=row.user_turn_number,
                branch_turn_number=row.branch_turn_number,
                tool_name=row.tool_name,
            )
            for offset, row in enumerate(
                source_rows.filter(branch_turn_number__lt=turn_number).order_by("sequence_number"),
                start=1,
            )
        ]
        MessageStructure.objects.using(using).bulk_create(copies)
        Branch.objects.using(using).create(
            session_id=session_id,
            branch_id=branch_name,
            parent_branch_id=source,
            forked_from_turn=turn_number,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        _audit(
            AuditEntry.Action.FORK,
            session_id,
            actor=actor,
            branch_id=branch_name,
            using=using,
            parent=source,
            turn=turn_number,
        )
    content = (sdk_items.decode_item(turn_message) or {}).get("content", "")
    return branch_name, Position(branch_name, locked.generation), content


def check_branch(*, session_id: str, branch_id: str, using: str = DEFAULT_DB_ALIAS) -> Position:
    """The position on an existing branch, or ConversationError if there is none."""
    generation = (
        AgentSession.objects.using(using)
        .filter(pk=session_id)
        .values_list("clear_generation", flat=True)
        .first()
    )
    if not _branch_exists(session_id, branch_id, using=using):
        raise ConversationError(f"Branch '{branch_id}' does not exist")
    return Position(branch_id, generation or 0)


def delete_branch(
    *,
    session_id: str,
    branch_id: str,
    force: bool = False,
    actor=None,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Delete a branch's items and usage; its name stays reserved.

    main can never be deleted; the active branch only with force (main then
    becomes active). Messages no other branch holds are deleted with it.
    """
    if not branch_id or not branch_id.strip():
        raise ConversationError("Branch ID cannot be empty")
    if branch_id == MAIN_BRANCH:
        raise ConversationError("Cannot delete the 'main' branch")
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using)
        if not _branch_exists(session_id, branch_id, using=using):
            raise ConversationError(f"Branch '{branch_id}' does not exist")
        if locked.active_branch_id == branch_id and not force:
            raise ConversationError(
                f"Branch '{branch_id}' is the active branch; make another branch active first"
            )
        rows = MessageStructure.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id
        )
        message_ids = list(rows.values_list("message_id", flat=True))
        usage = TurnUsage.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
        usage.delete()
        rows.delete()
        _delete_unreferenced_messages(message_ids, using=using)
        Branch.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id, deleted_at=None
        ).update(deleted_at=timezone.now())
        if locked.active_branch_id == branch_id:
            AgentSession.objects.using(using).filter(pk=session_id).update(
                active_branch_id=MAIN_BRANCH
            )
        _audit(
            AuditEntry.Action.DELETE_BRANCH,
            session_id,
            actor=actor,
            branch_id=branch_id,
            using=using,
            items=len(message_ids),
        )


def set_active_branch(
    *, session_id: str, branch_id: str, actor=None, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Make the branch the one a new DjangoSession continues on."""
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using)
        if not _branch_exists(session_id, branch_id, using=using):
            raise ConversationError(f"Branch '{branch_id}' does not exist")
        if locked.active_branch_id == branch_id:
            return
        AgentSession.objects.using(using).filter(pk=session_id).update(active_branch_id=branch_id)
        _audit(
            AuditEntry.Action.MAKE_ACTIVE,
            session_id,
            actor=actor,
            branch_id=branch_id,
            using=using,
            previous=locked.active_branch_id,
        )


# --- trash -------------------------------------------------------------------


def trash(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Hide a conversation everywhere but the trash, keeping every row."""
    with transaction.atomic(using=using):
        _lock_existing(session_id, using=using)
        AgentSession.objects.using(using).filter(pk=session_id).update(
            deleted_at=timezone.now(),
            deleted_by=actor if actor is not None and actor.is_authenticated else None,
        )
        _audit(AuditEntry.Action.TRASH, session_id, actor=actor, using=using)


def restore(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring a conversation back from the trash exactly as it was."""
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using, allow_trash=True)
        if locked.deleted_at is None:
            raise ConversationError(f"Conversation '{session_id}' is not in the trash")
        AgentSession.objects.using(using).filter(pk=session_id).update(
            deleted_at=None, deleted_by=None
        )
        _audit(AuditEntry.Action.RESTORE, session_id, actor=actor, using=using)


PURGE_PERMISSION = "convstore.purge_agentsession"


def purge(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete a conversation in the trash for good. Needs the purge permission."""
    if actor is not None and not actor.has_perm(PURGE_PERMISSION):
        raise PermissionError("Purging conversations needs the 'purge' permission")
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using, allow_trash=True)
        if locked.deleted_at is None:
            raise ConversationError(
                f"Conversation '{session_id}' is not in the trash; move it there first"
            )
        counts = {}
        for model in (TurnUsage, MessageStructure, AgentMessage, Branch):
            deleted, _ = model.objects.using(using).filter(session_id=session_id).delete()
            counts[model._meta.db_table] = deleted
        AgentSession.objects.using(using).filter(pk=session_id).delete()
        _audit(AuditEntry.Action.PURGE, session_id, actor=actor, using=using, rows=counts)


# --- re-pricing --------------------------------------------------------------

COST_STEP = Decimal("1e-10")  # turn_usage.cost has 10 decimal places


def _price_on(prices: list, day) -> Any:
    """The newest of a model's prices (newest first) in force on the day."""
    return next((price for price in prices if price.effective_from <= day), None)


def reprice_usage(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the fixed cost of a conversation's usage rows from the price table.

    Each row gets the price in force on the day it was recorded: a corrected
    price, or one added for a model that had none, reaches history only
    through this explicit, audited call. Returns how many rows changed.
    """
    with transaction.atomic(using=using):
        _lock_existing(session_id, using=using)
        rows = list(TurnUsage.objects.using(using).filter(session_id=session_id).order_by("id"))
        prices: dict[str, list] = {}
        for price in (
            ModelPrice.objects.using(using)
            .filter(model_name__in={row.model_name for row in rows if row.model_name})
            .order_by("model_name", "-effective_from")
        ):
            prices.setdefault(price.model_name, []).append(price)
        changed, before, after = [], Decimal(0), Decimal(0)
        for row in rows:
            details = row.input_tokens_details if isinstance(row.input_tokens_details, dict) else {}
            cost = pricing.cost_of(
                _price_on(prices.get(row.model_name, []), row.created_at.date()),
                input_tokens=row.input_tokens,
                cached_tokens=details.get("cached_tokens") or 0,
                output_tokens=row.output_tokens,
            )
            cost = cost.quantize(COST_STEP) if cost is not None else None
            before += row.cost or 0
            after += cost or 0
            if cost != row.cost:
                row.cost = cost
                changed.append(row)
        TurnUsage.objects.using(using).bulk_update(changed, ["cost"])
        _audit(
            AuditEntry.Action.REPRICE,
            session_id,
            actor=actor,
            using=using,
            rows=len(changed),
            cost_before=str(before),
            cost_after=str(after),
        )
    return len(changed)


# --- data fixes (admin) ------------------------------------------------------


def set_title(
    *, session_id: str, title: str | None, actor=None, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Rename a conversation; a blank title clears it."""
    title = (title or "").strip() or None
    with transaction.atomic(using=using):
        _lock_existing(session_id, using=using, allow_trash=True)
        conversation = AgentSession.objects.using(using).filter(pk=session_id)
        previous = conversation.values_list("title", flat=True).get()
        if previous == title:
            return
        conversation.update(title=title)
        _audit(
            AuditEntry.Action.EDIT,
            session_id,
            actor=actor,
            using=using,
            field="title",
            before=previous,
            after=title,
        )


def check_sdk_item(item: Any) -> str:
    """The item encoded as the SDK stores it, or InvalidItem when it is no SDK item.

    An SDK item is a JSON object naming its "role" (messages) or "type" (all others).
    """
    if not isinstance(item, dict):
        kind = "null" if item is None else type(item).__name__
        raise sdk_items.InvalidItem(f"An SDK item is a JSON object, not {kind}")
    if not any(isinstance(item.get(key), str) and item.get(key) for key in ("role", "type")):
        raise sdk_items.InvalidItem('An SDK item names its "role" or its "type"')
    return sdk_items.encode_item(item)


def _structure_fields(item: Any) -> dict:
    return {"message_type": sdk_items.message_type(item), "tool_name": sdk_items.tool_name(item)}


# The message_structure columns that follow from a branch's messages.
DERIVED_FIELDS = ("message_type", "tool_name", "user_turn_number", "branch_turn_number")


def _renumber_branch(session_id: str, branch_id: str, *, using: str) -> int:
    """Re-derive kind, tool and turn numbers of a branch's rows; returns rows changed."""
    rows = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id, branch_id=branch_id)
        .select_related("message")
        .order_by("sequence_number")
    )
    changed, turn = [], 0
    for row in rows:
        item = sdk_items.decode_item(row.message.message_data)
        if sdk_items.is_user_message(item):
            turn += 1
        derived = {**_structure_fields(item), "user_turn_number": turn, "branch_turn_number": turn}
        if any(getattr(row, name) != value for name, value in derived.items()):
            for name, value in derived.items():
                setattr(row, name, value)
            changed.append(row)
    MessageStructure.objects.using(using).bulk_update(changed, DERIVED_FIELDS, batch_size=500)
    return len(changed)


def edit_message(*, message_id: int, item: Any, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Replace a stored item and re-derive its structure rows (kind, tool name).

    When the edit makes the item a user message, or stops it being one, the
    turns of every branch holding it are numbered again.
    """
    encoded = check_sdk_item(item)
    message = AgentMessage.objects.using(using).filter(pk=message_id)
    session_id = message.values_list("session_id", flat=True).first()
    if session_id is None:
        raise ConversationError(f"Message {message_id} does not exist")
    with transaction.atomic(using=using):
        _lock_existing(session_id, using=using)
        before = message.values_list("message_data", flat=True).first()
        if before is None:
            raise ConversationError(f"Message {message_id} does not exist")
        if before == encoded:
            return
        message.update(message_data=encoded)
        rows = MessageStructure.objects.using(using).filter(message_id=message_id)
        rows.update(**_structure_fields(item))
        renumbered = []
        if sdk_items.is_user_message(sdk_items.decode_item(before)) != sdk_items.is_user_message(
            item
        ):
            renumbered = sorted(set(rows.values_list("branch_id", flat=True)))
            for branch_id in renumbered:
                _renumber_branch(session_id, branch_id, using=using)
        _audit(
            AuditEntry.Action.EDIT,
            session_id,
            actor=actor,
            using=using,
            message_id=message_id,
            before=before,
            after=encoded,
            renumbered_branches=renumbered,
        )


def recompute_structure(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Re-derive every message_structure row of a conversation from its messages.

    Messages with no structure row (written by an SDK writer that keeps none)
    first get their place at the end of main. Returns the rows added or changed.
    """
    with transaction.atomic(using=using):
        locked = _lock_existing(session_id, using=using)
        before = locked.last_sequence
        _adopt_unstructured(locked, using=using)
        adopted = locked.last_sequence - before
        branch_ids = (
            MessageStructure.objects.using(using)
            .filter(session_id=session_id)
            .order_by()
            .values_list("branch_id", flat=True)
            .distinct()
        )
        changed = sum(
            _renumber_branch(session_id, branch_id, using=using) for branch_id in list(branch_ids)
        )
        _audit(
            AuditEntry.Action.RECOMPUTE,
            session_id,
            actor=actor,
            using=using,
            adopted=adopted,
            changed=changed,
        )
    return adopted + changed


def _price_fields(price: ModelPrice | None) -> dict | None:
    if price is None:
        return None
    names = ("input_per_million", "cached_input_per_million", "output_per_million")
    return {
        "model_name": price.model_name,
        "effective_from": str(price.effective_from),
        **{name: str(getattr(price, name)) for name in names},
    }


def save_price(*, price: ModelPrice, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add or change a model price. Costs already recorded keep their value."""
    with transaction.atomic(using=using):
        previous = ModelPrice.objects.using(using).filter(pk=price.pk).first() if price.pk else None
        price.save(using=using)
        saved = ModelPrice.objects.using(using).get(pk=price.pk)  # as stored: 4 decimals
        # Prices belong to no conversation: the audit row's session_id is empty.
        _audit(
            AuditEntry.Action.EDIT,
            "",
            actor=actor,
            using=using,
            model_price=price.pk,
            before=_price_fields(previous),
            after=_price_fields(saved),
        )


def delete_price(*, price: ModelPrice, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete a model price. Costs already recorded keep their value."""
    with transaction.atomic(using=using):
        before = _price_fields(price)
        price_id = price.pk
        price.delete(using=using)
        _audit(
            AuditEntry.Action.EDIT,
            "",
            actor=actor,
            using=using,
            model_price=price_id,
            before=before,
            after=None,
        )


# --- import from an SDK database ---------------------------------------------


def _imported_branches(conversation) -> dict[str, list[str]]:
    """An imported conversation's items per branch, as stored text, in order."""
    if conversation.structure is None:
        return {MAIN_BRANCH: [message.data for message in conversation.messages]}
    texts = {message.id: message.data for message in conversation.messages}
    branches: dict[str, list[str]] = {}
    for row in sorted(conversation.structure, key=lambda row: row.sequence_number):
        if row.message_id in texts:
            branches.setdefault(row.branch_id, []).append(texts[row.message_id])
    return branches


def _stored_branches(session_id: str, *, using: str) -> dict[str, list[str]]:
    branches: dict[str, list[str]] = {}
    rows = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id)
        .order_by("sequence_number")
        .values_list("branch_id", "message__message_data")
    )
    for branch_id, data in rows:
        branches.setdefault(branch_id, []).append(data)
    return branches


USAGE_COLUMNS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_tokens_details",
    "output_tokens_details",
)


def _usage_key(branch_id, turn, requests, inputs, outputs, total, in_details, out_details):
    return (
        branch_id,
        turn,
        requests,
        inputs,
        outputs,
        total,
        json.dumps(in_details, sort_keys=True),
        json.dumps(out_details, sort_keys=True),
    )


def _imported_usage(conversation) -> set[tuple]:
    return {
        _usage_key(
            row.branch_id,
            row.user_turn_number,
            row.requests,
            row.input_tokens,
            row.output_tokens,
            row.total_tokens,
            row.input_tokens_details,
            row.output_tokens_details,
        )
        for row in conversation.usage
    }


def _stored_usage(session_id: str, *, using: str) -> set[tuple]:
    rows = (
        TurnUsage.objects.using(using)
        .filter(session_id=session_id)
        .values_list("branch_id", "user_turn_number", *USAGE_COLUMNS)
    )
    return {_usage_key(*row) for row in rows}


def _same_content(conversation, *, using: str) -> bool:
    session_id = conversation.session_id
    return _stored_branches(session_id, using=using) == _imported_branches(
        conversation
    ) and _stored_usage(session_id, using=using) == _imported_usage(conversation)


def _import_structure(conversation, message_ids: dict[int, int], *, using: str) -> list[str]:
    """Structure rows as the file has them, or derived (main) when it has none."""
    session_id = conversation.session_id
    if conversation.structure is None:
        rows, turn = [], 0
        for offset, message in enumerate(conversation.messages, start=1):
            item = sdk_items.decode_item(message.data)
            if sdk_items.is_user_message(item):
                turn += 1
            rows.append(
                MessageStructure(
                    session_id=session_id,
                    message_id=message_ids[message.id],
                    sequence_number=offset,
                    user_turn_number=turn,
                    branch_turn_number=turn,
                    created_at=message.created_at,
                    **_structure_fields(item),
                )
            )
    else:
        rows = [
            MessageStructure(
                session_id=session_id,
                message_id=message_ids[row.message_id],
                branch_id=row.branch_id,
                message_type=row.message_type,
                sequence_number=row.sequence_number,
                user_turn_number=row.user_turn_number,
                branch_turn_number=row.branch_turn_number,
                tool_name=row.tool_name,
                created_at=row.created_at,
            )
            for row in conversation.structure
            if row.message_id in message_ids
        ]
    MessageStructure.objects.using(using).bulk_create(rows, batch_size=500)
    return sorted({row.branch_id for row in rows})


def _import_branches(conversation, held: list[str], *, using: str) -> None:
    """Branch rows: one per branch holding items; reserved names as deleted branches.

    The SDK keeps no parent or fork turn, and a reserved name holding no items
    is a deleted branch or one forked at turn 1 and never written to: the SDK
    lists neither, so neither is listed here.
    """
    first_seen: dict[str, Any] = {}
    for row in conversation.structure or []:
        if row.branch_id not in first_seen or row.created_at < first_seen[row.branch_id]:
            first_seen[row.branch_id] = row.created_at
    reserved = set(conversation.reserved_branches) - set(held) - {MAIN_BRANCH}
    now = timezone.now()
    Branch.objects.using(using).bulk_create(
        [
            Branch(
                session_id=conversation.session_id,
                branch_id=name,
                created_at=first_seen.get(name, now),
            )
            for name in held
            if name != MAIN_BRANCH
        ]
        + [
            Branch(
                session_id=conversation.session_id,
                branch_id=name,
                created_at=now,
                deleted_at=now,
            )
            for name in sorted(reserved)
        ]
    )


def import_conversation(
    *,
    conversation,
    source: str,
    actor=None,
    actor_label: str = "command",
    using: str = DEFAULT_DB_ALIAS,
) -> dict[str, int] | None:
    """Store a conversation read from an SDK database (see convstore.transfer).

    Returns what was imported, or None when the conversation is already here
    with the same items and usage. A conversation of that id with different
    content raises ConversationError and changes nothing.
    """
    session_id = conversation.session_id
    with transaction.atomic(using=using):
        locked = _lock(session_id, using=using, create=False)
        if locked is not None:
            if locked.needs_adoption:
                _adopt_unstructured(locked, using=using)
            if _same_content(conversation, using=using):
                return None
            raise ConversationError(
                f"Conversation '{session_id}' already exists here with different content"
            )
        AgentSession.objects.using(using).create(
            session_id=session_id,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            clear_generation=conversation.clear_generation,
        )
        messages = conversation.messages
        if conversation.structure is not None:
            referenced = {row.message_id for row in conversation.structure}
            messages = [message for message in messages if message.id in referenced]
        created = AgentMessage.objects.using(using).bulk_create(
            [
                AgentMessage(
                    session_id=session_id, message_data=message.data, created_at=message.created_at
                )
                for message in messages
            ],
            batch_size=500,
        )
        message_ids = {message.id: row.pk for message, row in zip(messages, created, strict=True)}
        held = _import_structure(conversation, message_ids, using=using)
        _import_branches(conversation, held, using=using)
        TurnUsage.objects.using(using).bulk_create(
            [
                TurnUsage(
                    session_id=session_id,
                    branch_id=row.branch_id,
                    user_turn_number=row.user_turn_number,
                    created_at=row.created_at,
                    **{name: getattr(row, name) for name in USAGE_COLUMNS},
                )
                for row in conversation.usage
            ]
        )
        counts = {
            "messages": len(created),
            "branches": len(held),
            "usage_rows": len(conversation.usage),
        }
        _audit(
            AuditEntry.Action.IMPORT,
            session_id,
            actor=actor,
            actor_label=actor_label,
            using=using,
            source=source,
            **counts,
        )
    return counts


# --- bulk: whole dated histories (imports, seeding at scale) ------------------


@dataclass
class HistoryTurn:
    """One user turn of a history: its items (a user message first), when, and its usage."""

    items: list
    at: datetime.datetime
    usage: Any = None  # anything with the fields of agents.usage.Usage
    model_name: str | None = None


@dataclass
class HistoryBranch:
    """A branch forked from user turn N of its parent (a copy of the turns before N)."""

    branch_id: str
    forked_from_turn: int
    turns: list[HistoryTurn]
    parent_branch_id: str = MAIN_BRANCH
    at: datetime.datetime | None = None  # when it was made; default: its first turn's time


@dataclass
class History:
    """A whole new conversation as append_items, record_usage and fork would have left it."""

    session_id: str
    turns: list[HistoryTurn]
    title: str | None = None
    branches: list[HistoryBranch] = field(default_factory=list)
    active_branch_id: str = MAIN_BRANCH


def _history_turns(history: History) -> list[HistoryTurn]:
    return history.turns + [turn for branch in history.branches for turn in branch.turns]


# The columns write_histories fills, per table, in the order of its row tuples.
_HISTORY_COLUMNS = {
    AgentSession: ("session_id", "created_at", "updated_at", "title", "active_branch_id"),
    AgentMessage: ("id", "session", "message_data", "created_at"),
    MessageStructure: (
        "session",
        "message",
        "branch_id",
        "message_type",
        "sequence_number",
        "user_turn_number",
        "branch_turn_number",
        "tool_name",
        "created_at",
    ),
    TurnUsage: (
        "session",
        "branch_id",
        "user_turn_number",
        "requests",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "input_tokens_details",
        "output_tokens_details",
        "created_at",
        "model_name",
        "cost",
    ),
    Branch: ("session", "branch_id", "parent_branch_id", "forked_from_turn", "created_at"),
    AuditEntry: ("at", "actor_label", "action", "session_id", "detail"),
}


@dataclass
class PreparedHistories:
    """Histories checked and turned into rows, ready for write_histories.

    Row tuples per table, in _HISTORY_COLUMNS order; a structure row holds its
    message's index in `messages`, a usage row its turn in place of the cost.
    """

    session_ids: list = field(default_factory=list)
    sessions: list = field(default_factory=list)
    messages: list = field(default_factory=list)  # (session_id, data, created_at)
    structure: list = field(default_factory=list)
    usage: list = field(default_factory=list)
    branches: list = field(default_factory=list)
    audit: list = field(default_factory=list)


class _HistoryPrices:
    """Prices in force by model and day, each looked up once per write."""

    def __init__(self, *, using: str):
        self.using = using
        self.in_force: dict[tuple, Any] = {}

    def cost(self, turn: HistoryTurn, input_details: dict | None) -> Any:
        """The turn's cost at the price in force on its day, as record_usage fixes it."""
        key = (turn.model_name, turn.at.date())
        if key not in self.in_force:
            self.in_force[key] = pricing.price_in_force(*key, using=self.using)
        return pricing.cost_of(
            self.in_force[key],
            input_tokens=turn.usage.input_tokens or 0,
            cached_tokens=(input_details or {}).get("cached_tokens") or 0,
            output_tokens=turn.usage.output_tokens or 0,
        )


def _encoded_turn(session_id: str, turn: HistoryTurn) -> list[str]:
    """The turn's items encoded; ConversationError unless only its first item is a user's."""
    users = [sdk_items.is_user_message(item) for item in turn.items]
    if not users or not users[0] or any(users[1:]):
        raise ConversationError(
            f"Conversation '{session_id}': a turn is one user message and the items answering it"
        )
    return [sdk_items.encode_item(item) for item in turn.items]


class _HistoryWriter:
    """One history's rows, numbered as append_items and fork number them."""

    def __init__(self, history: History, rows: PreparedHistories):
        self.history, self.rows = history, rows
        self.sequence = 0
        self.held: dict[str, list[tuple]] = {MAIN_BRANCH: []}  # each branch's structure rows

    def write(self, actor_label: str) -> None:
        history, session_id = self.history, self.history.session_id
        if not history.turns:
            raise ConversationError(f"Conversation '{session_id}' has no turns")
        first_message = len(self.rows.messages)
        self.turns(MAIN_BRANCH, history.turns, first_turn=1)
        for branch in history.branches:
            self.fork(branch)
            self.turns(branch.branch_id, branch.turns, first_turn=branch.forked_from_turn)
        if history.active_branch_id not in self.held:
            raise ConversationError(f"Branch '{history.active_branch_id}' does not exist")
        times = [turn.at for turn in _history_turns(history)]
        self.rows.sessions.append(
            (session_id, min(times), max(times), history.title, history.active_branch_id)
        )
        detail = {
            "messages": len(self.rows.messages) - first_message,
            "branches": len(history.branches),
        }
        self.rows.audit.append(
            (max(times), actor_label, AuditEntry.Action.IMPORT, session_id, detail)
        )

    def turns(self, branch_id: str, turns: list[HistoryTurn], *, first_turn: int) -> None:
        session_id = self.history.session_id
        for number, turn in enumerate(turns, start=first_turn):
            for item, data in zip(turn.items, _encoded_turn(session_id, turn), strict=True):
                self.rows.messages.append((session_id, data, turn.at))
                self.sequence += 1
                self.add_structure(
                    branch_id,
                    len(self.rows.messages) - 1,
                    sdk_items.message_type(item),
                    (number, number, sdk_items.tool_name(item)),
                    turn.at,
                )
            if turn.usage is not None:
                self.rows.usage.append(self.usage_row(branch_id, number, turn))

    def add_structure(self, branch_id, message, kind, turn_and_tool, at) -> None:
        row = (self.history.session_id, message, branch_id, kind, self.sequence, *turn_and_tool, at)
        self.rows.structure.append(row)
        self.held[branch_id].append(row)

    def fork(self, branch: HistoryBranch) -> None:
        """As fork(): the parent's rows of the turns before N, copied to the new branch."""
        session_id, name = self.history.session_id, branch.branch_id
        if not name or not name.strip() or name in self.held:
            raise ConversationError(
                f"Conversation '{session_id}': branch name {name!r} is empty or used twice"
            )
        parent = self.held.get(branch.parent_branch_id, [])
        if not any(row[3] == "user" and row[6] == branch.forked_from_turn for row in parent):
            raise ConversationError(
                f"Turn {branch.forked_from_turn} does not contain a user message in branch "
                f"'{branch.parent_branch_id}'"
            )
        at = branch.at or (branch.turns[0].at if branch.turns else max(row[8] for row in parent))
        self.held[name] = []
        for row in [row for row in parent if row[6] < branch.forked_from_turn]:
            self.sequence += 1
            self.add_structure(name, row[1], row[3], row[5:8], at)
        self.rows.branches.append(
            (session_id, name, branch.parent_branch_id, branch.forked_from_turn, at)
        )

    def usage_row(self, branch_id: str, number: int, turn: HistoryTurn) -> tuple:
        usage = turn.usage
        input_details = _details(getattr(usage, "input_tokens_details", None))
        return (
            self.history.session_id,
            branch_id,
            number,
            usage.requests or 0,
            usage.input_tokens or 0,
            usage.output_tokens or 0,
            usage.total_tokens or 0,
            input_details,
            _details(getattr(usage, "output_tokens_details", None)),
            turn.at,
            turn.model_name,
            turn,  # the cost, once write_histories reads the prices
        )


def _write_rows(model, rows: list, *, using: str) -> None:
    """Insert row tuples: COPY on PostgreSQL (about ten times INSERT's speed), else bulk_create."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in _HISTORY_COLUMNS[model]]
    connection = connections[using]
    if connection.vendor != "postgresql":
        names = [field.attname for field in fields]
        model.objects.using(using).bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    json_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            if json_columns:
                row = list(row)
                for index in json_columns:
                    row[index] = json.dumps(row[index]) if row[index] is not None else None
            copy.write_row(row)


def _write_messages(messages: list, *, using: str) -> list[int]:
    """Insert (session_id, data, created_at) rows; returns their ids, in order."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        created = AgentMessage.objects.using(using).bulk_create(
            [
                AgentMessage(session_id=sid, message_data=data, created_at=at)
                for sid, data, at in messages
            ],
            batch_size=1000,
        )
        return [message.pk for message in created]
    # COPY returns no ids: take them from the table's sequence first, in order.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [AgentMessage._meta.db_table, len(messages)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    rows = [(pk, *message) for pk, message in zip(ids, messages, strict=True)]
    _write_rows(AgentMessage, rows, using=using)
    return ids


def prepare_histories(
    histories: list[History], *, actor_label: str = "command"
) -> PreparedHistories:
    """Check histories and build their rows, without the database (see write_histories).

    A bad history raises ConversationError. Preparing apart lets a caller build
    the next batch while the database writes the last one.
    """
    rows = PreparedHistories(session_ids=[history.session_id for history in histories])
    if len(set(rows.session_ids)) != len(rows.session_ids):
        raise ConversationError("A conversation appears twice in one batch of histories")
    for history in histories:
        _HistoryWriter(history, rows).write(actor_label)
    return rows


def write_histories(
    histories: list[History] | PreparedHistories,
    *,
    actor_label: str = "command",
    using: str = DEFAULT_DB_ALIAS,
) -> dict[str, int]:
    """Write whole new conversations with their own timestamps, in one transaction: the bulk path.

    The rows are those append_items, record_usage and fork would have written
    turn by turn (costs at the price in force on each turn's day), written a
    table at a time: about 10,000 messages a second on PostgreSQL, where the
    per-turn writes manage a few hundred. Every conversation must be new; a bad
    history raises ConversationError and nothing is written. Each conversation
    gets an "import" audit entry. Returns the rows written per table.
    """
    rows = histories
    if not isinstance(rows, PreparedHistories):
        rows = prepare_histories(histories, actor_label=actor_label)
    prices = _HistoryPrices(using=using)
    usage = [(*row[:-1], prices.cost(row[-1], row[7])) for row in rows.usage]
    with transaction.atomic(using=using):
        taken = AgentSession.objects.using(using).filter(pk__in=rows.session_ids)
        if existing := taken.values_list("pk", flat=True).first():
            raise ConversationError(f"Conversation '{existing}' already exists")
        _write_rows(AgentSession, rows.sessions, using=using)
        message_ids = _write_messages(rows.messages, using=using)
        structure = [(row[0], message_ids[row[1]], *row[2:]) for row in rows.structure]
        _write_rows(MessageStructure, structure, using=using)
        _write_rows(TurnUsage, usage, using=using)
        _write_rows(Branch, rows.branches, using=using)
        _write_rows(AuditEntry, rows.audit, using=using)
    return {
        "conversations": len(rows.sessions),
        "messages": len(rows.messages),
        "structure_rows": len(structure),
        "usage_rows": len(usage),
        "branches": len(rows.branches),
    }
