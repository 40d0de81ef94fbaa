"""DjangoSession against the Agents SDK's own sessions and a raw floor. Prints a table.

    uv run python bench/session_bench.py            # full run, a few minutes
    uv run python bench/session_bench.py --quick    # smaller workloads, 3 runs
    uv run python bench/session_bench.py --only append --no-sqlite   # one workload, one database
    uv run python bench/session_bench.py --growth   # cost per call at 400 / 4,000 / 40,000 items

--growth prints, instead, the growth table of each engine and PostgreSQL's
raw-floor table (bench/session_growth.py says what they measure).

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

Encrypted, on both: DjangoSession with CONVSTORE_ENCRYPTION_KEYS set around its
calls, and the SDK's EncryptedSession over SQLiteSession (its own file) or
SQLAlchemySession, with a ttl no item reaches; append and get_items only. Their
"ours vs it" compares the SDK's EncryptedSession with encrypted DjangoSession,
and two target lines compare encrypted DjangoSession with plaintext DjangoSession
and with the SDK's EncryptedSession.

Every workload runs every implementation once per run, interleaved, for
--runs runs; the table gives the median and, for the others, how many times
as fast DjangoSession is (their median / ours: above 1.0 means ours is faster).
Before each run the objects already alive are collected and frozen (gc.freeze):
a full collection scans the ~200,000 objects Django and the SDK leave at import
(about 0.1 s here), and it fell on whichever implementation happened to cross
the collector's threshold.
"""

import argparse
import asyncio
import gc
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

# Siblings in bench/, the script's own folder.
from bench_databases import (
    close_django_connections,
    database_url,
    recreate_databases,
    server_version,
    setup_django,
)
from session_growth import (
    GROWTH_SIZES,
    branch_line,
    floor_table,
    growth_table,
    limits_line,
    postgres_growth,
    sqlite_growth,
)
from session_report import Result, encryption_targets, table, targets
from session_stores import (
    Implementation,
    baselines,
    close_session,
    postgres_implementations,
    sqlite_implementations,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
BENCH_DATABASE = "convstore_bench"
SQLALCHEMY_DATABASE = "convstore_bench_sqlalchemy"


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
                needs,
            )
            for items, needs in ((sizes.small, ""), (sizes.large, "every_workload"))
        ],
        "growth": [
            (
                Result(f"append to the {sizes.large:,}-item one", "call", sizes.growth_calls),
                plan_growth(sizes.large, sizes.growth_calls, seeded),
                "every_workload",
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
            gc.collect()
            gc.freeze()
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


# --- setup -------------------------------------------------------------------


async def bench_sqlite(
    directory: Path, sizes: Sizes, synchronous: str, kinds: list[str]
) -> list[str]:
    implementations = sqlite_implementations(directory, synchronous)
    results = await measure(implementations, sizes, "sqlite", kinds)
    await close_django_connections()
    title = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous={synchronous})"
    return [
        *table(title, results, baselines(implementations)),
        *targets("SQLite", results, "AdvancedSQLiteSession", sizes.small, sizes.large),
        *encryption_targets("SQLite", results, "EncryptedSession(SQLiteSession)"),
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
    return [
        *table(f"PostgreSQL {server_version(admin_url)}", results, baselines(implementations)),
        *targets("PostgreSQL", results, "SQLAlchemySession", sizes.small, sizes.large),
        *encryption_targets("PostgreSQL", results, "EncryptedSession(SQLAlchemySession)"),
    ]


async def bench_growth(
    directory: Path, admin_url: str | None, args: argparse.Namespace
) -> list[str]:
    sizes = tuple(args.growth_sizes)
    runs = args.runs or (QUICK.runs if args.quick else Sizes.runs)
    lines = []
    advanced = None
    if not args.no_sqlite:
        figures = await sqlite_growth(directory, args.synchronous, sizes, runs)
        await close_django_connections()
        title = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous={args.synchronous})"
        lines += growth_table(title, figures, "DjangoSession", sizes)
        lines += growth_table(title, figures, "AdvancedSQLiteSession", sizes)
        advanced = figures
    if admin_url:
        floor_url = database_url(admin_url, BENCH_DATABASE, "postgresql")
        figures, costs = await postgres_growth(floor_url, sizes, runs)
        await close_django_connections()
        title = f"PostgreSQL {server_version(admin_url)}"
        lines += ["", *growth_table(title, figures, "DjangoSession", sizes)]
        lines += ["", *floor_table(figures, "DjangoSession", "raw psycopg", sizes)]
        lines.append(limits_line(costs))
        if advanced is not None:
            lines.append(branch_line(figures, advanced, sizes))
    return lines


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
    parser.add_argument("--growth", action="store_true", help="the growth and floor tables instead")
    parser.add_argument(
        "--growth-sizes",
        type=int,
        nargs="+",
        default=list(GROWTH_SIZES),
        help="history sizes for --growth (items)",
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
        from django.conf import settings

        # Plaintext unless an implementation sets keys around its own calls.
        settings.CONVSTORE_ENCRYPTION_KEYS = []
        kinds = [args.only] if args.only else KINDS
        if args.growth:
            lines += asyncio.run(bench_growth(directory, admin_url, args))
        elif not args.no_sqlite:
            lines += asyncio.run(bench_sqlite(directory, sizes, args.synchronous, kinds))
        if admin_url and not args.growth:
            lines += ["", *asyncio.run(bench_postgres(admin_url, sizes, kinds))]
    finally:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE, SQLALCHEMY_DATABASE], create=False)
        shutil.rmtree(directory, ignore_errors=True)
    triggers = "dropped (--without-triggers)" if args.without_triggers else "as migrated"
    print("$ " + " ".join(["python", *sys.argv]))
    print(
        f"convstore session bench: median of {sizes.runs} runs"
        f" ({time.perf_counter() - started:.0f}s); 'ours vs it' = its median / ours"
        f" (above 1.0x: DjangoSession is faster); triggers on our tables: {triggers}"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
