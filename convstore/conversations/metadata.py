"""A conversation's metadata: the JSON object agent code labels it with."""

import json
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from ..models import MAIN_BRANCH, AgentSession
from ..sql import cursor as fixed_sql_cursor
from .base import ConversationError, ConversationInTrash, lock_conversation_for_append

# The most a conversation's metadata may hold, as compact JSON in UTF-8.
METADATA_MAX_BYTES = 16 * 1024


def _encoded_size(metadata: dict) -> int:
    return len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode())


def check_metadata(metadata: Any) -> None:
    """ConversationError unless metadata is a JSON object of at most 16 KB that both
    databases can store."""
    if not isinstance(metadata, dict):
        raise ConversationError(
            f"metadata must be a JSON object (a dict), not {type(metadata).__name__}"
        )
    if any(not isinstance(key, str) for key in metadata):
        raise ConversationError("metadata keys must be strings")
    try:
        encoded = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ConversationError(f"metadata must be JSON-serialisable: {error}") from None
    if "\\u0000" in encoded:
        # PostgreSQL's jsonb cannot hold a NUL character.
        raise ConversationError("metadata contains a NUL character, which cannot be stored")
    size = _encoded_size(metadata)
    if size > METADATA_MAX_BYTES:
        raise ConversationError(
            f"metadata is {size:,} bytes as JSON; at most {METADATA_MAX_BYTES:,} are allowed"
        )


def merged_metadata(current: dict | None, changes: dict) -> dict:
    """The metadata with changes applied key by key; a key set to None is removed."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def set_metadata(
    *, session_id: str, metadata: dict, using: str = DEFAULT_DB_ALIAS
) -> dict[str, Any]:
    """Merge metadata into the conversation's, key by key, creating the conversation
    if it is new. Returns the metadata now stored."""
    check_metadata(metadata)
    with transaction.atomic(using=using), fixed_sql_cursor(using) as cursor:
        locked = lock_conversation_for_append(cursor, session_id, using=using, turns_of=MAIN_BRANCH)
        if locked.deleted_at is not None:
            raise ConversationInTrash(session_id)
        rows = AgentSession.objects.using(using).filter(pk=session_id)
        merged = merged_metadata(rows.values_list("metadata", flat=True).get(), metadata)
        if _encoded_size(merged) > METADATA_MAX_BYTES:
            raise ConversationError(
                f"metadata would be {_encoded_size(merged):,} bytes as JSON once merged;"
                f" at most {METADATA_MAX_BYTES:,} are allowed"
            )
        rows.update(metadata=merged or None)
    return merged
