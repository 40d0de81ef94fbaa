"""Importing conversations read from the SDK's own SQLite files."""

import json
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
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
from ..queries import USAGE_FIELDS
from .base import (
    ConversationError,
    audit,
    check_branch_name,
    check_session_id,
    check_storable,
    lock_conversation,
)
from .history import adopt_unstructured_holding_lock
from .repairs import item_structure_fields

# --- import from an SDK database ---------------------------------------------


def _imported_branches(conversation) -> dict[str, list]:
    """An imported conversation's items per branch, in order."""
    session_id = conversation.session_id
    texts = {
        message.id: encryption.item_for_structure(session_id, message.data)
        for message in conversation.messages
    }
    if conversation.structure is None:
        return {MAIN_BRANCH: list(texts.values())}
    branches: dict[str, list[str]] = {}
    for row in sorted(conversation.structure, key=lambda row: row.sequence_number):
        if row.message_id in texts:
            branches.setdefault(row.branch_id, []).append(texts[row.message_id])
    return branches


def _stored_branches(session_id: str, *, using: str) -> dict[str, list]:
    branches: dict[str, list] = {}
    rows = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id)
        .order_by("sequence_number")
        .values_list("branch_id", "message__message_data")
    )
    for branch_id, data in rows:
        branches.setdefault(branch_id, []).append(encryption.item_for_structure(session_id, data))
    return branches


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
        .values_list("branch_id", "user_turn_number", *USAGE_FIELDS)
    )
    return {_usage_key(*row) for row in rows}


def _same_content(conversation, *, using: str) -> bool:
    session_id = conversation.session_id
    return _stored_branches(session_id, using=using) == _imported_branches(
        conversation
    ) and _stored_usage(session_id, using=using) == _imported_usage(conversation)


def _derive_fields(session_id: str, rows: list[MessageStructure], data: dict[int, str]) -> None:
    """Kind, tool and turn numbers of each row from its item, turns counted per branch
    in order, as appends record them. data: message_data by message id."""
    turns: dict[str, int] = {}
    for row in sorted(rows, key=lambda row: row.sequence_number):
        item = encryption.item_for_structure(session_id, data[row.message_id])
        turn = turns.get(row.branch_id, 0) + sdk_items.is_user_message(item)
        turns[row.branch_id] = turn
        row.user_turn_number = row.branch_turn_number = turn
        for name, value in item_structure_fields(item).items():
            setattr(row, name, value)


def _import_structure(conversation, message_ids: dict[int, int], *, using: str) -> list[str]:
    """Structure rows as the file has them, or derived (main) when it has none.

    Rows the SDK recorded over envelopes keep their branch and order; their
    kinds, tools and turns are derived from the opened items.
    """
    session_id = conversation.session_id
    if conversation.structure is None:
        rows = [
            MessageStructure(
                session_id=session_id,
                message_id=message_ids[message.id],
                sequence_number=offset,
                created_at=message.created_at,
            )
            for offset, message in enumerate(conversation.messages, start=1)
        ]
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
    if conversation.structure is None or conversation.derive_structure:
        data = {
            message_ids[message.id]: message.data
            for message in conversation.messages
            if message.id in message_ids
        }
        _derive_fields(session_id, rows, data)
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


def _check_importable(conversation) -> None:
    """ConversationError, naming the conversation, for what no write here accepts."""
    session_id = conversation.session_id
    try:
        check_session_id(session_id)
        for message in conversation.messages:
            check_storable(message.data, f"Message {message.id}")
        branches = {row.branch_id for row in conversation.structure or ()}
        for name in branches | set(conversation.reserved_branches) - {MAIN_BRANCH}:
            check_branch_name(name)
    except ConversationError as exc:
        raise ConversationError(f"Conversation {session_id!r}: {exc}") from None


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
    _check_importable(conversation)
    with transaction.atomic(using=using):
        locked = lock_conversation(session_id, using=using)
        if locked is not None:
            if locked.needs_adoption:
                adopt_unstructured_holding_lock(locked, using=using)
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
                    session_id=session_id,
                    message_data=encryption.stored_text(
                        session_id, message.data, sealed_at=message.sealed_at
                    ),
                    created_at=message.created_at,
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
                    **{name: getattr(row, name) for name in USAGE_FIELDS},
                )
                for row in conversation.usage
            ]
        )
        counts = {
            "messages": len(created),
            "branches": len(held),
            "usage_rows": len(conversation.usage),
        }
        audit(
            AuditEntry.Action.IMPORT,
            session_id,
            actor=actor,
            actor_label=actor_label,
            using=using,
            source=source,
            **counts,
        )
    return counts
