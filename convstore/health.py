"""/healthz: for load balancers, no login, no data, one query."""

import logging
from functools import cache

from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@cache
def migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration the code holds; read from disk once per process, as it cannot change."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def check_database() -> tuple[str, str]:
    """(database, migrations): "ok", or what failed.

    The one query reads the applied migrations, which also proves that the
    database answers; it runs on every probe, so a database migrated back or
    swapped under a running server is noticed.
    """
    try:
        applied = set(MigrationRecorder(connection).migration_qs.values_list("app", "name"))
    except DatabaseError as exc:
        logger.warning("healthz: the database check failed: %s", exc)
        if migrations_table_missing():
            return "ok", "pending"
        return "unavailable", "unknown"
    return "ok", "ok" if migrations_on_disk() <= applied else "pending"


def migrations_table_missing() -> bool:
    """A database that answers but was never migrated (only asked when the query failed)."""
    try:
        return not MigrationRecorder(connection).has_table()
    except DatabaseError:
        return False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    database, migrations = check_database()
    healthy = database == "ok" and migrations == "ok"
    return JsonResponse(
        {"database": database, "migrations": migrations}, status=200 if healthy else 503
    )
