"""Soft delete, restore and purge."""

import datetime

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from ..models import (
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from .base import ConversationError, ConversationHeld, audit, lock_existing_conversation

# --- trash -------------------------------------------------------------------


def trash(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Hide a conversation everywhere but the trash, keeping every row."""
    with transaction.atomic(using=using):
        lock_existing_conversation(session_id, using=using)
        AgentSession.objects.using(using).filter(pk=session_id).update(
            deleted_at=timezone.now(),
            deleted_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit(AuditEntry.Action.TRASH, session_id, actor=actor, using=using)


def restore(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring a conversation back from the trash exactly as it was.

    Restoring counts as activity (updated_at is set to now), so a retention
    policy does not move it straight back to the trash.
    """
    with transaction.atomic(using=using):
        locked = lock_existing_conversation(session_id, using=using, allow_trash=True)
        if locked.deleted_at is None:
            raise ConversationError(f"Conversation '{session_id}' is not in the trash")
        AgentSession.objects.using(using).filter(pk=session_id).update(
            deleted_at=None, deleted_by=None, updated_at=timezone.now()
        )
        audit(AuditEntry.Action.RESTORE, session_id, actor=actor, using=using)


PURGE_PERMISSION = "convstore.purge_agentsession"


def purge(
    *,
    session_id: str,
    actor=None,
    actor_label: str | None = None,
    trashed_before: datetime.datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Delete a conversation in the trash for good. Needs the purge permission.

    ConversationHeld for a conversation on legal hold. trashed_before (for a
    retention policy): refused unless it went to the trash before then.
    """
    if actor is not None and not actor.has_perm(PURGE_PERMISSION):
        raise PermissionError("Purging conversations needs the 'purge' permission")
    with transaction.atomic(using=using):
        locked = lock_existing_conversation(session_id, using=using, allow_trash=True)
        if locked.deleted_at is None:
            raise ConversationError(
                f"Conversation '{session_id}' is not in the trash; move it there first"
            )
        row = AgentSession.objects.using(using).values("deleted_at", "held_at").get(pk=session_id)
        if row["held_at"] is not None:
            raise ConversationHeld(session_id)
        if trashed_before is not None and row["deleted_at"] >= trashed_before:
            raise ConversationError(
                f"Conversation '{session_id}' went to the trash after {trashed_before:%Y-%m-%d}"
            )
        counts = {}
        for model in (TurnUsage, MessageStructure, AgentMessage, Branch):
            deleted, _ = model.objects.using(using).filter(session_id=session_id).delete()
            counts[model._meta.db_table] = deleted
        AgentSession.objects.using(using).filter(pk=session_id).delete()
        audit(
            AuditEntry.Action.PURGE,
            session_id,
            actor=actor,
            actor_label=actor_label,
            using=using,
            rows=counts,
        )


def hard_delete(*, session_id: str, actor=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete a conversation for good, live or in the trash: trash then purge, in one
    transaction, so that whatever refuses either step leaves it as it was."""
    with transaction.atomic(using=using):
        locked = lock_existing_conversation(session_id, using=using, allow_trash=True)
        if locked.deleted_at is None:
            trash(session_id=session_id, actor=actor, using=using)
        purge(session_id=session_id, actor=actor, using=using)
