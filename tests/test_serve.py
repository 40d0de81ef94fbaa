"""manage.py serve, as `make serve` runs it: a real gunicorn with uvicorn workers in a
subprocess, on the test database; and each bad configuration it refuses in one line."""

import gzip
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_concurrency import writers_database_url

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Long and varied enough for check --deploy.
STRONG_KEY = secrets.token_urlsafe(50)
STARTUP_LIMIT_S = 90


def clean_environment(**variables: str) -> dict[str, str]:
    """Only what a deploy would set: no DEBUG, no test settings of this process."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return env | variables


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def wait_until_served(server: subprocess.Popen, port: int) -> None:
    """The server prints its line, then its workers take a moment to boot."""
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"serve stopped: {server.stderr.read()}")
        try:
            get(port, "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("serve did not answer")


@pytest.fixture
def served(db, tmp_path):
    """manage.py serve --collectstatic on a free port, over the test database."""
    port = free_port()
    env = clean_environment(
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=writers_database_url(),
        STATIC_ROOT=str(tmp_path / "static"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--collectstatic"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_served(server, port)
        yield port
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=60)
        assert "Traceback" not in err, err


HTTPS = {"X-Forwarded-Proto": "https"}  # as the proxy in front says; uvicorn trusts 127.0.0.1


def test_serve_answers_the_health_check_over_plain_http(served):
    response, body = get(served, "/healthz")
    assert response.status == 200
    assert body == b'{"database": "ok", "migrations": "ok"}'
    assert response.getheader("server") == "uvicorn"


def test_serve_redirects_plain_http_to_https_and_sends_hsts_over_https(served):
    response, _ = get(served, "/login/")
    assert response.status == 301
    assert response.getheader("Location") == f"https://127.0.0.1:{served}/login/"

    response, _ = get(served, "/login/", HTTPS)
    assert response.status == 200
    assert (
        response.getheader("Strict-Transport-Security")
        == "max-age=31536000; includeSubDomains; preload"
    )
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert "; Secure" in response.getheader("Set-Cookie")


def test_serve_gives_static_files_hashed_names_compression_and_a_year_long_cache(served):
    _, body = get(served, "/login/", HTTPS)
    stylesheet = re.search(rb'href="(/static/css/dashboard\.[0-9a-f]{12}\.css)"', body).group(1)

    response, compressed = get(served, stylesheet.decode(), HTTPS | {"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Cache-Control") == "max-age=315360000, public, immutable"
    source = (PROJECT_DIR / "static" / "css" / "dashboard.css").read_bytes()
    assert gzip.decompress(compressed) == source


def test_serve_refuses_a_port_already_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = manage(
            "serve",
            env=clean_environment(
                SECRET_KEY=STRONG_KEY,
                ALLOWED_HOSTS="127.0.0.1",
                DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                PORT=str(port),
            ),
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"CommandError: Port {port} on 127.0.0.1 is already in use: "
        "stop what listens there or set PORT to another port"
    )


def deploy_env(tmp_path, **changes: str | None) -> dict[str, str]:
    """A deploy's variables; a change to None leaves that variable out."""
    env = clean_environment(
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="ops.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PORT=str(free_port()),
    )
    env.update(changes)
    return {name: value for name, value in env.items() if value is not None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"SECRET_KEY": None},
            "Configuration error: Set SECRET_KEY (or DEBUG=1 for local development).",
        ),
        (
            {"ALLOWED_HOSTS": None},
            "CommandError: Set ALLOWED_HOSTS: the host names this server answers to, "
            "comma-separated",
        ),
        (
            {"DEBUG": "1"},
            "CommandError: DEBUG is on: serve runs only with DEBUG off "
            "(unset DEBUG; `make run` is for development)",
        ),
        (
            {"DATABASE_URL": "mysql://someone:secret@db.example/ops"},
            "Configuration error: DATABASE_URL must be a postgres:// or sqlite:/// URL, "
            "not mysql://...",
        ),
        (
            {"DATABASE_URL": "postgres://someone@db.example:port/ops"},
            "Configuration error: DATABASE_URL is not a valid database URL: This string is not "
            "a valid url, possibly because some of its parts is not properly "
            "urllib.parse.quote()'ed.",
        ),
        (
            {"PORT": "eighty"},
            "CommandError: PORT must be a whole number from 1 to 65535, not 'eighty'",
        ),
        (
            {"WEB_CONCURRENCY": "0"},
            "CommandError: WEB_CONCURRENCY must be a whole number from 1 to 64, not '0'",
        ),
        (
            {"SECURE_HSTS_SECONDS": "a year"},
            "Configuration error: SECURE_HSTS_SECONDS must be a whole number of at least 0, "
            "not 'a year'",
        ),
    ],
    ids=[
        "no-secret-key",
        "no-allowed-hosts",
        "debug-on",
        "unsupported-database",
        "invalid-database-url",
        "bad-port",
        "no-workers",
        "bad-hsts",
    ],
)
def test_serve_refuses_a_bad_configuration_in_one_line(tmp_path, changes, message):
    result = manage("serve", env=deploy_env(tmp_path, **changes))
    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert "secret" not in result.stderr


def test_serve_refuses_a_database_that_does_not_answer(tmp_path):
    port = free_port()  # nothing listens there
    result = manage(
        "serve",
        env=deploy_env(tmp_path, DATABASE_URL=f"postgres://someone@127.0.0.1:{port}/ops"),
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: The database (127.0.0.1) does not answer: ")
    assert "Connection refused" in line


def test_serve_refuses_to_start_without_the_collected_static_files(tmp_path):
    result = manage("serve", env=deploy_env(tmp_path, STATIC_ROOT=str(tmp_path / "empty")))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"CommandError: The static files are not collected in STATIC_ROOT ({tmp_path / 'empty'}): "
        "run manage.py collectstatic, or serve --collectstatic as `make serve` does"
    )


def test_serve_says_which_sqlite_file_it_uses_without_database_url(tmp_path):
    env = deploy_env(tmp_path, DATABASE_URL=None, PORT="eighty")
    result = manage("serve", env=env)
    assert "DATABASE_URL is not set: using the SQLite file" in result.stdout
