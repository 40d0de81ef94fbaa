"""Scratch databases for bench/session_bench.py, and the project configured on them."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def database_url(base: str, name: str, scheme: str | None = None) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}", scheme=scheme or parts.scheme))


def recreate_databases(admin_url: str, names: list[str], *, create: bool) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(
    sqlite_path: Path, postgres_url: str | None, synchronous: str, without_triggers: bool = False
) -> None:
    """Configure the project on the bench's databases: default = SQLite, pg = PostgreSQL."""
    os.environ.setdefault("SECRET_KEY", "convstore-bench-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "convstore.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{sqlite_path}"
    import django
    from django.conf import settings

    from convstore.settings import database_config

    databases = settings.DATABASES
    databases["default"]["OPTIONS"]["init_command"] = (
        f"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};"
    )
    if postgres_url:
        os.environ["DATABASE_URL"] = postgres_url
        databases["pg"] = database_config()
    django.setup()

    from django.core.management import call_command

    for alias in databases:
        call_command("migrate", database=alias, verbosity=0)
        if without_triggers:
            drop_triggers(alias)


def drop_triggers(alias: str) -> None:
    """Drop every trigger from a scratch database: the session layer's own cost, alone."""
    from django.db import connections

    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
            for name, _table in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
        else:
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            )
            for name, table in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}" ON {table}')


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


async def close_django_connections() -> None:
    """Close the connections DjangoSession opened, in asgiref's shared thread."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()
