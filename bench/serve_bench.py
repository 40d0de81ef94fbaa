"""`manage.py serve` (gunicorn + uvicorn workers) under staff and agents, beside runserver.

    uv run python bench/serve_bench.py                      # 10,000 conversations, 60 s each server
    uv run python bench/serve_bench.py --conversations 200 --messages 20000 --duration 10

DATABASE_URL (default postgres://root@127.0.0.1:5432/root) names a PostgreSQL
server; the bench works in a scratch database of its own there (named after the
size), created, migrated and, when empty, filled by `manage.py seed_demo --scale`
with --conversations and --messages. Later runs reuse it.

For --duration seconds per server, --staff simulated staff (one logged-in
session cookie, each staff member one request at a time) browse in turn the
overview, the list searched for "refund", a conversation and its live check,
while --agents processes append turns through DjangoSession, each to its own
conversation. It prints requests per second, p50/p95/p99 per page, the errors
and the agents' append p95, first for `manage.py serve` with --workers
workers, then for `runserver`. The load generator runs on the same machine, so
the figures are for comparing the two servers, not absolute.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "bench"))

from dashboard_bench import create_database, scratch_url  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
SECRET_KEY = secrets.token_urlsafe(50)
PAGE_TARGET_MS = 300

AGENT_SCRIPT = """
import asyncio, json, sys, time
import django
django.setup()
from convstore.session import DjangoSession

async def main(name, deadline_s):
    session = DjangoSession(f"serve-bench-agent-{name}")
    await session.add_items([{"role": "user", "content": "warm up"}])
    print("ready", flush=True)
    sys.stdin.readline()
    timings, errors = [], 0
    end = time.monotonic() + deadline_s
    turn = 0
    while time.monotonic() < end:
        turn += 1
        items = [
            {"role": "user", "content": f"Question {turn}"},
            {"role": "assistant", "content": f"Answer {turn}"},
        ]
        started = time.perf_counter()
        try:
            await session.add_items(items)
            timings.append((time.perf_counter() - started) * 1000)
        except Exception:
            errors += 1
        await asyncio.sleep(0.05)
    print(json.dumps({"timings": timings, "errors": errors}), flush=True)

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


# --- the database and the staff's session ------------------------------------------


