"""The dashboard's pages on a PostgreSQL database of 10,000 conversations / 1,000,000 messages.

    uv run python bench/dashboard_bench.py              # median of 20 requests per page
    uv run python bench/dashboard_bench.py --runs 50 --database convstore_scale
    uv run python bench/dashboard_bench.py --scale 10x  # 100,000 / 10,000,000, own database
    uv run python bench/dashboard_bench.py --scale 0.1x # 1,000 / 100,000: proves the bench

--scale Nx seeds N times the default counts (10,000 conversations, 1,000,000
messages) into a database of its own (convstore_scale_Nx); seeding prints its
rate, and a 10x fill takes long: it is reused by later runs, never refilled.

DATABASE_URL (default postgres://root@127.0.0.1:5432/root) names the server and
a database to connect to; the bench works in its own scratch database on that
server (--database, default convstore_scale), which it creates, migrates and,
when it holds no conversation, fills with `manage.py seed_demo --scale`
(about two minutes) and then VACUUM ANALYZEs. Later runs reuse it.

Each page is requested through Django's test Client, logged in as a staff
superuser, with DEBUG off: a few warm-up requests, then --runs timed ones.
The table gives the median and 90th percentile, the number of SQL queries
of one request, and the target (overview and list: median under 150 ms and
p90 under 300 ms; a 500-turn conversation under 250 ms). The query count of
each page must not grow with the scale: compare the tables of two scales.
Pages whose URL does not exist yet are skipped.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
SCRATCH_DATABASE = "convstore_scale"
LIST_TARGET_MS = 150
P90_TARGET_MS = 300
CONVERSATION_TARGET_MS = 250
DEFAULT_CONVERSATIONS = 10_000
DEFAULT_MESSAGES = 1_000_000
# The list's deep page: one conversation in a hundred in (page 1,000 at 10x),
# inside the list whatever its page size up to 100.
DEEP_PAGE_EVERY = 100


@dataclass
class Page:
    label: str
    url_name: str
    args: tuple = ()
    query: dict | None = None
    target_ms: int | None = None


@dataclass
class Result:
    page: Page
    status: str
    median_ms: float | None = None
    p90_ms: float | None = None
    queries: int | None = None


# --- the scratch database -------------------------------------------------------------


def scratch_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"The dashboard bench needs PostgreSQL; DATABASE_URL is {server_url}")
    return urlunsplit(parts._replace(path=f"/{database}"))


def create_database(server_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
            print(f"Created database {database}.")


def configure_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"  # timings as in production: no query log, no debug toolbar
    os.environ.setdefault("SECRET_KEY", "dashboard-bench-only")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convstore.settings")
    import django

    django.setup()


def prepare(seed_args: list[str]) -> None:
    """Migrate; seed and analyze when the database holds no conversation."""
    from django.core.management import call_command
    from django.db import connection

    from convstore.models import AgentSession

    call_command("migrate", verbosity=0)
    if AgentSession.objects.exists():
        return
    print("Empty database: seeding (manage.py seed_demo --scale " + " ".join(seed_args) + ")")
    started = time.perf_counter()
    call_command("seed_demo", "--scale", *seed_args)
    seeded = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"Seeded in {seeded:.0f} s, VACUUM ANALYZE {time.perf_counter() - started - seeded:.0f} s"
    )


# --- measuring ---------------------------------------------------------------------


def bench_user():
    from django.contrib.auth import get_user_model

    user, created = get_user_model()._default_manager.get_or_create(
        username="dashboard-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def longest_conversation() -> tuple[str, int] | None:
    from django.db.models import Max

    from convstore.models import MAIN_BRANCH, AgentSession, MessageStructure

    live = AgentSession.objects.filter(deleted_at__isnull=True).values("pk")
    row = (
        MessageStructure.objects.filter(branch_id=MAIN_BRANCH, session_id__in=live)
        .values("session_id")
        .annotate(turns=Max("user_turn_number"))
        .order_by("-turns")
        .first()
    )
    return (row["session_id"], row["turns"]) if row else None


def pages(deep_page: int) -> list[Page]:
    longest = longest_conversation()
    result = [
        Page("overview (default period)", "analytics:overview", target_ms=LIST_TARGET_MS),
        Page(
            "overview, all time",
            "analytics:overview",
            query={"period": "all"},
            target_ms=LIST_TARGET_MS,
        ),
        Page("conversations, first page", "analytics:conversations", target_ms=LIST_TARGET_MS),
        Page(
            "conversations, search 'refund'",
            "analytics:conversations",
            query={"q": "refund"},
            target_ms=LIST_TARGET_MS,
        ),
        Page(
            "conversations, search 'Kestrel'",
            "analytics:conversations",
            query={"q": "Kestrel"},
            target_ms=LIST_TARGET_MS,
        ),
        *(
            Page(
                f"conversations, sorted by {sort}",
                "analytics:conversations",
                query={"sort": sort},
                target_ms=LIST_TARGET_MS,
            )
            for sort in ("recent", "turns", "tokens", "cost")
        ),
        Page(
            "conversations, sorted by turns p.3",
            "analytics:conversations",
            query={"sort": "turns", "page": 3},
            target_ms=LIST_TARGET_MS,
        ),
        Page(
            f"conversations, page {deep_page:,}",
            "analytics:conversations",
            query={"page": deep_page},
            target_ms=LIST_TARGET_MS,
        ),
    ]
    if longest:
        session_id, turns = longest
        result.append(
            Page(
                f"conversation of {turns} turns",
                "analytics:conversation",
                args=(session_id,),
                target_ms=CONVERSATION_TARGET_MS,
            )
        )
    result += [
        Page("trash", "analytics:trash", target_ms=LIST_TARGET_MS),
        Page("audit log", "analytics:audit", target_ms=LIST_TARGET_MS),
    ]
    return result


def measure(client, page: Page, runs: int, warmup: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse(page.url_name, args=page.args)
    except NoReverseMatch:
        return Result(page, f"skipped: no URL named {page.url_name} yet")
    if page.query:
        url += "?" + urlencode(page.query)
    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            return Result(page, f"skipped: HTTP {response.status_code} for {url}")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    return Result(
        page,
        "ok",
        median_ms=statistics.median(timings),
        p90_ms=timings[min(len(timings) - 1, int(len(timings) * 0.9))],
        queries=len(queries.captured_queries),
    )


# --- report ---------------------------------------------------------------------------


def verdict(result: Result) -> str:
    if result.median_ms is None or result.page.target_ms is None:
        return ""
    slow = result.median_ms >= result.page.target_ms
    if result.page.target_ms == LIST_TARGET_MS:
        slow = slow or result.p90_ms >= P90_TARGET_MS
    return "SLOW" if slow else "ok"


def print_table(results: list[Result], runs: int) -> None:
    print(f"\nMedian of {runs} requests per page (ms), queries of one request:\n")
    header = f"{'page':<38} {'median':>8} {'p90':>8} {'queries':>8}  {'target':<22} "
    print(header)
    print("-" * len(header))
    for result in results:
        target = f"< {result.page.target_ms} ms" if result.page.target_ms else ""
        if result.page.target_ms == LIST_TARGET_MS:
            target += f", p90 < {P90_TARGET_MS}"
        if result.median_ms is None:
            print(f"{result.page.label:<38} {result.status}")
            continue
        print(
            f"{result.page.label:<38} {result.median_ms:>8.1f} {result.p90_ms:>8.1f} "
            f"{result.queries:>8}  {target:<22} {verdict(result)}"
        )


def describe_database() -> str:
    from django.db import connection

    from convstore.models import AgentMessage, AgentSession, Branch, TurnUsage

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    return (
        f"{connection.settings_dict['NAME']} ({size}): "
        f"{AgentSession.objects.count():,} conversations, "
        f"{AgentMessage.objects.count():,} messages, {TurnUsage.objects.count():,} usage rows, "
        f"{Branch.objects.count():,} branches"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="Scratch database name.")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--scale", help="Nx: N times the default counts, in a database of its own (10x, 0.1x)"
    )
    parser.add_argument("--conversations", help="Seeded when empty.")
    parser.add_argument("--messages", help="Seeded when empty.")
    args = parser.parse_args()
    scale = float(args.scale.removesuffix("x")) if args.scale else 1.0
    args.conversations = args.conversations or str(round(DEFAULT_CONVERSATIONS * scale))
    args.messages = args.messages or str(round(DEFAULT_MESSAGES * scale))
    if args.database is None:
        suffix = "_" + args.scale.replace(".", "_") if args.scale else ""
        args.database = SCRATCH_DATABASE + suffix
    print("$ " + " ".join(["python", *sys.argv]))

    server_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    url = scratch_url(server_url, args.database)
    create_database(server_url, args.database)
    configure_django(url)
    prepare(["--conversations", args.conversations, "--messages", args.messages])
    print(describe_database())

    from django.test import Client

    client = Client()
    client.force_login(bench_user())
    results = []
    for page in pages(max(2, int(args.conversations) // DEEP_PAGE_EVERY)):
        result = measure(client, page, args.runs, args.warmup)
        results.append(result)
        print(f"  {page.label}: {result.status}", flush=True)
    print_table(results, args.runs)


if __name__ == "__main__":
    main()
