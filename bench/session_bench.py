"""DjangoSession against the Agents SDK's own sessions and a raw floor. Prints a table.

    uv run python bench/session_bench.py            # full run, a few minutes
    uv run python bench/session_bench.py --quick    # smaller workloads, 3 runs
    uv run python bench/session_bench.py --only append --no-sqlite   # one workload, one database

Workloads: the issue's, plus two on the 40,000-item conversation that show
whether an agent turn's writes grow with the history: "growth" (add_items) and
"usage" (store_run_usage; only the sessions that record usage).

SQLite: DjangoSession, the SDK's SQLiteSession and AdvancedSQLiteSession, and a
raw sqlite3 floor, each on its own file in one temporary directory, all with
the same PRAGMAs (WAL, synchronous as --synchronous, NORMAL by default as in
convstore.settings; the SDK's own default is FULL).

PostgreSQL (DATABASE_URL, default postgres://root@127.0.0.1:5432/root, used only
to create and drop scratch databases): DjangoSession on a migrated scratch
database, the SDK's SQLAlchemySession (asyncpg) on a second one, and a raw
psycopg floor. --no-postgres skips it.

Every workload runs every implementation once per run, interleaved, for
--runs runs; the table gives the median and, for the others, how many times
as fast DjangoSession is (their median / ours: above 1.0 means ours is faster).
"""

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
BENCH_DATABASE = "convstore_bench"
SQLALCHEMY_DATABASE = "convstore_bench_sqlalchemy"
OURS = "DjangoSession"


@dataclass(frozen=True)
class Sizes:
    conversations: int = 50
    turns: int = 20
    full_read: int = 400
    small: int = 4_000
    large: int = 40_000
    read_calls: int = 20
    limit_calls: int = 200
    growth_calls: int = 50
    pops: int = 200
    branches: int = 50
    runs: int = 5


QUICK = Sizes(
    conversations=10,
    turns=10,
    small=4_000,
    large=40_000,
    read_calls=10,
    limit_calls=50,
    pops=50,
    branches=10,
    runs=3,
)


# --- items -------------------------------------------------------------------


def turn_items(conversation: str, turn: int) -> list[dict]:
    """One agent turn, as add_items receives it: question, tool call, tool output, answer."""
    call_id = f"call_{conversation}_{turn}"
    return [
        {"role": "user", "content": f"Turn {turn}: what is the weather in Lisbon today?"},
        {
            "type": "function_call",
            "call_id": call_id,
            "name": "get_weather",
            "arguments": '{"city": "Lisbon", "unit": "celsius"}',
        },
        {
            "type": "function_call_output",
            "call_id": call_id,
            "output": '{"temperature": 21, "sky": "clear", "wind_kmh": 12}',
        },
        {
            "role": "assistant",
            "type": "message",
            "content": [
                {"type": "output_text", "text": "It is 21 °C and clear in Lisbon, light wind."}
            ],
        },
    ]


