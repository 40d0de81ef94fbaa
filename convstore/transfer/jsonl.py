"""Conversations as JSON lines: one line per conversation, every branch in it.

Each branch is what the dashboard's JSON export of one branch holds (its items
as the SDK stores them, with their place, and its usage per turn), so a reader
of one reads the other. Items are written opened, as the dashboard shows them.
"""

import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS

from .. import queries
from ..models import MAIN_BRANCH, AgentSession, MessageStructure


def _branch_ids(session_id: str, using: str) -> list[str]:
    held = (
        MessageStructure.objects.using(using)
        .filter(session_id=session_id)
        .order_by()
        .values_list("branch_id", flat=True)
        .distinct()
    )
    return sorted(set(held) | {MAIN_BRANCH}, key=lambda name: (name != MAIN_BRANCH, name))


def conversation_record(session: AgentSession, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    return {
        "session_id": session.pk,
        "title": session.title,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "active_branch_id": session.active_branch_id,
        "branches": {
            branch_id: queries.branch_export(session.pk, branch_id, using=using)
            for branch_id in _branch_ids(session.pk, using)
        },
    }


def export_jsonl_lines(
    session_ids: Iterable[str], *, batch_size: int = 100, using: str = DEFAULT_DB_ALIAS
) -> Iterator[str]:
    """A line (ending in a newline) per conversation that still exists, in the order given."""
    wanted = list(dict.fromkeys(session_ids))
    for start in range(0, len(wanted), batch_size):
        batch = wanted[start : start + batch_size]
        found = AgentSession.objects.using(using).in_bulk(batch)
        for session_id in batch:
            if session_id in found:
                record = conversation_record(found[session_id], using=using)
                yield json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"
