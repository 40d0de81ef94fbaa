"""manage.py seed_demo: demo conversations for the dashboard, or a large data set for benches.

    manage.py seed_demo               about 30 conversations, played by the real Runner
    manage.py seed_demo --if-empty    the same, unless the database holds any conversation
    manage.py seed_demo --scale       10,000 conversations holding 1,000,000 messages
    manage.py seed_demo --scale --conversations 20 --messages 2000

The demo runs the Agents SDK Runner against an offline scripted model (no
network) with DjangoSession: multi-turn conversations of five personas with
tool calls, reasoning, usage on priced and unknown models, branches (one made
active) and one conversation in the trash, spread over the last 60 days.

--scale writes with convstore.demo.bulk.write_histories (COPY on PostgreSQL),
in chunks of --chunk conversations.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from convstore import conversations
from convstore.demo import bulk, scale, seed
from convstore.models import AgentSession


class Command(BaseCommand):
    help = (
        "Seed about 30 demo conversations (real Runner, scripted offline model), "
        "or with --scale a large data set for benches."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any conversation exists."
        )
        parser.add_argument(
            "--scale", action="store_true", help="Write a large data set (see the counts below)."
        )
        parser.add_argument("--conversations", type=int, default=10_000, help="With --scale.")
        parser.add_argument("--messages", type=int, default=1_000_000, help="With --scale.")
        parser.add_argument(
            "--long",
            type=int,
            default=5,
            help=f"With --scale: conversations of {scale.LONG_TURNS} turns (if they fit).",
        )
        parser.add_argument("--chunk", type=int, default=250, help="Conversations per write.")
        parser.add_argument("--seed", type=int, default=seed.SEED, help="Random seed.")

    def handle(self, *args, **options):
        if options["if_empty"] and AgentSession.objects.exists():
            self.stdout.write("Conversations exist already: nothing seeded.")
            return
        if options["scale"]:
            self.seed_scale(options)
        else:
            self.seed_demo(options["seed"])

    # --- the demo ----------------------------------------------------------------------

    def seed_demo(self, random_seed: int) -> None:
        started = time.perf_counter()
        try:
            plans = async_to_sync(seed.seed)(random_seed)
        except seed.DemoExists as exc:
            raise CommandError(f"{exc}. Seed an empty database, or use --if-empty.") from exc
        for plan in plans:
            self.stdout.write(self.describe(plan))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(plans)} demo conversations in {time.perf_counter() - started:.1f} s."
            )
        )

    @staticmethod
    def describe(plan: seed.Plan) -> str:
        notes = [f"{len(plan.beats)} turns", plan.model]
        notes += [f"branch '{branch.name}' ({branch.model})" for branch in plan.branches]
        if plan.make_active:
            notes.append(f"active: {plan.make_active}")
        if plan.trash_at:
            notes.append("in the trash")
        title = plan.title or "(untitled)"
        return f"  {plan.session_id:<18} {title[:44]:<44} {', '.join(notes)}"

    # --- the scale data set ---------------------------------------------------------

    def seed_scale(self, options) -> None:
        count, messages = options["conversations"], options["messages"]
        random_seed, chunk = options["seed"], max(1, options["chunk"])
        started, now = time.perf_counter(), timezone.now()
        try:
            specs = scale.plan(count, messages, options["long"], now, random_seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        totals: dict[str, int] = {}
        to_trash = []
        for start, (histories, prepared) in self.chunks(specs, chunk, now, random_seed):
            try:
                written = bulk.write_histories(prepared)
            except conversations.ConversationError as exc:
                raise CommandError(f"{exc}. Seed --scale into an empty database.") from exc
            for table, rows in written.items():
                totals[table] = totals.get(table, 0) + rows
            # One conversation in 250 goes to the trash, afterwards, through the usual write.
            to_trash += [
                history.session_id
                for spec, history in zip(specs[start:], histories, strict=False)
                if spec.index % 250 == 125
            ]
            self.progress(start, start + len(histories), len(specs), totals, started)
        for session_id in to_trash:
            conversations.trash(session_id=session_id)
        self.report(totals, len(to_trash), time.perf_counter() - started)

    @staticmethod
    def chunks(specs: list, size: int, now, random_seed: int) -> Iterator[tuple[int, tuple]]:
        """(start, (histories, their rows)) per chunk, the next built while this one is written.

        Building is Python and writing mostly waits on the database (COPY, then
        triggers and foreign-key checks at commit), so a thread overlaps the two.
        """

        def build(start: int) -> tuple[list, bulk.PreparedHistories]:
            histories = [
                scale.history(spec, now, random_seed) for spec in specs[start : start + size]
            ]
            return histories, bulk.prepare_histories(histories, actor_label="seed_demo")

        starts = range(0, len(specs), size)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(build, 0) if starts else None
            for start in starts:
                built = pending.result()
                if start + size < len(specs):
                    pending = pool.submit(build, start + size)
                yield start, built

    def progress(self, before: int, done: int, total: int, totals: dict, started: float) -> None:
        if done == total or done // 1000 != before // 1000:
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"  {done:>7,} / {total:,} conversations, {totals['messages']:,} messages, "
                f"{elapsed:.0f} s"
            )

    def report(self, totals: dict, trashed: int, elapsed: float) -> None:
        rows = sum(totals.values())
        lines = [
            f"Seeded {totals['conversations']:,} conversations ({trashed} in the trash): "
            f"{totals['messages']:,} messages, {totals['structure_rows']:,} structure rows, "
            f"{totals['usage_rows']:,} usage rows, {totals['branches']:,} branches.",
            f"{elapsed:.1f} s, {rows / elapsed:,.0f} rows/s ({totals['messages'] / elapsed:,.0f} "
            "messages/s).",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
