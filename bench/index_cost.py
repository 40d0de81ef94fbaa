"""What an index of ours costs the agents' appends: rounds with and without it, alternating.

    uv run python bench/index_cost.py                       # both engines
    uv run python bench/index_cost.py --no-postgres --rounds 20

On each engine's scratch database (as bench/session_bench.py makes them), 25
conversations of 400 items each get one agent turn (4 items) per round, the
index dropped before every other round and created again after it, so the
load on the machine falls on both alike. Prints the median append with and
without each index and their ratio.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_databases import (
    close_django_connections,
    database_url,
    recreate_databases,
    setup_django,
)
from session_growth import seed, turn_items

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
BENCH_DATABASE = "convstore_bench_index"
# Our own indexes on the SDK's tables: name -> its CREATE INDEX columns.
INDEXES = {
    "idx_structure_branch_turn": "message_structure (session_id, branch_id, branch_turn_number)",
}


async def rounds(alias: str, index: str, count: int, conversations: int) -> dict[bool, list]:
    from asgiref.sync import sync_to_async
    from django.db import connections

    from convstore.session import DjangoSession

    def execute(sql: str) -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)

    sessions = [DjangoSession(f"{alias}-{index}-{n}", using=alias) for n in range(conversations)]
    for session in sessions:
        await seed(session, 400)
    seconds: dict[bool, list] = {True: [], False: []}
    turn = 100
    for number in range(count * 2):
        with_index = number % 2 == 0
        if not with_index:
            await sync_to_async(execute)(f"DROP INDEX {index}")
        turn += 1
        start = time.perf_counter()
        for session in sessions:
            await session.add_items(turn_items(session.session_id, turn))
        seconds[with_index].append((time.perf_counter() - start) / len(sessions))
        if not with_index:
            await sync_to_async(execute)(f"CREATE INDEX {index} ON {INDEXES[index]}")
    return seconds


def line(engine: str, index: str, seconds: dict[bool, list]) -> str:
    with_it, without = (statistics.median(seconds[flag]) for flag in (True, False))
    return (
        f"{engine:<12} {index:<28} {with_it * 1000:>9.3f}ms {without * 1000:>9.3f}ms"
        f" {with_it / without:>8.2f}x  " + ("met" if with_it / without <= 1.10 else "MISSED")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds with, and as many without")
    parser.add_argument("--conversations", type=int, default=25)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    admin_url = None if args.no_postgres else os.environ.get("DATABASE_URL", DEFAULT_POSTGRES_URL)
    directory = Path(tempfile.mkdtemp(prefix="convstore-index-"))
    lines = []
    try:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE], create=True)
        bench_url = database_url(admin_url, BENCH_DATABASE) if admin_url else None
        setup_django(directory / "django.sqlite3", bench_url, "NORMAL")
        aliases = ["default", "pg"] if admin_url else ["default"]
        for alias in aliases:
            engine = "SQLite" if alias == "default" else "PostgreSQL"
            for index in INDEXES:
                found = asyncio.run(rounds(alias, index, args.rounds, args.conversations))
                lines.append(line(engine, index, found))
        asyncio.run(close_django_connections())
    finally:
        if admin_url:
            recreate_databases(admin_url, [BENCH_DATABASE], create=False)
        shutil.rmtree(directory, ignore_errors=True)
    print("$ " + " ".join(["python", *sys.argv]))
    print(f"append of one turn (4 items), median of {args.rounds} rounds each, alternating")
    print(f"{'engine':<12} {'index':<28} {'with it':>11} {'without':>11} {'ratio':>9}  (<= 1.10x)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
