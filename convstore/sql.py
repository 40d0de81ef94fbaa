"""Running the fixed SQL statements of appends and of an agent's reads.

Those statements are written out once, not built with the ORM: building them
on every call took longer than running them. They run on Django's cursor
wrapper, in Django's transactions, so query logging, execute wrappers, tools
that instrument Django's cursor and transaction.on_commit work with them as
with any other statement.

On PostgreSQL they run on a cursor that binds parameters server-side, which
lets psycopg prepare a statement once a connection has run it
DATABASE_PREPARE_THRESHOLD times (see settings; "off" never prepares); later
runs skip parsing and planning, most of their cost. Django's default binds
client-side, which re-plans every statement. Such a cursor runs one statement
per execute. On SQLite they run on Django's plain cursor.
"""

import contextlib

from django.db import connections, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _LoggedCursor(CursorDebugWrapper):
    """Django's query log for a server-binding cursor.

    Django reads the text of the statement run back from psycopg, which has
    none for a prepared statement; this logs the statement with its values.
    """

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def cursor(using: str):
    """A cursor for fixed statements, opened as Django's connection.cursor() opens one."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw_cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return _LoggedCursor(raw_cursor, connection)
    return connection.make_cursor(raw_cursor)


def fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with cursor(using) as running:
        running.execute(sql, params)
        return running.fetchall()


@contextlib.contextmanager
def write_transaction(using: str):
    """transaction.atomic() with a cursor for fixed statements."""
    with transaction.atomic(using=using), cursor(using) as running:
        yield running