def prepare_database(url: str, conversations: int, messages: int) -> tuple[str, list[str]]:
    """Migrate and seed; the session cookie of a staff superuser and a few conversation ids."""
    os.environ.update(
        DATABASE_URL=url, SECRET_KEY=SECRET_KEY, DJANGO_SETTINGS_MODULE="convstore.settings"
    )
    import django

    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    from convstore.models import AgentSession

    call_command("migrate", verbosity=0)
    if not AgentSession.objects.exists():
        print(
            f"Empty database: seed_demo --scale {conversations} conversations, {messages} messages"
        )
        call_command(
            "seed_demo",
            "--scale",
            "--conversations",
            str(conversations),
            "--messages",
            str(messages),
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    user, _ = get_user_model()._default_manager.get_or_create(
        username="serve-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    live = AgentSession.objects.filter(deleted_at__isnull=True)
    ids = list(live.exclude(pk__startswith="serve-bench-").values_list("pk", flat=True)[:50])
    connection.close()
    return session.session_key, ids


# --- the servers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


STATIC_ROOT = Path(tempfile.mkdtemp(prefix="serve-bench-static-"))


def server_environment(url: str) -> dict[str, str]:
    return {
        "STATIC_ROOT": str(STATIC_ROOT),
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "convstore.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "PYTHONPATH": str(PROJECT_DIR),
    }


def start_server(kind: str, url: str, port: int, workers: int) -> subprocess.Popen:
    if kind == "serve":
        command = ["serve", "--collectstatic", "--port", str(port), "--workers", str(workers)]
    else:
        command = ["runserver", "--noreload", f"127.0.0.1:{port}"]
    return subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=PROJECT_DIR,
        env=server_environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server stopped: {server.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("The server did not start in 120 s")


# --- staff -------------------------------------------------------------------------


async def get(port: int, path: str, cookie: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # the rest, until the server closes
        return int(status_line.split()[1])
    finally:
        writer.close()


def staff_pages(ids: list[str], rng: random.Random) -> list[tuple[str, str, int]]:
    """(page, path, the status it answers with) for one round of browsing."""
    from analytics.converters import ConversationIdConverter

    session_id = ConversationIdConverter().to_url(rng.choice(ids))
    return [
        ("overview", "/", 200),
        ("list, search 'refund'", "/conversations/?q=refund", 200),
        ("conversation", f"/conversations/{session_id}/", 200),
        ("live check", f"/changed/{session_id}/?version=0", 204),
    ]


async def one_staff(port, cookie, ids, end, timings, errors, seed) -> None:
    rng = random.Random(seed)
    while time.monotonic() < end:
        for page, path, expected in staff_pages(ids, rng):
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(get(port, path, cookie), timeout=30)
            except (OSError, TimeoutError, ValueError, IndexError) as exc:
                errors.append(f"{page}: {type(exc).__name__}")
                continue
            timings.setdefault(page, []).append((time.perf_counter() - started) * 1000)
            if status != expected:
                errors.append(f"{page}: HTTP {status}")


async def browse(port, cookie, ids, staff, duration) -> tuple[dict, list]:
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    end = time.monotonic() + duration
    await asyncio.gather(
        *(one_staff(port, cookie, ids, end, timings, errors, n) for n in range(staff))
    )
    return timings, errors


# --- agents ------------------------------------------------------------------------


def start_agents(url: str, count: int, duration: float) -> list[subprocess.Popen]:
    agents = [
        subprocess.Popen(
            [sys.executable, "-c", AGENT_SCRIPT, str(n), str(duration)],
            cwd=PROJECT_DIR,
            env=server_environment(url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(count)
    ]
    for agent in agents:
        if agent.stdout.readline().strip() != "ready":
            raise SystemExit(f"An agent did not start: {agent.stderr.read()}")
    return agents


def agents_results(agents: list[subprocess.Popen]) -> tuple[list[float], int]:
    timings, errors = [], 0
    for agent in agents:
        out, err = agent.communicate(timeout=120)
        if agent.returncode != 0:
            raise SystemExit(f"An agent failed: {err}")
        result = json.loads(out.strip().splitlines()[-1])
        timings += result["timings"]
        errors += result["errors"]
    return timings, errors


# --- one run -----------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(kind: str, url: str, cookie: str, ids: list[str], args) -> dict:
    port = free_port()
    server = start_server(kind, url, port, args.workers)
    try:
        wait_for(port, server)
        asyncio.run(get(port, "/", cookie))  # first request: imports, connections
        agents = start_agents(url, args.agents, args.duration)
        for agent in agents:
            agent.stdin.write("go\n")
            agent.stdin.flush()
        started = time.monotonic()
        timings, errors = asyncio.run(browse(port, cookie, ids, args.staff, args.duration))
        elapsed = time.monotonic() - started
        appends, append_errors = agents_results(agents)
    finally:
        server.terminate()
        server.wait(timeout=60)
    requests = sum(len(values) for values in timings.values())
    return {
        "kind": kind,
        "rps": requests / elapsed,
        "pages": {
            page: (statistics.median(v), percentile(v, 0.95), percentile(v, 0.99), len(v))
            for page, v in timings.items()
        },
        "errors": errors,
        "append_p95": percentile(appends, 0.95) if appends else None,
        "appends": len(appends),
        "append_errors": append_errors,
    }


def report(result: dict, baseline: dict | None) -> None:
    label = "manage.py serve" if result["kind"] == "serve" else "runserver"
    print(f"\n{label}: {result['rps']:.1f} requests/s", end="")
    if baseline:
        print(f" ({result['rps'] / baseline['rps']:.2f}x manage.py serve's)", end="")
    print()
    print(f"  {'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'requests':>9}")
    for page, (p50, p95, p99, count) in result["pages"].items():
        flag = "" if p95 < PAGE_TARGET_MS else f"  (over {PAGE_TARGET_MS} ms)"
        print(f"  {page:<24} {p50:8.0f} {p95:8.0f} {p99:8.0f} {count:9d}{flag}")
    errors = result["errors"]
    summary = {error: errors.count(error) for error in sorted(set(errors))}
    print(f"  errors: {len(errors)} {summary if summary else ''}")
    p95 = result["append_p95"]
    print(
        f"  agents: {result['appends']} appends, p95 {p95:.0f} ms, {result['append_errors']} errors"
        if p95 is not None
        else "  agents: no append finished"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=60, help="seconds per server")
    parser.add_argument("--staff", type=int, default=30)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-runserver", action="store_true")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    database = f"convstore_serve_{args.conversations}_{args.messages}"
    create_database(server_url, database)
    url = scratch_url(server_url, database)
    cookie, ids = prepare_database(url, args.conversations, args.messages)
    print(
        f"{args.staff} staff, {args.agents} agents, {args.duration:.0f} s per server, "
        f"{args.conversations} conversations / {args.messages} messages"
    )
    serve = run("serve", url, cookie, ids, args)
    report(serve, None)
    if not args.no_runserver:
        report(run("runserver", url, cookie, ids, args), serve)


if __name__ == "__main__":
    main()
