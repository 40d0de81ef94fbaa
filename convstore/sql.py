"""Running the fixed SQL statements of appends and of an agent's reads.

Those statements are written out once, not built with the ORM: building them
on every call took longer than running them. They still go through Django's
cursor wrapper, so query logging and execute wrappers see them; the one
exception, an append on SQLite when nothing is watching, is write_transaction's.

On PostgreSQL they run on a cursor that binds parameters server-side, which
lets psycopg prepare a statement once a connection has run it
DATABASE_PREPARE_THRESHOLD times (see settings); later runs skip parsing and
planning. Planning was most of their cost: a conversation's state read took
0.63 ms bound client-side (Django's default, which re-plans every statement)
and 0.24 ms prepared. Such a cursor runs one statement per execute.

On SQLite they run on Django's own cursor class, except that a statement's %s
placeholders are turned into sqlite3's ? once, not on every run: Django's
regular expression took 9 µs on an append's longer statements.

write_transaction() runs such statements as one write transaction. On SQLite,
when nothing relies on Django's transaction and cursor layers, it runs BEGIN
IMMEDIATE, the statements and COMMIT on the sqlite3 cursor of Django's own
connection: those layers took about a tenth of an append's time.
"""

import contextlib
import functools
import sqlite3

from django.db import connections, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _LoggedCursor(CursorDebugWrapper):
    """Django's query log for a server-binding cursor.

    Django reads the text of the statement run back from psycopg, which has
    none for a prepared statement; this logs the statement with its values.
    """

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


class _QmarkOnceCursor(SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark_query(query)
        return super().convert_query(query, param_names=param_names)


@functools.lru_cache(maxsize=512)
def _qmark_query(query: str) -> str:
    return SQLiteCursorWrapper.convert_query(None, query)


class _BareSQLiteCursor(sqlite3.Cursor):
    """sqlite3's own cursor, taking the %s placeholders Django's cursors take."""

    def execute(self, sql, params=()):
        return super().execute(_qmark_query(sql), params)


def cursor(using: str):
    """A cursor for fixed statements, opened as Django's connection.cursor() opens one."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        if connection.vendor == "sqlite":
            raw_cursor = connection.connection.cursor(factory=_QmarkOnceCursor)
        else:
            raw_cursor = ServerBindingCursor(connection.connection)
    if not connection.queries_logged:
        return connection.make_cursor(raw_cursor)
    if connection.vendor == "sqlite":
        return connection.make_debug_cursor(raw_cursor)
    return _LoggedCursor(raw_cursor, connection)


def fetch(sql: str, params: list, *, using: str) -> list[tuple]:
    with cursor(using) as running:
        running.execute(sql, params)
        return running.fetchall()


def _runs_unobserved(connection) -> bool:
    """Whether skipping Django's transaction and cursor layers changes nothing anyone sees.

    Not inside a caller's atomic() or a transaction the caller opened, where
    autocommit is off (the statements must join it), not while queries are
    logged (DEBUG, assertNumQueries), not with execute wrappers installed.
    """
    return (
        connection.vendor == "sqlite"
        and connection.autocommit
        and not connection.queries_logged
        and not connection.execute_wrappers
    )


@contextlib.contextmanager
def write_transaction(using: str):
    """One write transaction, on a cursor for fixed statements: committed when the
    block ends, rolled back when it raises.

    Usually transaction.atomic() with a cursor(). On SQLite when
    _runs_unobserved: BEGIN IMMEDIATE (as the settings' transaction_mode) and
    COMMIT on the sqlite3 cursor of Django's connection, which is opened,
    health-checked and closed as usual, its database errors wrapped as Django's.
    Measured on an append, the two layers took about a tenth of its time (see
    bench/session_bench.py). Only statements on the given cursor belong in the
    block: Django does not know a transaction is open there, so ORM code that
    opens atomic() would fail to BEGIN.
    """
    connection = connections[using]
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if not _runs_unobserved(connection):
        with transaction.atomic(using=using), cursor(using) as running:
            yield running
        return
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        running = connection.connection.cursor(factory=_BareSQLiteCursor)
        try:
            running.execute("BEGIN IMMEDIATE")
            yield running
            running.execute("COMMIT")
        except BaseException:
            if connection.connection.in_transaction:
                connection.connection.rollback()
            raise
        finally:
            running.close()
