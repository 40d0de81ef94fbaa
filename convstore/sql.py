"""Running the fixed SQL statements of appends and of an agent's reads.

Those statements are written out once, not built with the ORM: building them
on every call took longer than running them. They still go through Django's
cursor wrapper, so query logging and execute wrappers see them.

On PostgreSQL they run on a cursor that binds parameters server-side, which
lets psycopg prepare a statement once a connection has run it
DATABASE_PREPARE_THRESHOLD times (see settings); later runs skip parsing and
planning. Planning was most of their cost: a conversation's state read took
0.63 ms bound client-side (Django's default, which re-plans every statement)
and 0.24 ms prepared. Such a cursor runs one statement per execute.
"""

from django.db import connections
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
    """A cursor for fixed statements; on PostgreSQL one that binds server-side."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    binding = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return _LoggedCursor(binding, connection)
    return connection.make_cursor(binding)


def fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with cursor(using) as running:
        running.execute(sql, params)
        return running.fetchall()
