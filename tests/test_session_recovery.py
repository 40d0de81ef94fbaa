"""A DjangoSession whose database connection went bad recovers on its next call.

Agent code keeps one connection for as long as it runs; Django closes broken
connections only between requests. A call that fails with a database error
closes its connection, so the next call opens a fresh one.
"""

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection

from convstore.session import DjangoSession
from tests.conftest import run_async

pytestmark = pytest.mark.django_db(transaction=True)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def make_connection_read_only() -> None:
    """What a database file that was read-only when it was opened does to a connection."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")


def kill_the_connection() -> None:
    """What a database restart or a dropped network link does to a connection."""
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


async def fail_once_then_append(break_connection) -> list:
    session = DjangoSession("recovering")
    await session.add_items([user("before")])
    await sync_to_async(break_connection, thread_sensitive=True)()
    with pytest.raises(DatabaseError):
        await session.add_items([user("lost")])
    await session.add_items([user("after")])
    return [item["content"] for item in await session.get_items()]


def test_an_append_after_a_read_only_fault_works_again():
    assert run_async(fail_once_then_append(make_connection_read_only)) == ["before", "after"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server connection to kill")
def test_an_append_after_the_server_dropped_the_connection_works_again():
    assert run_async(fail_once_then_append(kill_the_connection)) == ["before", "after"]