def history(conversation: str, items: int) -> list[dict]:
    return [item for turn in range(1, items // 4 + 1) for item in turn_items(conversation, turn)]


async def seed(session, items: int, batch: int = 400) -> None:
    """Fill a conversation fast (untimed): big add_items calls, whole turns each."""
    rows = history(session.session_id, items)
    for start in range(0, len(rows), batch):
        await session.add_items(rows[start : start + batch])


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
    """How to get a session object of one implementation, and what it can do."""

    name: str
    open: Callable[[str], object]
    close: Callable[[object], Awaitable[None] | None] = lambda session: None
    branches: bool = False
    pops: bool = True


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
    ]


# --- workloads ---------------------------------------------------------------
#
# A workload gives, per implementation, a list of small timed steps. The steps of
# all implementations run interleaved (one step of each in turn, the first one
# rotating), so a load swing on the machine hits them all alike and the ratios
# hold even where the absolute times drift.

Step = Callable[[], Awaitable[float]]


@dataclass
class Plan:
    steps: list[Step]
    cleanup: Callable[[], Awaitable[None]]


async def nothing() -> None:
    return None


@dataclass(eq=False)  # keyed by identity in run_interleaved
class Result:
    workload: str
    unit: str
    operations: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        runs = self.seconds.get(name)
        return statistics.median(runs) if runs else None


def timed_calls(call: Callable[[], Awaitable[object]], count: int) -> Step:
    async def step() -> float:
        start = time.perf_counter()
        for _ in range(count):
            await call()
        return time.perf_counter() - start

    return step


async def plan_append(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
    """Round robin: every conversation gets its next turn, as many live agents would."""
    sessions = [implementation.open(f"{tag}-c{n}") for n in range(sizes.conversations)]

    def round_of(turn: int) -> Step:
        batch = turn_items("bench", turn)

        async def step() -> float:
            start = time.perf_counter()
            for session in sessions:
                await session.add_items(batch)
            return time.perf_counter() - start

        return step

    async def cleanup():
        for session in sessions:
            await close_session(implementation, session)

    return Plan([round_of(turn) for turn in range(1, sizes.turns + 1)], cleanup)


class Seeded:
    """Conversations seeded once per implementation for the read workloads."""

    def __init__(self):
        self.sessions: dict[tuple[str, int], object] = {}

    async def get(self, implementation: Implementation, items: int):
        key = (implementation.name, items)
        if key not in self.sessions:
            session = implementation.open(f"read-{items}")
            await seed(session, items)
            await session.get_items(limit=1)  # load whatever the object loads lazily
            self.sessions[key] = session
        return self.sessions[key]

    async def close(self, implementations: list[Implementation]) -> None:
        by_name = {implementation.name: implementation for implementation in implementations}
        for (name, _items), session in self.sessions.items():
            await close_session(by_name[name], session)


def plan_reads(items: int, limit: int | None, calls: int, per_step: int, seeded: Seeded):
    async def plan(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
        session = await seeded.get(implementation, items)
        step = timed_calls(lambda: session.get_items(limit=limit), per_step)
        return Plan([step] * (calls // per_step), nothing)

    return plan


def plan_growth(items: int, calls: int, seeded: Seeded):
    """Appends to the seeded conversation of `items` items: does a long history slow them?"""

    async def plan(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
        session = await seeded.get(implementation, items)
        turns = iter(range(items // 4 + 1, items // 4 + 1 + calls * sizes.runs))
        step = timed_calls(lambda: session.add_items(turn_items("grow", next(turns))), 10)
        return Plan([step] * (calls // 10), nothing)

    return plan


def plan_usage(items: int, calls: int, seeded: Seeded):
    """store_run_usage on the seeded conversation of `items` items, as every agent turn ends."""

    async def plan(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
        from convstore.scripted import Step, usage_result

        session = await seeded.get(implementation, items)
        usage = Step(input_tokens=1200, cached_tokens=400, output_tokens=300, reasoning_tokens=50)
        result = usage_result(usage.usage())
        step = timed_calls(lambda: session.store_run_usage(result), 10)
        return Plan([step] * (calls // 10), nothing)

    return plan


async def plan_pops(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
    session = implementation.open(f"{tag}-pop")
    await seed(session, sizes.pops * 2)
    steps = [timed_calls(session.pop_item, 10)] * (sizes.pops // 10)
    return Plan(steps, lambda: close_session(implementation, session))


async def plan_branches(implementation: Implementation, tag: str, sizes: Sizes) -> Plan:
    """create_branch_from_turn at the middle turn, back to main (untimed) after each."""
    session = implementation.open(f"{tag}-branch")
    await seed(session, 80)

    def branch(number: int) -> Step:
        async def step() -> float:
            start = time.perf_counter()
            await session.create_branch_from_turn(10, f"b{number}")
            elapsed = time.perf_counter() - start
            await session.switch_to_branch("main")
            return elapsed

        return step

    steps = [branch(number) for number in range(sizes.branches)]
    return Plan(steps, lambda: close_session(implementation, session))


Workload = tuple[Result, Callable, str]
KINDS = ["append", "reads", "limits", "growth", "usage", "pops", "branches"]


def workloads(sizes: Sizes, seeded: Seeded) -> dict[str, list[Workload]]:
    """Groups of (result to fill, planner, capability needed), by kind.

    The workloads of a group run interleaved with each other too: get_items(limit=20)
    on the small and the large conversation, whose ratio is a target.
    """
    appends = sizes.conversations * sizes.turns
    limit_step = max(sizes.limit_calls // 20, 1)
    append_name = f"append {sizes.conversations}x{sizes.turns} calls x4 items"
    return {
        "append": [(Result(append_name, "call", appends), plan_append, "")],
        "reads": [
            (
                Result(f"get_items() on {sizes.full_read:,}", "call", sizes.read_calls),
                plan_reads(sizes.full_read, None, sizes.read_calls, 1, seeded),
                "",
            )
        ],
        "limits": [
            (
                Result(f"get_items(limit=20) on {items:,}", "call", sizes.limit_calls),
                plan_reads(items, 20, sizes.limit_calls, limit_step, seeded),
                "",
            )
            for items in (sizes.small, sizes.large)
        ],
        "growth": [
            (
                Result(f"append to the {sizes.large:,}-item one", "call", sizes.growth_calls),
                plan_growth(sizes.large, sizes.growth_calls, seeded),
                "",
            )
        ],
        "usage": [
            (
                Result(f"store_run_usage on the {sizes.large:,}", "call", sizes.growth_calls),
                plan_usage(sizes.large, sizes.growth_calls, seeded),
                "branches",
            )
        ],
        "pops": [(Result(f"{sizes.pops} pop_item", "call", sizes.pops), plan_pops, "pops")],
        "branches": [
            (
                Result(f"{sizes.branches} create_branch_from_turn", "call", sizes.branches),
                plan_branches,
                "branches",
            )
        ],
    }


async def run_interleaved(plans: dict) -> dict:
    """One step of each plan in turn, rotating who goes first; seconds per plan."""
    names = list(plans)
    totals = dict.fromkeys(names, 0.0)
    for index in range(max(len(plan.steps) for plan in plans.values())):
        first = index % len(names)
        for name in names[first:] + names[:first]:
            if index < len(plans[name].steps):
                totals[name] += await plans[name].steps[index]()
    return totals


async def measure(
    implementations: list[Implementation], sizes: Sizes, label: str, kinds: list[str]
) -> dict[str, list[Result]]:
    """Results by kind of workload, for the kinds asked for."""
    seeded = Seeded()
    results = []
    by_kind = {}
    for kind, group in workloads(sizes, seeded).items():
        if kind not in kinds:
            continue
        for run in range(sizes.runs):
            plans = {}
            for number, (result, planner, needs) in enumerate(group):
                for implementation in implementations:
                    if not needs or getattr(implementation, needs):
                        tag = f"{label}-{len(results) + number}-{run}"
                        plan = await planner(implementation, tag, sizes)
                        plans[(result, implementation.name)] = plan
            for (result, name), seconds in (await run_interleaved(plans)).items():
                result.seconds.setdefault(name, []).append(seconds)
            for plan in plans.values():
                await plan.cleanup()
        for result, _planner, _needs in group:
            print(f"  {label}: {result.workload} done", file=sys.stderr, flush=True)
            results.append(result)
        by_kind[kind] = [result for result, _planner, _needs in group]
    await seeded.close(implementations)
    return by_kind


# --- output ------------------------------------------------------------------


def table(engine: str, by_kind: dict[str, list[Result]], names: list[str]) -> list[str]:
    header = f"{'workload':<36} {'implementation':<24} {'median':>10} {'per call':>10}  ours vs it"
    lines = [f"== {engine} ==", header, "-" * len(header)]
    for result in (result for results in by_kind.values() for result in results):
        ours = result.median(OURS)
        for name in names:
            median = result.median(name)
            if median is None:
                continue
            ratio = "" if name == OURS else f"{median / ours:.2f}x"
            lines.append(
                f"{result.workload:<36} {name:<24} {median * 1000:>8.1f}ms"
                f" {median / result.operations * 1000:>8.3f}ms  {ratio}"
            )
    return lines


def targets(engine: str, by_kind: dict[str, list[Result]], rival: str, sizes: Sizes) -> list[str]:
    """The issue's targets, for the workloads that ran."""
    lines = []
    if "append" in by_kind:
        append = by_kind["append"][0]
        speed = append.median(rival) / append.median(OURS)
        lines.append(
            f"target {engine}: append vs {rival} {speed:.2f}x (>= 1.0x): "
            + ("met" if speed >= 1.0 else "MISSED")
        )
    if "limits" in by_kind:
        limit_small, limit_large = by_kind["limits"]
        growth = limit_large.median(OURS) / limit_small.median(OURS)
        lines.append(
            f"target {engine}: get_items(limit=20) at {sizes.large:,} / at {sizes.small:,}"
            f" = {growth:.2f}x (<= 1.5x): " + ("met" if growth <= 1.5 else "MISSED")
        )
    return lines


# --- setup -------------------------------------------------------------------


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


async def bench_sqlite(
    directory: Path, sizes: Sizes, synchronous: str, kinds: list[str]
) -> list[str]:
    implementations = sqlite_implementations(directory, synchronous)
    results = await measure(implementations, sizes, "sqlite", kinds)
    await close_django_connections()
    names = [implementation.name for implementation in implementations]
    title = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous={synchronous})"
    return [
        *table(title, results, names),
        *targets("SQLite", results, "AdvancedSQLiteSession", sizes),
    ]


async def bench_postgres(admin_url: str, sizes: Sizes, kinds: list[str]) -> list[str]:
    from agents.extensions.memory import SQLAlchemySession
    from sqlalchemy.ext.asyncio import create_async_engine

    sqlalchemy_url = database_url(admin_url, SQLALCHEMY_DATABASE, "postgresql+asyncpg")
    engine = create_async_engine(sqlalchemy_url)
    try:
        creator = SQLAlchemySession("create-tables", engine=engine, create_tables=True)
        await creator.get_items()
        urls = {"floor": database_url(admin_url, BENCH_DATABASE, "postgresql")}
        implementations = postgres_implementations(urls, engine)
        results = await measure(implementations, sizes, "postgres", kinds)
    finally:
        await close_django_connections()
        await engine.dispose()
    names = [implementation.name for implementation in implementations]
    return [
        *table(f"PostgreSQL {server_version(admin_url)}", results, names),
        *targets("PostgreSQL", results, "SQLAlchemySession", sizes),
    ]


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


async def close_django_connections() -> None:
    """Close the connections DjangoSession opened, in asgiref's shared thread."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads, 3 runs")
    parser.add_argument("--runs", type=int, help="runs per workload (median taken)")
    parser.add_argument("--synchronous", default="NORMAL", choices=["OFF", "NORMAL", "FULL"])
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--only",
        choices=KINDS,
        help="run one kind of workload (the targets lines cover what ran)",
    )
    parser.add_argument(
        "--without-triggers",
        action="store_true",
        help="drop the triggers other apps install (the dashboard's rollups) from the scratch"
        " databases, to measure the session layer alone",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = QUICK if args.quick else Sizes()
    if args.runs:
        sizes = Sizes(**{**sizes.__dict__, "runs": args.runs})
    admin_url = None if args.no_postgres else os.environ.get("DATABASE_URL", DEFAULT_POSTGRES_URL)
    directory = Path(tempfile.mkdtemp(prefix="convstore-bench-"))
    started = time.perf_counter()
    lines = []
    try:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE, SQLALCHEMY_DATABASE], create=True)
        bench_url = database_url(admin_url, BENCH_DATABASE) if admin_url else None
        setup_django(
            directory / "django.sqlite3", bench_url, args.synchronous, args.without_triggers
        )
        kinds = [args.only] if args.only else KINDS
        if not args.no_sqlite:
            lines += asyncio.run(bench_sqlite(directory, sizes, args.synchronous, kinds))
        if admin_url:
            lines += ["", *asyncio.run(bench_postgres(admin_url, sizes, kinds))]
    finally:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE, SQLALCHEMY_DATABASE], create=False)
        shutil.rmtree(directory, ignore_errors=True)
    triggers = "dropped (--without-triggers)" if args.without_triggers else "as migrated"
    print(
        f"convstore session bench: median of {sizes.runs} runs"
        f" ({time.perf_counter() - started:.0f}s); 'ours vs it' = its median / ours"
        f" (above 1.0x: DjangoSession is faster); triggers on our tables: {triggers}"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
