"""/healthz for load balancers: no login, no data, one query."""

import socket
import subprocess
import sys

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import dashboard_data
from tests.test_serve import PROJECT_DIR, STRONG_KEY, clean_environment


def test_healthz_is_at_its_path():
    assert reverse("healthz") == "/healthz"


def test_a_migrated_database_is_healthy_without_a_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "migrations": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_runs_one_query_and_shows_no_data(client, db):
    dashboard_data.conversation("refund-secret-1", turns=2, title="Refund for order 42")
    client.get("/healthz")  # the migrations on disk are read once per process
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert len(queries) == 1
    assert b"refund" not in response.content.lower()
    assert response.content == b'{"database": "ok", "migrations": "ok"}'


def test_a_pending_migration_answers_503(client, db):
    """As after a deploy of code with a migration not yet applied: the last migration
    of an app is not recorded (the test's transaction puts the record back)."""
    [last] = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("convstore")
    MigrationRecorder(connection).record_unapplied(*last)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "migrations": "pending"}


def test_healthz_accepts_only_reads(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200


# --- databases other than the test database, from a fresh process --------------

HEALTHZ_SCRIPT = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


def healthz_on(database_url: str) -> str:
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="convstore.settings",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url,
    )
    result = subprocess.run(
        [sys.executable, "-c", HEALTHZ_SCRIPT],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_postgresql_server_that_does_not_answer_answers_503():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    assert healthz_on(f"postgres://someone@127.0.0.1:{port}/ops") == (
        '503 {"database": "unavailable", "migrations": "unknown"}'
    )


def test_a_sqlite_file_that_cannot_be_opened_answers_503(tmp_path):
    assert healthz_on(f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}") == (
        '503 {"database": "unavailable", "migrations": "unknown"}'
    )


def test_a_database_never_migrated_is_pending_not_down(tmp_path):
    assert healthz_on(f"sqlite:///{tmp_path / 'empty.sqlite3'}") == (
        '503 {"database": "ok", "migrations": "pending"}'
    )
