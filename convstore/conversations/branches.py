"""Forking, deleting and activating branches."""

import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from .. import encryption
from ..models import (
    MAIN_BRANCH,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from ..sql import cursor as fixed_sql_cursor
from .base import (
    ON_MAIN,
    ConversationError,
    Position,
    TurnTrimmed,
    audit,
    check_branch_name,
    lock_existing_conversation,
)
from .history import delete_unreferenced_messages

# --- branches ----------------------------------------------------------------


def _branch_found(session_id: str, branch_id: str, *, live_only: bool, using: str) -> bool:
    """Whether a Branch row (a live one, with live_only) or rows that hold the branch are there."""
    if branch_id == MAIN_BRANCH:
        return True
    made = Branch.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
    if live_only:
        made = made.filter(deleted_at=None)
    held = MessageStructure.objects.using(using).filter(session_id=session_id, branch_id=branch_id)
    return made.exists() or held.exists()


def _branch_exists(session_id: str, branch_id: str, *, using: str) -> bool:
    return _branch_found(session_id, branch_id, live_only=True, using=using)


def _name_used(session_id: str, branch_id: str, *, using: str) -> bool:
    """Whether the name is taken: by any branch, deleted ones too, as in the SDK."""
    return _branch_found(session_id, branch_id, live_only=False, using=using)


def _new_branch_name(session_id: str, turn_number: int, *, using: str) -> str:
    base = f"branch_from_turn_{turn_number}_{int(time.time())}"
    name, suffix = base, 1
    while _name_used(session_id, name, using=using):
        suffix += 1
        name = f"{base}_{suffix}"
    return name


# A fork copies the source branch's structure rows before the turn, numbered on
# from the conversation's last sequence number, in one statement: no rows pass
# through Python. The copies share the source's messages.
_COPY_TURNS_SQL = """
    INSERT INTO message_structure (session_id, message_id, branch_id, message_type,
        sequence_number, user_turn_number, branch_turn_number, tool_name)
    SELECT session_id, message_id, %s, message_type,
        %s + ROW_NUMBER() OVER (ORDER BY sequence_number),
        user_turn_number, branch_turn_number, tool_name
    FROM message_structure
    WHERE session_id = %s AND branch_id = %s AND branch_turn_number < %s
"""


def _turn_message(session_id: str, branch_id: str, turn_number: int, *, using: str):
    """The text of the user message that opens the branch's turn; None if there is none."""
    return (
        MessageStructure.objects.using(using)
        .filter(
            session_id=session_id,
            branch_id=branch_id,
            branch_turn_number=turn_number,
            message_type="user",
        )
        .order_by("id")
        .values_list("message__message_data", flat=True)
        .first()
    )


def _refuse_trimmed_turn(session_id: str, branch_id: str, turn_number: int, *, using: str):
    """TurnTrimmed when the branch had reached the turn and max_messages trimmed it since.

    Trimming takes the oldest items, so a trimmed turn is one before the
    branch's oldest remaining user message.
    """
    trimmed, max_messages = (
        AgentSession.objects.using(using)
        .filter(pk=session_id)
        .values_list("trimmed_items", "max_messages")
        .get()
    )
    if not trimmed or turn_number < 1:
        return
    turns = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id, branch_id=branch_id)
        .aggregate(
            oldest_user=Min("branch_turn_number", filter=Q(message_type="user")),
            newest=Max("branch_turn_number"),
        )
    )
    if turns["newest"] is None or turn_number > turns["newest"]:
        return
    if turns["oldest_user"] is None or turn_number < turns["oldest_user"]:
        raise TurnTrimmed(turn_number, branch_id, max_messages)


def _copy_turns_before(
    session_id: str, source: str, turn_number: int, branch_id: str, *, after: int, using: str
) -> None:
    with fixed_sql_cursor(using) as cursor:
        cursor.execute(_COPY_TURNS_SQL, [branch_id, after, session_id, source, turn_number])


def fork(
    *,
    session_id: str,
    turn_number: int,
    branch_name: str | None = None,
    position: Position = ON_MAIN,
    actor=None,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[str, Position, Any]:
    """Make a branch from user turn N of the position's branch: a copy of turns before N.

    Returns the new branch's name, the position on it, and the forked turn's content.
    """
    if branch_name is not None:
        check_branch_name(branch_name)
    with transaction.atomic(using=using):
        locked = lock_existing_conversation(session_id, using=using)
        source = locked.branch_for(position)
        turn_message = _turn_message(session_id, source, turn_number, using=using)
        if turn_message is None:
            _refuse_trimmed_turn(session_id, source, turn_number, using=using)
            raise ConversationError(
                f"Turn {turn_number} does not contain a user message in branch '{source}'"
            )
        if branch_name is None:
            branch_name = _new_branch_name(session_id, turn_number, using=using)
        elif _name_used(session_id, branch_name, using=using):
            raise ConversationError(
                f"Branch ID '{branch_name}' has already been used. Choose a new branch ID."
            )
        _copy_turns_before(
            session_id, source, turn_number, branch_name, after=locked.last_sequence, using=using
        )
        Branch.objects.using(using).create(
            session_id=session_id,
            branch_id=branch_name,
            parent_branch_id=source,
            forked_from_turn=turn_number,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit(
            AuditEntry.Action.FORK,
            session_id,
            actor=actor,
            branch_id=branch_name,
            using=using,
            parent=source,
            turn=turn_number,
        )
    content = (encryption.open_message(session_id, turn_message) or {}).get("content", "")
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
        locked = lock_existing_conversation(session_id, using=using)
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
        delete_unreferenced_messages(message_ids, using=using)
        Branch.objects.using(using).filter(
            session_id=session_id, branch_id=branch_id, deleted_at=None
        ).update(deleted_at=timezone.now())
        if locked.active_branch_id == branch_id:
            AgentSession.objects.using(using).filter(pk=session_id).update(
                active_branch_id=MAIN_BRANCH
            )
        audit(
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
        locked = lock_existing_conversation(session_id, using=using)
        if not _branch_exists(session_id, branch_id, using=using):
            raise ConversationError(f"Branch '{branch_id}' does not exist")
        if locked.active_branch_id == branch_id:
            return
        AgentSession.objects.using(using).filter(pk=session_id).update(active_branch_id=branch_id)
        audit(
            AuditEntry.Action.MAKE_ACTIVE,
            session_id,
            actor=actor,
            branch_id=branch_id,
            using=using,
            previous=locked.active_branch_id,
        )
