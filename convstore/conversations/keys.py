"""Changing the encryption of stored items: sealing plaintext, moving to the newest key.

Both walk agent_messages in id order and rewrite message_data in batches, each
batch one short transaction that locks the conversations it touches as every
other write does, so an agent's append waits for one batch at most. Only
message_data changes: ids, order and structure rows stay as they are. Rows are
read again under the lock, so a row that an agent popped or an admin edited
since the scan is seen as it is now. A run can be stopped at any point and run
again: it picks up what is left.

On SQLite every batch runs with secure_delete on, so the bytes a rewrite frees
are overwritten with zeros instead of staying in the file's free space;
truncate_sqlite_wal then removes the WAL's older page images. PostgreSQL keeps
old row versions until vacuum_full_messages.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .. import encryption
from ..models import AgentMessage, AgentSession, AuditEntry
from .base import ConversationNotFound, audit, lock_conversations

BATCH_SIZE = 500
# Rows read per query while looking for the ones to change.
SCAN_CHUNK = 2000


@dataclass
class KeyRun:
    """How far a run of encrypt_plaintext_items or rekey_items has got.

    Figures count committed batches only: after an UnreadableItem they say
    what is done and will stay done.
    """

    to_do: int
    conversations: int
    # Of to_do, the items in committed batches.
    done: int = 0
    # Items rewritten, per conversation (fewer than done when agents popped some).
    changed: Counter = field(default_factory=Counter)
    # Items stored as plaintext when the run began.
    plaintext: int = 0

    @property
    def items_changed(self) -> int:
        return sum(self.changed.values())


def encrypt_plaintext_items(
    *,
    session_ids: list[str] | None = None,
    batch_size: int = BATCH_SIZE,
    using: str = DEFAULT_DB_ALIAS,
) -> Iterator[KeyRun]:
    """Encrypt the items stored as plaintext (written before keys were set) with the
    newest key. Yields the run's progress once found, then after every batch."""
    return _rewrite(
        AuditEntry.Action.ENCRYPT,
        needs_change=lambda _session_id, data: encryption.needs_sealing(data),
        rewritten=encryption.stored_text,
        session_ids=session_ids,
        batch_size=batch_size,
        using=using,
    )


def rekey_items(
    *,
    session_ids: list[str] | None = None,
    batch_size: int = BATCH_SIZE,
    using: str = DEFAULT_DB_ALIAS,
) -> Iterator[KeyRun]:
    """Re-encrypt every item not under the newest key with it, keeping each token's
    time. Items under the newest key and plaintext items are left as they are;
    encryption.UnreadableItem for one that no configured key opens (its batch
    rolls back). Yields the run's progress once found, then after every batch."""
    return _rewrite(
        AuditEntry.Action.REKEY,
        needs_change=encryption.needs_rekeying,
        rewritten=encryption.rekeyed_text,
        session_ids=session_ids,
        batch_size=batch_size,
        using=using,
    )


def _rewrite(
    action: str,
    *,
    needs_change: Callable[[str, str], bool],
    rewritten: Callable[[str, str], str],
    session_ids: list[str] | None,
    batch_size: int,
    using: str,
) -> Iterator[KeyRun]:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    _check_exist(session_ids, using=using)
    to_do, in_conversations, plaintext = [], set(), 0
    for message_id, session_id, data in _scan(session_ids, using=using):
        plaintext += encryption.needs_sealing(data)
        if needs_change(session_id, data):
            to_do.append(message_id)
            in_conversations.add(session_id)
    run = KeyRun(to_do=len(to_do), conversations=len(in_conversations), plaintext=plaintext)
    yield run
    audit_ids: dict[str, int] = {}
    for start in range(0, len(to_do), batch_size):
        batch = to_do[start : start + batch_size]
        changed, new_audit_ids = _rewrite_batch(
            action, batch, rewritten, run, audit_ids, using=using
        )
        run.done += len(batch)
        run.changed.update(changed)
        audit_ids.update(new_audit_ids)
        yield run


def _check_exist(session_ids: list[str] | None, *, using: str) -> None:
    if not session_ids:
        return
    found = set(
        AgentSession.objects.using(using)
        .filter(pk__in=session_ids)
        .values_list("session_id", flat=True)
    )
    for session_id in session_ids:
        if session_id not in found:
            raise ConversationNotFound(f"Conversation '{session_id}' does not exist")


def _scan(session_ids: list[str] | None, *, using: str) -> Iterator[tuple[int, str, str]]:
    """(id, session_id, message_data) of every message, in id order, a chunk per query."""
    rows = AgentMessage.objects.using(using).order_by("id")
    if session_ids:
        rows = rows.filter(session_id__in=session_ids)
    last_id = 0
    while True:
        chunk = list(
            rows.filter(id__gt=last_id).values_list("id", "session_id", "message_data")[:SCAN_CHUNK]
        )
        yield from chunk
        if len(chunk) < SCAN_CHUNK:
            return
        last_id = chunk[-1][0]


def _rewrite_batch(
    action: str,
    message_ids: list[int],
    rewritten: Callable[[str, str], str],
    run: KeyRun,
    audit_ids: dict[str, int],
    *,
    using: str,
) -> tuple[Counter, dict[str, int]]:
    """Rewrite the batch's rows under their conversations' locks; the items changed per
    conversation, and the audit entries the batch wrote."""
    messages = AgentMessage.objects.using(using).filter(pk__in=message_ids)
    with transaction.atomic(using=using):
        _erase_freed_bytes(using)
        lock_conversations(messages.values_list("session_id", flat=True), using=using)
        changed = []
        for message in messages.only("id", "session_id", "message_data").order_by("id"):
            data = rewritten(message.session_id, message.message_data)
            if data != message.message_data:
                message.message_data = data
                changed.append(message)
        AgentMessage.objects.using(using).bulk_update(changed, ["message_data"])
        counts = Counter(message.session_id for message in changed)
        new_audit_ids = _audit(action, counts, run, audit_ids, using=using)
    return counts, new_audit_ids


def _audit(
    action: str, counts: Counter, run: KeyRun, audit_ids: dict[str, int], *, using: str
) -> dict[str, int]:
    """One entry per conversation and run, counts only: written by the first batch that
    changes the conversation and raised by the later ones, each in its own transaction,
    so the entries of a run stopped halfway still count exactly what it changed.
    Returns the entries written."""
    written = {}
    for session_id, count in counts.items():
        total = run.changed[session_id] + count
        if session_id in audit_ids:
            entry = AuditEntry.objects.using(using).filter(pk=audit_ids[session_id])
            entry.update(detail={"items": total})
        else:
            created = audit(action, session_id, using=using, actor_label="command", items=total)
            written[session_id] = created.pk
    return written


def _erase_freed_bytes(using: str) -> None:
    # Per connection and not kept across reconnects: set in every batch.
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def truncate_sqlite_wal(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Copy the WAL into the database file and empty it, so no older page image (which
    may hold plaintext) stays in it. False when readers kept it from finishing."""
    with connections[using].cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _log_frames, _checkpointed = cursor.fetchone()
    return busy == 0


def vacuum_full_messages(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """PostgreSQL: rewrite agent_messages and its indexes without the old row versions.

    Locks the table while it runs. VACUUM cannot run inside a transaction.
    """
    connection = connections[using]
    if not connection.get_autocommit():
        raise transaction.TransactionManagementError("VACUUM FULL cannot run in a transaction")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL agent_messages")
