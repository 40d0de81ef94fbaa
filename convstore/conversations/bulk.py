"""One action over many conversations: trash, restore or purge, in batches.

Each batch is one transaction, so a bulk action over thousands of
conversations never holds the write lock for long and agents keep writing
between batches. Each conversation goes through the single write (trash,
restore, purge), which audits it; the entries of one bulk action share its
id, and record its action, scope and filter (see base.bulk_audit). A
conversation the write refuses (gone meanwhile, not in the trash, on legal
hold) is skipped with the reason, and the others go on.
"""

import uuid
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction

from ..models import AuditEntry
from .base import ConversationError, bulk_audit
from .reads import READ_KINDS
from .trash import PURGE_PERMISSION, purge, restore, trash

BULK_WRITES = {"trash": trash, "restore": restore, "purge": purge}

# Conversations per transaction. A purge deletes every row of its conversations,
# so its batches are smaller.
BATCH_SIZES = {"trash": 200, "restore": 200, "purge": 25}


@dataclass
class BulkOutcome:
    bulk_id: str
    action: str
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (session id, why)


def new_bulk(*, action: str, scope: str, filter: dict) -> dict:
    """What every audit entry of one bulk action records: a fresh id, the action, its scope
    ("selected" rows or every conversation "matching" the filter) and the filter."""
    return {"id": uuid.uuid4().hex, "action": action, "scope": scope, "filter": filter}


def _batches(values: list[str], size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def bulk_apply(
    *,
    bulk: dict,
    session_ids: list[str],
    actor=None,
    batch_size: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> BulkOutcome:
    """Run bulk["action"] (trash, restore or purge) on each conversation, in batches."""
    action = bulk["action"]
    if action not in BULK_WRITES:
        raise ValueError(f"Unknown bulk action {action!r}")
    if action == "purge" and actor is not None and not actor.has_perm(PURGE_PERMISSION):
        raise PermissionError("Purging conversations needs the 'purge' permission")
    write = BULK_WRITES[action]
    outcome = BulkOutcome(bulk_id=bulk["id"], action=action)
    with bulk_audit(bulk):
        for batch in _batches(list(dict.fromkeys(session_ids)), batch_size or BATCH_SIZES[action]):
            with transaction.atomic(using=using):
                for session_id in batch:
                    try:
                        write(session_id=session_id, actor=actor, using=using)
                    except ConversationError as exc:
                        outcome.skipped.append((session_id, str(exc)))
                    else:
                        outcome.done.append(session_id)
    return outcome


def record_bulk_export(
    *, bulk: dict, session_ids: list[str], actor, kind: str, using: str = DEFAULT_DB_ALIAS
) -> int:
    """Audit a bulk export: one "read" entry per conversation, sharing the bulk's id.

    Unlike a page view, a download is never folded into an earlier read.
    """
    if kind not in READ_KINDS:
        raise ValueError(f"Unknown kind of read: {kind!r}")
    entries = [
        AuditEntry(
            action=AuditEntry.Action.READ,
            actor=actor if actor is not None and actor.is_authenticated else None,
            session_id=session_id,
            detail={"kind": kind, "bulk": bulk},
        )
        for session_id in dict.fromkeys(session_ids)
    ]
    AuditEntry.objects.using(using).bulk_create(entries, batch_size=500)
    return len(entries)
