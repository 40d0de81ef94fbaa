"""The session stores bench/session_bench.py compares, and a raw floor for each database.

Each is an Implementation: how to open a session object of it, how to close
one, and which workloads it can run.

The encrypted rows: DjangoSession with CONVSTORE_ENCRYPTION_KEYS set, and the
SDK's EncryptedSession over its own store on the same engine. They run the
append and get_items workloads only, on conversations of their own.
"""

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OURS = "DjangoSession"
OURS_ENCRYPTED = "DjangoSession (encrypted)"
# Long enough that no item expires during a run, as agents would set it.
ENCRYPTED_TTL = 365 * 24 * 3600


# --- raw floors --------------------------------------------------------------


class SQLiteFloor:
    """The least any store can do: one executemany of the rows per call, one transaction."""

    def __init__(self, path: Path, synchronous: str):
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(f"PRAGMA synchronous={synchronous}")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS floor_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " session_id TEXT NOT NULL, message_data TEXT NOT NULL)"
        )
        self.connection.execute(
            "CREATE INDEX IF NOT EXISTS floor_session ON floor_messages (session_id, id)"
        )

    def session(self, session_id: str) -> "FloorSession":
        return FloorSession(self, session_id, "?")

    def write(self, sql: str, rows: list[tuple]) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.executemany(sql, rows)
        self.connection.execute("COMMIT")

    def read(self, sql: str, params: tuple) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def close(self) -> None:
        self.connection.close()


class PostgresFloor:
    def __init__(self, url: str):
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS floor_messages (id BIGSERIAL PRIMARY KEY,"
            " session_id TEXT NOT NULL, message_data TEXT NOT NULL)"
        )
        self.connection.execute(
            "CREATE INDEX IF NOT EXISTS floor_session ON floor_messages (session_id, id)"
        )

    def session(self, session_id: str) -> "FloorSession":
        return FloorSession(self, session_id, "%s")

    def write(self, sql: str, rows: list[tuple]) -> None:
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def read(self, sql: str, params: tuple) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def close(self) -> None:
        self.connection.close()


class FloorSession:
    """add_items and get_items of the floor, called inline: no thread hop, no ORM."""

    def __init__(self, floor, session_id: str, mark: str):
        self.floor, self.session_id, self.mark = floor, session_id, mark

    async def add_items(self, items: list[dict]) -> None:
        values = f"({self.mark}, {self.mark})"
        sql = f"INSERT INTO floor_messages (session_id, message_data) VALUES {values}"
        self.floor.write(sql, [(self.session_id, json.dumps(item)) for item in items])

    async def get_items(self, limit: int | None = None) -> list[dict]:
        where = f"FROM floor_messages WHERE session_id = {self.mark}"
        if limit is None:
            rows = self.floor.read(f"SELECT message_data {where} ORDER BY id", (self.session_id,))
        else:
            sql = f"SELECT message_data {where} ORDER BY id DESC LIMIT {self.mark}"
            rows = self.floor.read(sql, (self.session_id, limit))[::-1]
        return [json.loads(data) for (data,) in rows]


# --- implementations ---------------------------------------------------------


@dataclass
class Implementation:
    """How to get a session object of one implementation, and what it can do.

    compared_with: the implementation of ours its "ours vs it" ratio is taken
    against (None for none). every_workload False: append and get_items only.
    """

    name: str
    open: Callable[[str], object]
    close: Callable[[object], Awaitable[None] | None] = lambda session: None
    branches: bool = False
    pops: bool = True
    compared_with: str | None = OURS
    every_workload: bool = True


class WithEncryptionKeys:
    """A DjangoSession whose calls run with CONVSTORE_ENCRYPTION_KEYS set.

    The setting is process-wide and read at every call; the bench awaits one
    call at a time, so the plaintext DjangoSession's calls, between these, run
    without keys.
    """

    def __init__(self, session, keys: list[str]):
        self.session, self.keys = session, keys
        self.session_id = session.session_id

    async def add_items(self, items: list[dict]) -> None:
        with encryption_keys(self.keys):
            await self.session.add_items(items)

    async def get_items(self, limit: int | None = None) -> list[dict]:
        with encryption_keys(self.keys):
            return await self.session.get_items(limit)


