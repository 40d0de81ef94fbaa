"""The storage page: what is stored, how big it is, what the policies will remove and when."""

import datetime

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from convstore.models import AgentMessage, AgentSession, AuditEntry, RetentionRun, TurnUsage
from convstore.policies import retention_policies

# The storage page warns when a policy is set and no run has happened for this long.
RETENTION_OVERDUE = datetime.timedelta(days=2)
# How many holds and upcoming purges the page lists.
LISTED = 10

_SQLITE_HAS_DBSTAT = (
    "SELECT COUNT(*) FROM pragma_compile_options WHERE compile_options = 'ENABLE_DBSTAT_VTAB'"
)
# Tables and their indexes, page by page; the pages of an index count for its table.
_SQLITE_TABLE_SIZES = (
    "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name"
    " GROUP BY m.tbl_name ORDER BY 2 DESC, 1"
)
_SQLITE_TOTAL = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
_PG_TABLE_SIZES = (
    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
    " ORDER BY 2 DESC, 1"
)
_PG_TOTAL = "SELECT pg_database_size(current_database())"


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def database_sizes() -> dict:
    """{"total": bytes, "tables": [(table, bytes)], "per_table": whether tables could be sized}.

    SQLite sizes tables with the dbstat table where it is compiled in; without
    it, only the total (pages times page size) is known.
    """
    if connection.vendor == "postgresql":
        return {
            "total": _rows(_PG_TOTAL)[0][0],
            "tables": _rows(_PG_TABLE_SIZES),
            "per_table": True,
        }
    tables = _rows(_SQLITE_TABLE_SIZES) if _rows(_SQLITE_HAS_DBSTAT)[0][0] else []
    return {"total": _rows(_SQLITE_TOTAL)[0][0], "tables": tables, "per_table": bool(tables)}


def _conversation_counts() -> dict:
    return AgentSession.objects.aggregate(
        live=Count("pk", filter=Q(deleted_at__isnull=True)),
        trash=Count("pk", filter=Q(deleted_at__isnull=False)),
        held=Count("pk", filter=Q(held_at__isnull=False)),
    )


def _next_purges(policies) -> list[dict]:
    """The trashed conversations the trash policy purges first, with their dates."""
    if policies.trash_days is None:
        return []
    trashed = AgentSession.objects.filter(deleted_at__isnull=False, held_at__isnull=True)
    rows = trashed.order_by("deleted_at", "session_id").values("session_id", "title", "deleted_at")
    return [{**row, "on": policies.purge_date(row["deleted_at"])} for row in rows[:LISTED]]


def _next_idle(policies) -> list[dict]:
    """The live conversations the idle policy trashes first, with their dates."""
    if policies.retain_days is None:
        return []
    live = AgentSession.objects.filter(deleted_at__isnull=True, held_at__isnull=True)
    rows = live.order_by("updated_at", "session_id").values("session_id", "title", "updated_at")
    return [{**row, "on": policies.idle_trash_date(row["updated_at"])} for row in rows[:LISTED]]


def storage_get() -> dict:
    """Everything the storage page shows, in a fixed number of queries."""
    policies = retention_policies()
    now = timezone.now()
    last_real_run = RetentionRun.objects.filter(dry_run=False).order_by("-started_at").first()
    holds = (
        AgentSession.objects.filter(held_at__isnull=False)
        .select_related("held_by")
        .order_by("-held_at", "session_id")
    )
    return {
        "policies": policies,
        "counts": {
            **_conversation_counts(),
            "messages": AgentMessage.objects.count(),
            "usage_rows": TurnUsage.objects.count(),
        },
        "sizes": database_sizes(),
        "vendor": connection.vendor,
        "holds": list(holds[:LISTED]),
        "next_purges": _next_purges(policies),
        "next_idle": _next_idle(policies),
        "last_run": RetentionRun.objects.order_by("-started_at").first(),
        "last_real_run": last_real_run,
        "retention_overdue": policies.any
        and (last_real_run is None or last_real_run.started_at < now - RETENTION_OVERDUE),
        # The last backup: the audit entry a backup command writes, when one has run.
        "last_backup": AuditEntry.objects.filter(action="backup").order_by("-at").first(),
    }
