"""Settings read from the environment."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from convstore.settings import database_config

SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def test_postgresql_prepares_after_five_runs_by_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    assert database_config()["OPTIONS"] == {"prepare_threshold": 5}


@pytest.mark.parametrize(("value", "threshold"), [("off", None), ("OFF", None), (" 2 ", 2)])
def test_the_prepare_threshold_can_be_set_or_turned_off(monkeypatch, value, threshold):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", value)
    assert database_config()["OPTIONS"] == {"prepare_threshold": threshold}


def test_a_prepare_threshold_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/convstore")
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", "sometimes")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARE_THRESHOLD must be"):
        database_config()


def test_the_options_of_a_postgresql_url_are_kept_beside_ours(monkeypatch):
    monkeypatch.setenv(
        "DATABASE_URL",
        "postgres://someone@db.example:5432/convstore"
        "?sslmode=require&connect_timeout=10&application_name=convstore-web",
    )
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    assert database_config()["OPTIONS"] == {
        "sslmode": "require",
        "connect_timeout": 10,
        "application_name": "convstore-web",
        "prepare_threshold": 5,
    }


def test_a_prepare_threshold_in_the_postgresql_url_wins_over_ours(monkeypatch):
    monkeypatch.setenv(
        "DATABASE_URL", "postgres://someone@db.example:5432/convstore?prepare_threshold=0"
    )
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    assert database_config()["OPTIONS"] == {"prepare_threshold": 0}


def test_sqlite_waits_thirty_seconds_for_the_write_lock_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert database_config()["OPTIONS"] == {"timeout": 30, **SQLITE_OPTIONS}


def test_a_timeout_in_the_sqlite_url_wins_over_ours(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}?timeout=5")
    assert database_config()["OPTIONS"] == {"timeout": 5, **SQLITE_OPTIONS}


def test_a_sqlite_url_may_not_change_the_transaction_mode(monkeypatch, tmp_path):
    monkeypatch.setenv(
        "DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}?transaction_mode=DEFERRED"
    )
    with pytest.raises(ImproperlyConfigured, match="may not set transaction_mode"):
        database_config()


# --- the options reach a real connection -------------------------------------


def connect(monkeypatch, url: str, query: str = ""):
    if query:
        url += ("&" if "?" in url else "?") + query
    monkeypatch.setenv("DATABASE_URL", url)
    return ConnectionHandler({"default": database_config()})["default"]


def test_a_sqlite_url_timeout_reaches_the_connection(monkeypatch, tmp_path, django_db_blocker):
    connection = connect(monkeypatch, f"sqlite:///{tmp_path / 'db.sqlite3'}", "timeout=5")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone() == (5000,)
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)
    connection.close()


postgres_url = os.environ.get("DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not postgres_url.startswith("postgres"), reason="runs on the PostgreSQL test run"
)


@needs_postgres
def test_a_postgresql_url_application_name_reaches_the_server(monkeypatch, django_db_blocker):
    connection = connect(monkeypatch, postgres_url, "application_name=convstore-web")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SHOW application_name")
        assert cursor.fetchone() == ("convstore-web",)
    connection.close()


@needs_postgres
def test_a_postgresql_url_sslmode_require_never_connects_without_tls(
    monkeypatch, django_db_blocker
):
    plain = connect(monkeypatch, postgres_url)
    with django_db_blocker.unblock():
        with plain.cursor() as cursor:
            cursor.execute("SHOW ssl")
            server_offers_tls = cursor.fetchone() == ("on",)
        plain.close()
        connection = connect(monkeypatch, postgres_url, "sslmode=require")
        if server_offers_tls:
            with connection.cursor() as cursor:
                cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                assert cursor.fetchone() == (True,)
            connection.close()
        else:
            with pytest.raises(OperationalError, match="SSL was required"):
                connection.ensure_connection()
