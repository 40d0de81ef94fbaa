"""A test run removes its test database, whatever connections agent code left open."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def left_behind(name: str) -> list[str]:
    """What is left of the test database `name`: SQLite's files, or PostgreSQL's database."""
    if connection.vendor == "sqlite":
        return sorted(path.name for path in (ROOT / "var").glob(f"{name}.*"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname = %s", [name])
        return [row[0] for row in cursor.fetchall()]


def remove(name: str) -> None:
    if connection.vendor == "sqlite":
        for path in (ROOT / "var").glob(f"{name}.*"):
            path.unlink()
    else:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"]


@pytest.mark.django_db(transaction=True)  # PostgreSQL drops a database outside a transaction
def test_a_run_whose_agent_code_left_a_connection_open_leaves_no_database_behind():
    name = f"test_convstore_left_open_{os.getpid()}"
    try:
        run = subprocess.run(
            [*PYTEST, "tests/connection_left_open.py"],
            cwd=ROOT,
            env={**os.environ, "TEST_DATABASE_NAME": name},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "1 passed" in run.stdout, run.stdout + run.stderr
        assert "Error when trying to teardown test databases" not in run.stdout
        assert left_behind(name) == []
    finally:
        remove(name)
