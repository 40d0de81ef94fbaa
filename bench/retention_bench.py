"""apply_retention on a seeded PostgreSQL database while 10 agents append.

    uv run python bench/retention_bench.py                # 1,000 conversations / 100,000 messages
    uv run python bench/retention_bench.py --full         # 10,000 / 1,000,000 (seeding: minutes)
    uv run python bench/retention_bench.py --conversations 300 --messages 20000 --agents 4

DATABASE_URL (default postgres://root@127.0.0.1:5432/root) names the server;
the bench drops and re-creates its own scratch database there (--database,
default convstore_retention), migrates it and fills it with
`manage.py seed_demo --scale`, since every run trashes and purges part of it.

Then --agents processes append turns through DjangoSession, each to a
conversation of its own, with a short pause between turns. After a baseline
while nothing else runs, apply_retention trashes the ~10% least recently
active conversations (CONVSTORE_RETAIN_DAYS chosen from the data), the trash
is aged past CONVSTORE_TRASH_DAYS, and a second run purges it. The bench
prints each run's time and the agents' append latency (p50, p99, max) during
the baseline and during the runs, with the ratio to the baseline. The target
is p99 <= 100 ms and max <= 250 ms during the runs.
"""

import argparse
import asyncio
import math
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
SCRATCH_DATABASE = "convstore_retention"
SMALL = (1_000, 100_000)
FULL = (10_000, 1_000_000)
TRASH_SHARE = 0.10
P99_TARGET_MS = 100
MAX_TARGET_MS = 250
# An agent's pause between two turns, as a model call would make it.
AGENT_PAUSE_S = 0.02


def scratch_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"The retention bench needs PostgreSQL; DATABASE_URL is {server_url}")
    return urlunsplit(parts._replace(path=f"/{database}"))


def recreate_database(server_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')


def configure_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "retention-bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convstore.settings")
    import django

    django.setup()


def seed(conversations: int, messages: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command(
        "seed_demo", "--scale", "--conversations", str(conversations), "--messages", str(messages)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- the agents ---------------------------------------------------------------------------


def turn_items(number: int) -> list[dict]:
    return [
        {"role": "user", "content": f"Question {number} from a busy agent"},
        {
            "type": "message",
            "id": f"msg_bench_{number}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": f"Answer {number}", "annotations": []}],
        },
    ]


def agent(url: str, index: int, stop, ready, results) -> None:
    """Append turns until stop is set; put (index, [(time, latency ms)]) on results.

    Puts its index on ready after its first append: starting Django takes seconds.
    """
    configure_django(url)
    from asgiref.sync import sync_to_async
    from django.db import connections

    from convstore.session import DjangoSession

    session = DjangoSession(f"retention-bench-agent-{index}")
    timings: list[tuple[float, float]] = []

    async def work() -> None:
        number = 0
        while not stop.is_set():
            started = time.perf_counter()
            await session.add_items(turn_items(number))
            timings.append((time.time(), (time.perf_counter() - started) * 1000))
            if number == 0:
                ready.put(index)
            number += 1
            await asyncio.sleep(AGENT_PAUSE_S)
        await sync_to_async(connections.close_all, thread_sensitive=True)()

    asyncio.run(work())
    results.put((index, timings))


# --- the runs ---------------------------------------------------------------------------


def retain_days_for_share(share: float) -> int:
    """Days of inactivity beyond which about `share` of the live conversations lie."""
    from django.utils import timezone

    from convstore.models import AgentSession

    live = AgentSession.objects.filter(deleted_at__isnull=True)
    count = live.count()
    offset = max(int(count * share) - 1, 0)
    oldest = live.order_by("updated_at").values_list("updated_at", flat=True)[offset]
    return max(math.floor((timezone.now() - oldest).total_seconds() / 86400), 1)


def age_the_trash(days: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agent_sessions SET deleted_at = deleted_at - %s * interval '1 day'"
            " WHERE deleted_at IS NOT NULL",
            [days],
        )
        return cursor.rowcount


