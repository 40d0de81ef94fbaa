"""Many agents at once: processes appending to their conversations at the same time.

    uv run python bench/concurrency_bench.py                  # 8 processes x 25 conversations
    uv run python bench/concurrency_bench.py --no-sqlite --rounds 40

Each process opens its 25 conversations and appends one agent turn (4 items)
to each in turn, --rounds times; all processes start together. "own": each
process has conversations of its own (200 in all); "shared": all processes
write the same 25, so appends queue on each conversation's lock. The raw floor
does the same rows in plain SQL (bench/session_growth.py's floor: upsert the
conversation row, read its newest row, insert messages and structure rows, one
transaction) at the same concurrency, on the same tables.

Prints total items/s (items appended / wall time from the first start to the
last end), its ratio to the floor's, the p50 and p99 of one append, and checks
that every conversation holds all its items with sequence numbers 1..n, no gap.
SQLite: one file in WAL (synchronous=NORMAL), where writers queue for its lock.
"""

import argparse
import asyncio
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_databases import database_url, recreate_databases
from session_growth import PostgresFloorSession, turn_items

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
BENCH_DATABASE = "convstore_bench_concurrency"
TARGET_THROUGHPUT = 0.5
TARGET_P99_MS = 50


def configure(url: str) -> None:
    """The project on the bench's database, in this process (migrated by the parent)."""
    os.environ["SECRET_KEY"] = "convstore-bench-only"
    os.environ["DJANGO_SETTINGS_MODULE"] = "convstore.settings"
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()


class SQLiteFloorSession(PostgresFloorSession):
    """The PostgreSQL floor's statements on sqlite3, in an IMMEDIATE transaction."""

    def __init__(self, path: str, session_id: str):
        connection = sqlite3.connect(path, isolation_level=None, timeout=60)
        connection.execute("PRAGMA synchronous=NORMAL")
        super().__init__(_SQLiteConnection(connection), session_id)


