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


def cursor(using: str):
    """A cursor for fixed statements; on PostgreSQL one that binds server-side."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    # What connection.cursor() does, with another cursor class.
    return connection._prepare_cursor(ServerBindingCursor(connection.connection))


def fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with cursor(using) as running:
        running.execute(sql, params)
        return running.fetchall()