def timed_run(**policies) -> tuple[float, float, float, object]:
    from django.test import override_settings

    from convstore.conversations import apply_retention

    with override_settings(**policies):
        started_at = time.time()
        started = time.perf_counter()
        report = apply_retention()
        elapsed = time.perf_counter() - started
    return started_at, time.time(), elapsed, report


def latency_row(label: str, latencies: list[float]) -> tuple[str, int, float, float, float]:
    if not latencies:
        return label, 0, math.nan, math.nan, math.nan
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return label, len(ordered), statistics.median(ordered), p99, ordered[-1]


def within(timings, start: float, end: float) -> list[float]:
    return [latency for at, latency in timings if start <= at <= end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="10,000 / 1,000,000, as the target.")
    parser.add_argument("--conversations", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--baseline", type=float, default=5.0, help="Seconds of baseline.")
    parser.add_argument("--database", default=SCRATCH_DATABASE)
    args = parser.parse_args()
    conversations, messages = FULL if args.full else SMALL
    conversations = args.conversations or conversations
    messages = args.messages or messages

    server_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    url = scratch_url(server_url, args.database)
    recreate_database(server_url, args.database)
    configure_django(url)
    seeding = seed(conversations, messages)
    print(f"Seeded {conversations:,} conversations / {messages:,} messages in {seeding:.0f} s.")
    retain_days = retain_days_for_share(TRASH_SHARE)

    context = multiprocessing.get_context("spawn")
    stop, ready, results = context.Event(), context.Queue(), context.Queue()
    agents = [
        context.Process(target=agent, args=(url, index, stop, ready, results))
        for index in range(args.agents)
    ]
    for process in agents:
        process.start()
    for _ in agents:
        ready.get(timeout=300)
    time.sleep(2)  # past the first appends' warm-up
    baseline_start = time.time()
    time.sleep(args.baseline)
    baseline_end = time.time()

    trash_start, trash_end, trash_s, trashed = timed_run(
        CONVSTORE_RETAIN_DAYS=retain_days, CONVSTORE_TRASH_DAYS=30
    )
    aged = age_the_trash(31)
    purge_start, purge_end, purge_s, purged = timed_run(
        CONVSTORE_RETAIN_DAYS=None, CONVSTORE_TRASH_DAYS=30
    )
    time.sleep(0.5)
    stop.set()
    timings = []
    for _ in agents:
        timings += results.get(timeout=60)[1]
    for process in agents:
        process.join(timeout=30)

    trashed_count = trashed.results["trash idle"].conversations
    purged_count = purged.results["purge trash"].conversations
    print(
        f"Trash idle (CONVSTORE_RETAIN_DAYS={retain_days}): {trashed_count:,} conversations"
        f" ({trashed_count / conversations:.0%}) in {trash_s:.2f} s"
    )
    print(
        f"Purge trash ({aged:,} aged past 30 days):"
        f" {purged_count:,} conversations in {purge_s:.2f} s"
    )
    print(f"Total apply_retention time: {trash_s + purge_s:.2f} s")
    print()
    rows = [
        latency_row("baseline, no retention", within(timings, baseline_start, baseline_end)),
        latency_row("during trash idle", within(timings, trash_start, trash_end)),
        latency_row("during purge trash", within(timings, purge_start, purge_end)),
        latency_row("during both runs", within(timings, trash_start, purge_end)),
    ]
    print(f"Agents' appends ({args.agents} processes, DjangoSession.add_items of one turn)")
    print(f"{'':28} {'appends':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, count, p50, p99, worst in rows:
        print(f"{label:28} {count:8,} {p50:8.1f} {p99:8.1f} {worst:8.1f}")
    base_p50, base_p99 = rows[0][2], rows[0][3]
    _, _, run_p50, run_p99, run_max = rows[-1]
    print()
    print(
        f"During the runs vs baseline: p50 x{run_p50 / base_p50:.2f}, p99 x{run_p99 / base_p99:.2f}"
    )
    verdict = "met" if run_p99 <= P99_TARGET_MS and run_max <= MAX_TARGET_MS else "NOT met"
    print(f"Target p99 <= {P99_TARGET_MS} ms and max <= {MAX_TARGET_MS} ms: {verdict}")


if __name__ == "__main__":
    main()
