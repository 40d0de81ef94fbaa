"""Copying a branch of a conversation into a new conversation."""

from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction

from .. import items as sdk_items
from .. import queries
from ..models import AgentSession, AuditEntry
from .base import (
    ConversationError,
    audit,
    check_session_id,
    lock_existing_conversation,
)
from .branches import _branch_exists, _turn_message
from .history import append_items


def _items_up_to_turn(items: list, up_to_turn: int | None) -> list:
    """The items before the user message that opens the turn after up_to_turn."""
    if up_to_turn is None:
        return items
    turns = 0
    for index, item in enumerate(items):
        if sdk_items.is_user_message(item):
            turns += 1
            if turns > up_to_turn:
                return items[:index]
    return items


def _check_turn(session_id: str, branch_id: str, up_to_turn, *, using: str) -> None:
    if up_to_turn is None:
        return
    if not isinstance(up_to_turn, int) or isinstance(up_to_turn, bool) or up_to_turn < 1:
        raise ConversationError(f"up_to_turn must be a positive turn number, not {up_to_turn!r}")
    if _turn_message(session_id, branch_id, up_to_turn, using=using) is None:
        raise ConversationError(f"Turn {up_to_turn} does not exist in branch '{branch_id}'")


def copy_conversation(
    *,
    session_id: str,
    new_session_id: str,
    branch_id: str,
    up_to_turn: int | None = None,
    actor=None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Copy a branch, whole or up to a turn, as the main branch of a new conversation.

    The items are appended to the new conversation as an agent appends them,
    so their structure is derived, and with encryption on they are sealed
    under the new conversation's key. Usage is not copied: those turns ran
    once, in the original. Returns the number of items copied.
    """
    check_session_id(new_session_id)
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using)
        if not _branch_exists(session_id, branch_id, using=using):
            raise ConversationError(f"Branch '{branch_id}' does not exist")
        _check_turn(session_id, branch_id, up_to_turn, using=using)
        items = _items_up_to_turn(
            queries.branch_items(session_id, branch_id, using=using), up_to_turn
        )
        try:
            with transaction.atomic(using=using):
                AgentSession.objects.using(using).create(
                    session_id=new_session_id,
                    copied_from_session_id=session_id,
                    copied_from_branch_id=branch_id,
                    copied_up_to_turn=up_to_turn,
                )
        except IntegrityError:
            raise ConversationError(
                f"Conversation id '{new_session_id}' is already in use; choose another"
            ) from None
        append_items(session_id=new_session_id, items=items, using=using)
        audit(
            AuditEntry.Action.COPY,
            session_id,
            actor=actor,
            branch_id=branch_id,
            using=using,
            copy=new_session_id,
            up_to_turn=up_to_turn,
            items=len(items),
        )
    return len(items)