@contextmanager
def encryption_keys(keys: list[str]) -> Iterator[None]:
    from django.conf import settings

    previous = settings.CONVSTORE_ENCRYPTION_KEYS
    settings.CONVSTORE_ENCRYPTION_KEYS = keys
    try:
        yield
    finally:
        settings.CONVSTORE_ENCRYPTION_KEYS = previous


def encrypted_implementations(
    ours: Callable[[str], object],
    sdk_name: str,
    sdk_open: Callable[[str], object],
    sdk_close: Callable[[object], None] = lambda session: None,
) -> list[Implementation]:
    """DjangoSession with keys set, and the SDK's EncryptedSession over sdk_open(session_id).

    Each on conversations of its own ("enc-..."), beside the plaintext ones.
    """
    from agents.extensions.memory import EncryptedSession
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()

    def open_sdk(session_id: str):
        session_id = f"enc-{session_id}"
        return EncryptedSession(session_id, sdk_open(session_id), key, ttl=ENCRYPTED_TTL)

    return [
        Implementation(
            OURS_ENCRYPTED,
            lambda sid: WithEncryptionKeys(ours(f"enc-{sid}"), [key]),
            pops=False,
            compared_with=None,
            every_workload=False,
        ),
        Implementation(
            f"EncryptedSession({sdk_name})",
            open_sdk,
            close=lambda session: sdk_close(session.underlying_session),
            pops=False,
            compared_with=OURS_ENCRYPTED,
            every_workload=False,
        ),
    ]


def baselines(implementations: list[Implementation]) -> dict[str, str | None]:
    """Each implementation's name, and the one of ours its ratio is taken against."""
    return {implementation.name: implementation.compared_with for implementation in implementations}


async def close_session(implementation: Implementation, session) -> None:
    result = implementation.close(session)
    if asyncio.iscoroutine(result):
        await result


def with_synchronous(session_class, synchronous: str):
    """The SDK session class with our PRAGMA synchronous on every connection it opens."""

    class Configured(session_class):
        @staticmethod
        def _configure_connection(connection: sqlite3.Connection) -> None:
            session_class._configure_connection(connection)
            connection.execute(f"PRAGMA synchronous={synchronous}")

    Configured.__name__ = session_class.__name__
    return Configured


def sqlite_implementations(directory: Path, synchronous: str) -> list[Implementation]:
    from agents import SQLiteSession
    from agents.extensions.memory import AdvancedSQLiteSession

    from convstore.session import DjangoSession

    plain = with_synchronous(SQLiteSession, synchronous)
    advanced = with_synchronous(AdvancedSQLiteSession, synchronous)
    floor = SQLiteFloor(directory / "floor.sqlite3", synchronous)
    return [
        Implementation(OURS, lambda sid: DjangoSession(sid), branches=True),
        Implementation(
            "SQLiteSession",
            lambda sid: plain(sid, db_path=directory / "sdk_plain.sqlite3"),
            close=lambda session: session.close(),
        ),
        Implementation(
            "AdvancedSQLiteSession",
            lambda sid: advanced(
                session_id=sid, db_path=directory / "sdk_advanced.sqlite3", create_tables=True
            ),
            close=lambda session: session.close(),
            branches=True,
        ),
        Implementation("raw sqlite3 floor", floor.session, pops=False),
        *encrypted_implementations(
            DjangoSession,
            "SQLiteSession",
            lambda sid: plain(sid, db_path=directory / "sdk_encrypted.sqlite3"),
            lambda session: session.close(),
        ),
    ]


def postgres_implementations(urls: dict[str, str], engine) -> list[Implementation]:
    from agents.extensions.memory import SQLAlchemySession

    from convstore.session import DjangoSession

    floor = PostgresFloor(urls["floor"])
    return [
        Implementation(OURS, lambda sid: DjangoSession(sid, using="pg"), branches=True),
        # Tables exist already (created once with create_tables=True): the objects
        # measured do not repeat the catalog check on their first call.
        Implementation("SQLAlchemySession", lambda sid: SQLAlchemySession(sid, engine=engine)),
        Implementation("raw psycopg floor", floor.session, pops=False),
        *encrypted_implementations(
            lambda sid: DjangoSession(sid, using="pg"),
            "SQLAlchemySession",
            lambda sid: SQLAlchemySession(sid, engine=engine),
        ),
    ]