class _SQLiteConnection:
    """What PostgresFloorSession uses of a psycopg connection, over sqlite3."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def transaction(self):
        return self

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")

    def cursor(self):
        return _SQLiteCursor(self.connection.cursor())

    def execute(self, sql: str, params=()):
        return self.connection.execute(sql.replace("%s", "?"), params)


class _SQLiteCursor:
    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cursor.close()

    def execute(self, sql: str, params=()):
        sql = sql.replace("%s", "?").replace("now()", "CURRENT_TIMESTAMP")
        self.cursor.execute(sql, params)

    def fetchone(self):
        return self.cursor.fetchone()

    def fetchall(self):
        return self.cursor.fetchall()


START = None


def set_start(barrier) -> None:
    global START
    START = barrier


def worker(args: tuple) -> dict:
    """One process: its conversations, a turn each per round; latencies in seconds."""
    kind, url, engine, number, conversations, rounds = args
    configure(url)
    if kind == "ours":
        from convstore.session import DjangoSession

        sessions = [DjangoSession(sid) for sid in conversations]
    elif engine == "postgresql":
        import psycopg

        connection = psycopg.connect(url, autocommit=True)
        sessions = [PostgresFloorSession(connection, sid) for sid in conversations]
    else:
        path = url.removeprefix("sqlite:///")
        sessions = [SQLiteFloorSession(path, sid) for sid in conversations]

    async def run() -> dict:
        latencies = []
        for session in sessions:  # connections opened, untimed
            await session.get_items(limit=1)
        START.wait()
        started = time.time()
        for turn in range(1, rounds + 1):
            for session in sessions:
                begin = time.perf_counter()
                await session.add_items(turn_items(f"p{number}", turn))
                latencies.append(time.perf_counter() - begin)
        return {"started": started, "ended": time.time(), "latencies": latencies}

    return asyncio.run(run())


def conversation_ids(kind: str, mode: str, processes: int, per_process: int) -> list[list[str]]:
    if mode == "shared":
        return [[f"{kind}-shared-{n}" for n in range(per_process)] for _ in range(processes)]
    return [[f"{kind}-own-{p}-{n}" for n in range(per_process)] for p in range(processes)]


def check(url: str, engine: str, ids: list[list[str]], items_each: int) -> str:
    """'ok' when each conversation holds its items numbered 1..n; else what is wrong."""
    expected: dict[str, int] = {}
    for group in ids:
        for sid in group:
            expected[sid] = expected.get(sid, 0) + items_each
    sql = (
        "SELECT session_id, COUNT(*), COUNT(DISTINCT sequence_number), MIN(sequence_number),"
        " MAX(sequence_number) FROM message_structure WHERE session_id LIKE %s"
        " GROUP BY session_id"
    )
    prefix = next(iter(expected)).rsplit("-", 1)[0].rsplit("-", 1)[0] + "-%"
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(url) as connection:
            rows = connection.execute(sql, [prefix]).fetchall()
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute(sql.replace("%s", "?"), [prefix]).fetchall()
    found = {sid: (count, distinct, low, high) for sid, count, distinct, low, high in rows}
    wrong = [sid for sid, items in expected.items() if found.get(sid) != (items, items, 1, items)]
    return "ok" if not wrong else f"WRONG in {len(wrong)}: {wrong[0]} {found.get(wrong[0])}"


def run_kind(kind, url, engine, mode, args) -> dict:
    ids = conversation_ids(kind, mode, args.processes, args.conversations)
    jobs = [
        (kind, url, engine, number, ids[number], args.rounds) for number in range(args.processes)
    ]
    context = multiprocessing.get_context("spawn")
    # All start appending together, once every process is set up.
    barrier = context.Barrier(args.processes)
    with context.Pool(args.processes, initializer=set_start, initargs=(barrier,)) as pool:
        results = pool.map(worker, jobs)
    latencies = sorted(value for result in results for value in result["latencies"])
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    items = len(latencies) * 4
    return {
        "items_per_s": items / wall,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "check": check(url, engine, ids, args.rounds * 4),
    }


def bench_engine(engine: str, url: str, args) -> list[str]:
    lines = []
    for mode in ("own", "shared"):
        ours = run_kind("ours", url, engine, mode, args)
        floor = run_kind("floor", url, engine, mode, args)
        print(f"  {engine} {mode}: done", file=sys.stderr, flush=True)
        ratio = ours["items_per_s"] / floor["items_per_s"]
        for name, result in (("DjangoSession", ours), ("raw floor", floor)):
            lines.append(
                f"{engine:<11} {mode:<7} {name:<14} {result['items_per_s']:>9,.0f}"
                f" {result['p50'] * 1000:>8.2f}ms {result['p99'] * 1000:>8.2f}ms  {result['check']}"
            )
        p99_met = engine != "postgresql" or ours["p99"] * 1000 <= TARGET_P99_MS
        lines.append(
            f"{'':<11} {mode:<7} {'ours / floor':<14} {ratio:>8.2f}x"
            + (" throughput" if ratio >= TARGET_THROUGHPUT else " throughput MISSED")
            + f" (>= {TARGET_THROUGHPUT}x)"
            + ("" if engine != "postgresql" else f"; p99 <= {TARGET_P99_MS}ms: ")
            + ("" if engine != "postgresql" else ("met" if p99_met else "MISSED"))
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--conversations", type=int, default=25, help="per process")
    parser.add_argument("--rounds", type=int, default=20, help="turns appended per conversation")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    admin_url = None if args.no_postgres else os.environ.get("DATABASE_URL", DEFAULT_POSTGRES_URL)
    directory = Path(tempfile.mkdtemp(prefix="convstore-concurrency-"))
    lines = []
    try:
        targets = []
        if not args.no_sqlite:
            targets.append(("sqlite", f"sqlite:///{directory / 'bench.sqlite3'}"))
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE], create=True)
            targets.append(("postgresql", database_url(admin_url, BENCH_DATABASE)))
        for engine, url in targets:
            migrate(url)
            lines += bench_engine(engine, url, args)
    finally:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE], create=False)
        shutil.rmtree(directory, ignore_errors=True)
    print("$ " + " ".join(["python", *sys.argv]))
    print(
        f"{args.processes} processes x {args.conversations} conversations x {args.rounds} turns"
        " of 4 items; own = each process its own conversations, shared = all the same ones"
    )
    print(
        f"{'engine':<11} {'mode':<7} {'writer':<14} {'items/s':>9} {'p50':>10} {'p99':>10}"
        "  every item there, sequence 1..n"
    )
    print("\n".join(lines))


def migrate(url: str) -> None:
    """Migrate the bench database in a process of its own (this one stays unconfigured)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(_migrate, (url,))


def _migrate(url: str) -> None:
    configure(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


if __name__ == "__main__":
    main()
