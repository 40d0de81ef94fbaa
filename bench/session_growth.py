"""Does a call's cost grow with the conversation's history? And PostgreSQL's floor.

bench/session_bench.py --growth runs this. For each engine, one conversation
per history size (400, 4,000 and 40,000 items by default) is seeded with whole
agent turns (user message, tool call, tool output, answer) and a usage row per
seed batch; then every call below runs on all sizes, one timed step of each
size in turn (the first one rotating), for --runs runs, so a load swing on the
machine hits the sizes alike. The growth table gives each call's median cost
per call at each size and the ratio of the largest to the smallest.

The calls: append (one turn, 4 items), get_items(limit=20), pop_item,
store_run_usage, get_turn_usage(latest turn), get_conversation_turns() and
create_branch_from_turn(2) (a short prefix: one turn copied), each branch
switched back from and deleted untimed. get_conversation_turns returns every
turn of the branch, so its cost per call grows with them by definition; its
line also gives the cost per turn returned.

PostgreSQL floor: raw psycopg doing the same rows on the same tables of the
same database, in the same run, on conversations of its own seeded alike
(triggers included, as they are part of the schema): append = lock/upsert the
conversation row, read its newest row, insert the messages and their structure
rows, one transaction; get_items(limit=20) = one SELECT; pop_item = lock the
row, read the newest, delete it and its message, one transaction.

PostgreSQL's tables are analyzed once seeded (see analyze()).

SQLite: AdvancedSQLiteSession's create_branch_from_turn(2), on its own file,
seeded alike, is measured beside ours.
"""

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

GROWTH_SIZES = (400, 4_000, 40_000)
SEED_BATCH = 400
# Most any call's cost at the largest size may be of the smallest's.
MAX_GROWTH = 1.5
# Most DjangoSession may cost on PostgreSQL, as a multiple of the raw floor.
MAX_FLOOR_RATIO = 2.0


def turn_items(conversation: str, turn: int) -> list[dict]:
    """One agent turn: question, tool call, tool output, answer (as session_bench's)."""
    call_id = f"call_{conversation}_{turn}"
    return [
        {"role": "user", "content": f"Turn {turn}: what is the weather in Lisbon today?"},
        {
            "type": "function_call",
            "call_id": call_id,
            "name": "get_weather",
            "arguments": '{"city": "Lisbon", "unit": "celsius"}',
        },
        {"type": "function_call_output", "call_id": call_id, "output": '{"temperature": 21}'},
        {
            "role": "assistant",
            "type": "message",
            "content": [{"type": "output_text", "text": "It is 21 °C and clear in Lisbon."}],
        },
    ]


# --- calls ---------------------------------------------------------------------


@dataclass
class Conversation:
    """A seeded conversation and the counters its calls go on from."""

    session: object
    items: int
    next_turn: int
    branches: int = 0


Call = Callable[[Conversation], Awaitable[object]]


async def append(c: Conversation):
    c.next_turn += 1
    await c.session.add_items(turn_items(c.session.session_id, c.next_turn))


async def get_items_20(c: Conversation):
    await c.session.get_items(limit=20)


async def pop_item(c: Conversation):
    await c.session.pop_item()


async def store_run_usage(c: Conversation):
    await c.session.store_run_usage(USAGE_RESULT[0])


async def get_turn_usage(c: Conversation):
    await c.session.get_turn_usage(c.next_turn)


async def get_conversation_turns(c: Conversation):
    await c.session.get_conversation_turns()


async def branch_short_prefix(c: Conversation) -> float:
    """Seconds of create_branch_from_turn(2) alone; switching back and deleting are untimed."""
    c.branches += 1
    name = f"b{c.branches}"
    start = time.perf_counter()
    await c.session.create_branch_from_turn(2, name)
    elapsed = time.perf_counter() - start
    await c.session.switch_to_branch("main")
    await c.session.delete_branch(name, force=True)
    return elapsed


USAGE_RESULT: list = []


@dataclass(frozen=True)
class Workload:
    name: str
    call: Call
    calls_per_step: int
    # The call returns its own timed seconds (untimed work around it).
    self_timed: bool = False


