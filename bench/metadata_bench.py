"""The conversation list's metadata and agent filters at 100,000 conversations, PostgreSQL.

    uv run python bench/metadata_bench.py                 # 100,000 conversations, 20 runs
    uv run python bench/metadata_bench.py --conversations 20000 --runs 10

DATABASE_URL (default postgres://root@127.0.0.1:5432/root) names the server; the
bench works in its own scratch database (convstore_metadata_bench), which it
drops, creates, migrates and fills with plain SQL: conversations with metadata
{"user_id": "u-<n mod 5000>", "plan": ...} and one usage row each, answered by
one of four agents. It prints the median time of conversation_list() with each
filter next to the unfiltered first page, as a ratio (other work on the machine
moves the absolute figures), and whether the plan uses the filter's index.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench.bench_databases import database_url, recreate_databases  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
SCRATCH_DATABASE = "convstore_metadata_bench"

FILL_SQL = [
    """
    INSERT INTO agent_sessions (session_id, created_at, updated_at, active_branch_id,
        clear_generation, metadata)
    SELECT 'bench-' || n, now() - n * interval '1 second', now() - n * interval '1 second',
        'main', 0,
        jsonb_build_object('user_id', 'u-' || (n %% 5000),
            'plan', CASE WHEN n %% 10 = 0 THEN 'pro' ELSE 'free' END)
    FROM generate_series(1, %(count)s) AS n
    """,
    """
    INSERT INTO turn_usage (session_id, branch_id, user_turn_number, requests, input_tokens,
        output_tokens, total_tokens, model_name, cost, created_at, agent_name, agents)
    SELECT 'bench-' || n, 'main', 1, 1, 1000, 200, 1200, 'gpt-4.1-mini', 0.00072, now(),
        (ARRAY['Triage', 'Billing', 'Refunds', 'Shipping'])[n %% 4 + 1], '["Triage"]'::jsonb
    FROM generate_series(1, %(count)s) AS n
    """,
    "ANALYZE",
]


def setup(admin_url: str, count: int) -> None:
    recreate_databases(admin_url, [SCRATCH_DATABASE], create=True)
    os.environ.setdefault("SECRET_KEY", "convstore-bench-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "convstore.settings"
    os.environ["DATABASE_URL"] = database_url(admin_url, SCRATCH_DATABASE)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for statement in FILL_SQL:
            cursor.execute(statement, {"count": count})


def median_ms(function, runs: int) -> float:
    function()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def plan_of(metadata: tuple[str, str]) -> str:
    from django.db import connection

    from analytics.selectors import listing
    from convstore.models import AgentSession

    live = AgentSession.objects.filter(deleted_at__isnull=True).order_by()
    sql, params = listing.metadata_matching(live, *metadata).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_POSTGRES_URL)
    if not admin_url.startswith("postgres"):
        sys.exit("This bench runs on PostgreSQL: set DATABASE_URL=postgres://...")
    setup(admin_url, args.conversations)

    from analytics import selectors

    cases = [
        ("first page, no filter", {}),
        ("meta user_id=u-42 (20 rows)", {"metadata": ("user_id", "u-42")}),
        ("meta plan=pro (10%)", {"metadata": ("plan", "pro")}),
        ("meta plan=none (0 rows)", {"metadata": ("plan", "none")}),
        ("agent=Refunds (25%)", {"agent": "Refunds"}),
    ]
    print(f"\n{args.conversations:,} conversations; median of {args.runs} runs of")
    print("conversation_list() (count, totals and one page of 25):\n")
    baseline = None
    for label, filters in cases:
        took = median_ms(lambda filters=filters: selectors.conversation_list(**filters), args.runs)
        baseline = baseline or took
        print(f"  {label:<30} {took:>8.1f} ms   x{took / baseline:.2f} of the unfiltered page")
    plan = plan_of(("user_id", "u-42"))
    uses_index = "agent_sessions_metadata" in plan
    print(f"\nuser_id=u-42 uses the GIN index agent_sessions_metadata: {uses_index}")
    recreate_databases(admin_url, [SCRATCH_DATABASE], create=False)


if __name__ == "__main__":
    main()
