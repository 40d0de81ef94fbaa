"""How fast `seed_demo --scale` fills PostgreSQL, and what a 10x fill would take.

    uv run python bench/seed_rate.py                                  # 10,000 / 1,000,000
    uv run python bench/seed_rate.py --conversations 1000 --messages 100000

Seeds a fresh scratch database (convstore_bench_seed, dropped afterwards) and
prints the wall time and messages per second, the CPU seconds this process
(the generator and writer) and its PostgreSQL backend (COPY, indexes,
triggers) spent, and both extrapolated linearly to --target messages (the
issue's 10,000,000): by wall time on this machine, and by CPU, which a loaded
machine inflates less. The shape (turns, tools, branches, usage) is
seed_demo's own at any size.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from bench_databases import database_url, recreate_databases

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://root@127.0.0.1:5432/root"
BENCH_DATABASE = "convstore_bench_seed"
TARGET_MINUTES = 30


def backend_cpu_seconds() -> float:
    """CPU seconds of this connection's PostgreSQL backend (the server on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--target", type=int, default=10_000_000, help="messages to extrapolate to")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_POSTGRES_URL)
    recreate_databases(admin_url, [BENCH_DATABASE], create=True)
    try:
        os.environ["DATABASE_URL"] = database_url(admin_url, BENCH_DATABASE)
        os.environ.setdefault("SECRET_KEY", "convstore-bench-only")
        os.environ["DJANGO_SETTINGS_MODULE"] = "convstore.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        server_before, client_before = backend_cpu_seconds(), time.process_time()
        started = time.perf_counter()
        call_command(
            "seed_demo", "--scale", f"--conversations={args.conversations}",
            f"--messages={args.messages}",
        )  # fmt: skip
        wall = time.perf_counter() - started
        client = time.process_time() - client_before
        server = backend_cpu_seconds() - server_before
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
        connection.close()
    finally:
        recreate_databases(admin_url, [BENCH_DATABASE], create=False)
    factor = args.target / args.messages
    print("$ " + " ".join(["python", *sys.argv]))
    print(
        f"seeded {args.conversations:,} conversations / {args.messages:,} messages ({size}):"
        f" {wall:.1f} s wall, {args.messages / wall:,.0f} messages/s;"
        f" CPU: this process {client:.1f} s, its PostgreSQL backend {server:.1f} s"
    )
    by_wall = wall * factor / 60
    by_cpu = max(client, server) * factor / 60
    print(
        f"{args.target:,} messages, extrapolated linearly: {by_wall:.0f} min by wall time here;"
        f" {by_cpu:.0f} to {(client + server) * factor / 60:.0f} min of CPU (the generator"
        f" overlaps the writes, or not at all); target {TARGET_MINUTES} min"
    )


if __name__ == "__main__":
    main()
