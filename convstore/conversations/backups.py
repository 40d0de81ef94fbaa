"""The record of a backup run, so the dashboard can show the last one."""

from django.db import DEFAULT_DB_ALIAS, transaction

from ..models import AuditEntry
from .base import audit


def record_backup(
    *, path: str, engine: str, size: int, seconds: float, using: str = DEFAULT_DB_ALIAS
) -> AuditEntry:
    """Audit a backup made by `manage.py backup` (it belongs to no conversation)."""
    with transaction.atomic(using=using):
        return audit(
            AuditEntry.Action.BACKUP,
            "",
            actor_label="command",
            using=using,
            path=path,
            engine=engine,
            size=size,
            seconds=round(seconds, 3),
        )