WORKLOADS = [
    Workload("append (4 items)", append, 20),
    Workload("get_items(limit=20)", get_items_20, 50),
    Workload("pop_item", pop_item, 20),
    Workload("store_run_usage", store_run_usage, 20),
    Workload("get_turn_usage(turn)", get_turn_usage, 50),
    Workload("get_conversation_turns", get_conversation_turns, 2),
    Workload("create_branch_from_turn(2)", branch_short_prefix, 5, self_timed=True),
]
FLOOR_WORKLOADS = ("append (4 items)", "get_items(limit=20)", "pop_item")
BRANCH_WORKLOAD = "create_branch_from_turn(2)"


async def timed_step(workload: Workload, conversation: Conversation) -> float:
    if workload.self_timed:
        return sum([await workload.call(conversation) for _ in range(workload.calls_per_step)])
    start = time.perf_counter()
    for _ in range(workload.calls_per_step):
        await workload.call(conversation)
    return time.perf_counter() - start


# --- the PostgreSQL floor ------------------------------------------------------------


class PostgresFloorSession:
    """The same rows as DjangoSession's append, get_items(limit=20) and pop_item, in raw SQL."""

    NEWEST = (
        "SELECT sequence_number, user_turn_number, branch_turn_number FROM message_structure"
        " WHERE session_id = %s AND branch_id = 'main' ORDER BY sequence_number DESC LIMIT 1"
    )
    NEWEST_WITH_DATA = (
        "SELECT ms.id, ms.message_id, m.message_data FROM message_structure ms"
        " JOIN agent_messages m ON m.id = ms.message_id"
        " WHERE ms.session_id = %s AND ms.branch_id = 'main'"
        " ORDER BY ms.sequence_number DESC LIMIT 1"
    )
    LAST_20 = (
        "SELECT m.message_data FROM message_structure ms"
        " JOIN agent_messages m ON m.id = ms.message_id"
        " WHERE ms.session_id = %s AND ms.branch_id = 'main'"
        " ORDER BY ms.sequence_number DESC LIMIT 20"
    )

    def __init__(self, connection, session_id: str):
        self.connection, self.session_id = connection, session_id

    async def add_items(self, items: list[dict]) -> None:
        from convstore import items as sdk_items

        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO agent_sessions (session_id, updated_at) VALUES (%s, now())"
                " ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at",
                [self.session_id],
            )
            cursor.execute(self.NEWEST, [self.session_id])
            sequence, turn, branch_turn = cursor.fetchone() or (0, 0, 0)
            values = ", ".join(["(%s, %s)"] * len(items))
            cursor.execute(
                f"INSERT INTO agent_messages (session_id, message_data) VALUES {values}"
                " RETURNING id",
                [value for item in items for value in (self.session_id, json.dumps(item))],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
            rows = []
            for offset, (message_id, item) in enumerate(zip(ids, items, strict=True), start=1):
                if sdk_items.is_user_message(item):
                    turn, branch_turn = turn + 1, branch_turn + 1
                rows += [self.session_id, message_id, "main", sdk_items.message_type(item)]
                rows += [sequence + offset, turn, branch_turn, sdk_items.tool_name(item)]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(items))
            cursor.execute(
                "INSERT INTO message_structure (session_id, message_id, branch_id, message_type,"
                " sequence_number, user_turn_number, branch_turn_number, tool_name)"
                f" VALUES {values}",
                rows,
            )

    async def get_items(self, limit: int | None = None) -> list[dict]:
        rows = self.connection.execute(self.LAST_20, [self.session_id]).fetchall()
        return [json.loads(data) for (data,) in reversed(rows)]

    async def pop_item(self) -> dict | None:
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM agent_sessions WHERE session_id = %s FOR UPDATE", [self.session_id]
            )
            cursor.execute(self.NEWEST_WITH_DATA, [self.session_id])
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute("DELETE FROM message_structure WHERE id = %s", [row[0]])
            cursor.execute(
                "DELETE FROM agent_messages WHERE id = %s AND NOT EXISTS"
                " (SELECT 1 FROM message_structure WHERE message_id = %s)",
                [row[1], row[1]],
            )
            return json.loads(row[2])


# --- measuring -----------------------------------------------------------------------


@dataclass
class Figures:
    """Seconds per call, by (workload, implementation, size): one figure per run."""

    runs: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)

    def add(self, workload: Workload, name: str, size: int, seconds: float) -> None:
        key = (workload.name, name, size)
        self.runs.setdefault(key, []).append(seconds / workload.calls_per_step)

    def median(self, workload: str, name: str, size: int) -> float | None:
        runs = self.runs.get((workload, name, size))
        return statistics.median(runs) if runs else None


