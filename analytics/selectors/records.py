"""The trash and the audit log."""

import json

from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
)

from convstore.models import (
    AgentMessage,
    AgentSession,
    AuditEntry,
)
from convstore.policies import retention_policies

from .common import (
    AUDIT_PER_PAGE,
    TRASH_PER_PAGE,
    Page,
    page_of,
)
from .listing import per_session_aggregate, with_conversation_figures

# --- trash and audit -------------------------------------------------------------------


def trash_list(*, page: int = 1, per_page: int = TRASH_PER_PAGE) -> Page:
    """The trash, newest first; each row with purge_on, when the trash policy purges it
    (None: held, or the trash is kept forever)."""
    trashed = AgentSession.objects.filter(deleted_at__isnull=False).select_related("deleted_by")
    messages = AgentMessage.objects.filter(session_id=OuterRef("pk"))
    found = page_of(
        with_conversation_figures(trashed)
        .annotate(message_count=per_session_aggregate(messages, Count("id")))
        .order_by(F("deleted_at").desc(), "session_id"),
        number=page,
        per_page=per_page,
    )
    policies = retention_policies()
    for session in found.rows:
        session.purge_on = None if session.on_hold else policies.purge_date(session.deleted_at)
    found.extra["trash_days"] = policies.trash_days
    return found


def last_backup_get() -> AuditEntry | None:
    """The audit entry of the newest `manage.py backup` run, for the storage page."""
    backups = AuditEntry.objects.filter(action=AuditEntry.Action.BACKUP)
    return backups.order_by("-at", "-id").first()


def audit_list(
    *,
    action: str = "",
    conversation: str = "",
    actor: str = "",
    page: int = 1,
    per_page: int = AUDIT_PER_PAGE,
    with_text: bool = True,
) -> Page:
    """Audit entries, newest first; without with_text, no message text in their details."""
    entries = AuditEntry.objects.select_related("actor")
    if action:
        entries = entries.filter(action=action)
    if conversation:
        entries = entries.filter(session_id=conversation)
    if actor:
        entries = entries.filter(Q(actor__username=actor) | Q(actor_label=actor))
    found = page_of(entries.order_by("-at", "-id"), number=page, per_page=per_page)
    for entry in found.rows:
        detail = entry.detail if with_text else entry.detail_without_text()
        entry.detail_pairs = audit_detail_pairs(detail)
    return found


def audit_detail_pairs(detail) -> list[tuple[str, str]]:
    """An entry's detail as (key, text) pairs, ready to print.

    Prepared here because a template's lookup of entry.detail.items would
    find a detail key named "items" (or "keys", "values", ...) first.
    """
    if not isinstance(detail, dict):
        return [("", _detail_text(detail))]
    return [(str(key), _detail_text(value)) for key, value in detail.items()]


def _detail_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
