"""Reads of message text by a person, each in the audit log: who, when, which
conversation and branch, and what kind of read.

A page that re-renders (the conversation page does whenever the agent writes)
is one read: the same user, conversation, branch and kind within
READ_REPEAT_WINDOW writes no new entry. An entry never holds message text.
Unlike the other writes, these take no lock on the conversation: a person
reading must not wait for an agent writing.
"""

import datetime

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q
from django.db.models.functions import Now

from ..models import AuditEntry

CONTENT_PERMISSION = "convstore.view_content"

READ_KINDS = (
    "transcript",  # the dashboard's conversation page
    "compare",  # the dashboard's compare page, once per branch shown
    "export_json",
    "export_csv",
    "export_jsonl",  # the dashboard's bulk export as JSON lines
    "export_sqlite",  # an Agents SDK SQLite file: the admin's download, the bulk export
    "admin_message",  # the admin's change form of one message
    "admin_conversation",  # the admin's conversation page, with its item previews
    "admin_list",  # an admin list of messages or structure rows, with previews
)

READ_REPEAT_WINDOW = datetime.timedelta(minutes=5)


# Pairs looked up per query: SQLite refuses a WHERE deeper than 1,000 terms.
READS_PER_QUERY = 200


def record_content_reads(
    *,
    reads: list[tuple[str, str | None]],
    actor,
    kind: str,
    message_id: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Audit that actor was shown the text of these (conversation, branch) pairs.

    branch None: no one branch (a message, a file of every branch). Pairs read
    by actor as the same kind within READ_REPEAT_WINDOW are skipped. Returns
    the number of entries written: two queries per READS_PER_QUERY pairs at most.
    """
    if kind not in READ_KINDS:
        raise ValueError(f"Unknown kind of read: {kind!r}")
    detail = {"kind": kind} if message_id is None else {"kind": kind, "message_id": message_id}
    wanted = list(dict.fromkeys(reads))
    written = 0
    for start in range(0, len(wanted), READS_PER_QUERY):
        batch = wanted[start : start + READS_PER_QUERY]
        written += _record_unless_recent(batch, actor=actor, detail=detail, using=using)
    return written


def _record_unless_recent(
    reads: list[tuple[str, str | None]], *, actor, detail: dict, using: str
) -> int:
    # Served by the index audit_reads_latest. Two requests at the same moment
    # may both write: an entry too many, never one too few.
    pairs = Q()
    for session_id, branch_id in reads:
        pairs |= Q(session_id=session_id, branch_id=branch_id)
    recent = AuditEntry.objects.using(using).filter(
        pairs,
        action=AuditEntry.Action.READ,
        actor=actor,
        at__gte=Now() - READ_REPEAT_WINDOW,
        **{f"detail__{key}": value for key, value in detail.items()},
    )
    seen = set(recent.order_by().values_list("session_id", "branch_id"))
    new = [
        AuditEntry(
            action=AuditEntry.Action.READ,
            actor=actor,
            session_id=session_id,
            branch_id=branch_id,
            detail=detail,
        )
        for session_id, branch_id in reads
        if (session_id, branch_id) not in seen
    ]
    if new:
        AuditEntry.objects.using(using).bulk_create(new)
    return len(new)


def record_content_read(
    *,
    session_id: str,
    branch_id: str | None,
    actor,
    kind: str,
    message_id: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> bool:
    """Audit that actor was shown the text of one conversation's branch; False if it
    was recorded already within READ_REPEAT_WINDOW."""
    written = record_content_reads(
        reads=[(session_id, branch_id)],
        actor=actor,
        kind=kind,
        message_id=message_id,
        using=using,
    )
    return written == 1