def load_usage_result() -> None:
    """The RunResult store_run_usage gets (the SDK imported only once Django is set up)."""
    if not USAGE_RESULT:
        from convstore.scripted import Step, usage_result

        usage = Step(input_tokens=1200, cached_tokens=400, output_tokens=300, reasoning_tokens=50)
        USAGE_RESULT.append(usage_result(usage.usage()))


async def seed(session, items: int) -> None:
    """Whole turns in big add_items calls, a usage row after each (untimed)."""
    load_usage_result()
    turns = items // 4
    for first in range(1, turns + 1, SEED_BATCH // 4):
        last = min(first + SEED_BATCH // 4, turns + 1)
        batch = [item for t in range(first, last) for item in turn_items(session.session_id, t)]
        await session.add_items(batch)
        if hasattr(session, "store_run_usage"):
            await session.store_run_usage(USAGE_RESULT[0])


async def analyze(label: str) -> None:
    """PostgreSQL: planner statistics for the rows just seeded, as autovacuum would take.

    Tables filled seconds before have none, and the planner then picked the
    (session, branch, sequence) index for a turn's rows, reading every row of
    the branch; SQLite's planner needs none.
    """
    if label != "postgres":
        return
    from asgiref.sync import sync_to_async
    from django.db import connections

    def run():
        with connections["pg"].cursor() as cursor:
            cursor.execute("ANALYZE")

    await sync_to_async(run)()


async def measure(
    implementations: dict[str, Callable[[str], object]],
    workloads: dict[str, list[Workload]],
    sizes: tuple[int, ...],
    runs: int,
    label: str,
) -> Figures:
    """Every implementation's workloads at every size, interleaved, run by run."""
    conversations = {}
    for name, open_session in implementations.items():
        for size in sizes:
            session = open_session(f"{label}-growth-{size}")
            await seed(session, size)
            conversations[(name, size)] = Conversation(session, size, size // 4)
    await analyze(label)
    figures = Figures()
    keys = list(conversations)
    for workload in {w.name: w for group in workloads.values() for w in group}.values():
        which = [key for key in keys if workload in workloads[key[0]]]
        for run in range(runs):
            first = run % len(which)
            for key in which[first:] + which[:first]:
                seconds = await timed_step(workload, conversations[key])
                figures.add(workload, key[0], key[1], seconds)
    for conversation in conversations.values():
        close = getattr(conversation.session, "close", None)
        if close is not None:
            close()
    return figures


# --- tables --------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return f"{seconds * 1000:>9.3f}" if seconds is not None else f"{'-':>9}"


def growth_table(title: str, figures: Figures, name: str, sizes: tuple[int, ...]) -> list[str]:
    header = (
        f"{'call (' + name + ')':<44}"
        + "".join(f"{f'{size:,} items':>13}" for size in sizes)
        + f"{'largest/smallest':>18}  target"
    )
    lines = [f"== {title}: ms per call ==", header, "-" * len(header)]
    for workload in WORKLOADS:
        medians = [figures.median(workload.name, name, size) for size in sizes]
        if medians[0] is None:
            continue
        growth = medians[-1] / medians[0]
        verdict = "met" if growth <= MAX_GROWTH else "MISSED"
        if workload.call is get_conversation_turns:
            per_turn = [m / (size // 4) * 1000 for m, size in zip(medians, sizes, strict=True)]
            verdict = "returns every turn: per turn " + ", ".join(f"{t:.4f}" for t in per_turn)
        lines.append(
            f"{workload.name:<44}"
            + "".join(f"{_ms(m):>13}" for m in medians)
            + f"{growth:>17.2f}x  {verdict}"
        )
    return lines


def floor_table(figures: Figures, ours: str, floor: str, sizes: tuple[int, ...]) -> list[str]:
    header = (
        f"{'call: ' + ours + ' / ' + floor:<44}"
        + "".join(f"{f'{size:,} items':>13}" for size in sizes)
        + f"  target (<= {MAX_FLOOR_RATIO:.0f}x)"
    )
    lines = ["== PostgreSQL: DjangoSession vs raw psycopg floor, ms per call ==", header]
    lines.append("-" * len(header))
    for workload in (w for w in WORKLOADS if w.name in FLOOR_WORKLOADS):
        for name in (ours, floor):
            medians = [figures.median(workload.name, name, size) for size in sizes]
            lines.append(
                f"{workload.name + ' ' + name:<44}" + "".join(f"{_ms(m):>13}" for m in medians)
            )
        ratios = [
            figures.median(workload.name, ours, size) / figures.median(workload.name, floor, size)
            for size in sizes
        ]
        verdict = "met" if max(ratios) <= MAX_FLOOR_RATIO else "MISSED"
        lines.append(
            f"{'  ratio':<44}"
            + "".join(f"{f'{ratio:.2f}x':>13}" for ratio in ratios)
            + f"  {verdict}"
        )
    return lines


def branch_line(ours: Figures, advanced: Figures, sizes: tuple[int, ...]) -> str:
    """PostgreSQL DjangoSession's create_branch_from_turn vs AdvancedSQLiteSession's, same run."""
    pg = ours.median(BRANCH_WORKLOAD, "DjangoSession", sizes[0])
    theirs = advanced.median(BRANCH_WORKLOAD, "AdvancedSQLiteSession", sizes[0])
    if pg is None or theirs is None:
        return ""
    speed = theirs / pg
    return (
        f"target PostgreSQL: create_branch_from_turn(2) at {sizes[0]:,}: AdvancedSQLiteSession"
        f" (SQLite) {theirs * 1000:.3f}ms / DjangoSession (PostgreSQL) {pg * 1000:.3f}ms ="
        f" {speed:.2f}x (>= 1.0x): " + ("met" if speed >= 1.0 else "MISSED")
    )


# --- engines -------------------------------------------------------------------------


async def sqlite_growth(directory: Path, synchronous: str, sizes, runs: int):
    from agents.extensions.memory import AdvancedSQLiteSession
    from session_stores import with_synchronous

    from convstore.session import DjangoSession

    advanced = with_synchronous(AdvancedSQLiteSession, synchronous)
    path = directory / "growth_advanced.sqlite3"
    implementations = {
        "DjangoSession": lambda sid: DjangoSession(sid),
        "AdvancedSQLiteSession": lambda sid: advanced(
            session_id=sid, db_path=path, create_tables=True
        ),
    }
    branch = [w for w in WORKLOADS if w.name == BRANCH_WORKLOAD]
    workloads = {"DjangoSession": WORKLOADS, "AdvancedSQLiteSession": branch}
    return await measure(implementations, workloads, sizes, runs, "sqlite")


async def postgres_growth(floor_url: str, sizes, runs: int):
    import psycopg

    from convstore.session import DjangoSession

    connection = psycopg.connect(floor_url, autocommit=True)
    implementations = {
        "DjangoSession": lambda sid: DjangoSession(sid, using="pg"),
        "raw psycopg": lambda sid: PostgresFloorSession(connection, f"floor-{sid}"),
    }
    floor = [w for w in WORKLOADS if w.name in FLOOR_WORKLOADS]
    workloads = {"DjangoSession": WORKLOADS, "raw psycopg": floor}
    try:
        figures = await measure(implementations, workloads, sizes, runs, "postgres")
        return figures, await round_trip_costs(connection, runs)
    finally:
        connection.close()


async def round_trip_costs(connection, runs: int, calls: int = 200) -> dict[str, float]:
    """What every DjangoSession call pays before its SQL, in seconds: the hop to
    Django's thread (sync_to_async) and one round trip to the server (SELECT 1)."""
    from convstore import sync_thread

    async def hop():
        await sync_thread.call(lambda: None, using="pg")

    async def round_trip():
        connection.execute("SELECT 1").fetchall()

    costs: dict[str, list[float]] = {"thread hop": [], "round trip": []}
    for _ in range(runs):
        for name, call in (("thread hop", hop), ("round trip", round_trip)):
            start = time.perf_counter()
            for _ in range(calls):
                await call()
            costs[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(seconds) for name, seconds in costs.items()}


def limits_line(costs: dict[str, float]) -> str:
    return (
        "floor's own limits, same run: one round trip (SELECT 1) "
        f"{costs['round trip'] * 1000:.3f}ms; DjangoSession's hop to Django's thread"
        f" {costs['thread hop'] * 1000:.3f}ms (get_items: hop + 2 statements; floor: 1)"
    )
