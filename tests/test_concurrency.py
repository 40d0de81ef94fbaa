"""Many writers on one conversation at once: threads, DjangoSession objects, processes.

Whatever the interleaving, no item is lost or duplicated, sequence numbers stay
unique (and contiguous, since every write appends at the end or pops the end),
each writer's items keep their order, and every user message opens the next
turn. On SQLite none of this may end in "database is locked".
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, connections

from convstore import conversations
from convstore.models import AgentMessage, MessageStructure
from convstore.session import DjangoSession

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
THREADS = 8
TURNS_PER_WRITER = 10
SESSION_ID = "concurrent"


# --- items -------------------------------------------------------------------


def turn_items(writer: str, turn: int) -> list[dict]:
    """One turn of a writer: a user message, a tool call and its output, a reply."""
    call_id = f"{writer}-call-{turn}"
    return [
        {"role": "user", "content": f"{writer} asks {turn}"},
        {"type": "function_call", "call_id": call_id, "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call_id, "output": f"{writer} {turn}"},
        {"role": "assistant", "content": f"{writer} answers {turn}"},
    ]


def writer_items(writer: str, turns: int = TURNS_PER_WRITER) -> list[dict]:
    return [item for turn in range(1, turns + 1) for item in turn_items(writer, turn)]


def key(item: dict) -> str:
    return json.dumps(item, sort_keys=True)


# --- writers -----------------------------------------------------------------


def append_through_layer(writer: str, turns: int = TURNS_PER_WRITER) -> None:
    for turn in range(1, turns + 1):
        conversations.append_items(session_id=SESSION_ID, items=turn_items(writer, turn))


async def append_through_session(writer: str, turns: int = TURNS_PER_WRITER) -> None:
    session = DjangoSession(SESSION_ID)
    try:
        for turn in range(1, turns + 1):
            await session.add_items(turn_items(writer, turn))
    finally:
        # DjangoSession works in asgiref's shared thread: close the connection there.
        await sync_to_async(connections.close_all)()


def run_threads(targets: list) -> None:
    """Start every target at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer thread hung"
    if errors:
        raise errors[0]


def layer_writer(writer: str, turns: int = TURNS_PER_WRITER):
    return lambda: append_through_layer(writer, turns)


def session_writer(writer: str, turns: int = TURNS_PER_WRITER):
    return lambda: asyncio.run(append_through_session(writer, turns))


# --- checks ------------------------------------------------------------------


def branch_rows(branch_id: str = "main") -> list[tuple]:
    return list(
        MessageStructure.objects.filter(session_id=SESSION_ID, branch_id=branch_id)
        .order_by("sequence_number")
        .values_list(
            "sequence_number",
            "message_type",
            "user_turn_number",
            "branch_turn_number",
            "message_id",
            "message__message_data",
        )
    )


def assert_turns_consistent(rows: list[tuple]) -> None:
    """Each user message opens the next turn; every other item stays in the open one."""
    turn = 0
    for _sequence, kind, user_turn, branch_turn, _message, _data in rows:
        if kind == "user":
            turn += 1
        assert (user_turn, branch_turn) == (turn, turn)


def by_writer(stored: list[dict], expected: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The stored items split by the writer that wrote them, in stored order."""
    owner = {key(item): writer for writer, items in expected.items() for item in items}
    split: dict[str, list[dict]] = {writer: [] for writer in expected}
    for item in stored:
        split[owner[key(item)]].append(item)
    return split


def assert_in_writer_order(stored: list[dict], expected: dict[str, list[dict]]) -> None:
    """Each writer's stored items are its own items, in the order it wrote them."""
    for writer, mine in by_writer(stored, expected).items():
        assert mine == expected[writer], f"{writer}'s items are out of order or missing"


def assert_main_holds(expected: dict[str, list[dict]], *, only_branch: bool = True) -> None:
    """main holds exactly the expected items; numbered 1..N when it is the only branch."""
    rows = branch_rows()
    stored = [json.loads(row[-1]) for row in rows]
    sequence = [row[0] for row in rows]
    if only_branch:
        assert sequence == list(range(1, len(rows) + 1))
    else:
        # Other branches take numbers from the same per-conversation counter.
        assert sequence == sorted(set(sequence))
    assert sorted(map(key, stored)) == sorted(key(i) for items in expected.values() for i in items)
    assert_in_writer_order(stored, expected)
    assert_turns_consistent(rows)


# --- threads -----------------------------------------------------------------

WRITER_KINDS = {
    "layer": layer_writer,
    "session": session_writer,
}


@pytest.mark.parametrize(
    "kinds",
    [
        ["layer"] * THREADS,
        ["session"] * THREADS,
        ["layer", "session"] * (THREADS // 2),
    ],
    ids=["write-layer", "django-session", "mixed"],
)
def test_threads_appending_lose_nothing(kinds):
    writers = [f"w{index}" for index in range(len(kinds))]
    run_threads([WRITER_KINDS[kind](writer) for kind, writer in zip(kinds, writers, strict=True)])

    assert_main_holds({writer: writer_items(writer) for writer in writers})
    assert AgentMessage.objects.filter(session_id=SESSION_ID).count() == len(kinds) * 40


def test_pop_while_appending_keeps_sequence_unique():
    conversations.append_items(session_id=SESSION_ID, items=writer_items("seed", 10))
    popped: list[dict] = []

    def popper():
        for _ in range(30):
            item, _position = conversations.pop_item(session_id=SESSION_ID)
            popped.append(item)

    writers = [f"w{index}" for index in range(4)]
    run_threads([popper, *(layer_writer(writer) for writer in writers)])

    # 40 seed items, 30 pops: the branch is never empty when a pop runs.
    assert None not in popped
    rows = branch_rows()
    stored = [json.loads(row[-1]) for row in rows]
    expected = {"seed": writer_items("seed", 10)} | {w: writer_items(w) for w in writers}
    appended = [item for items in expected.values() for item in items]
    # Pops take the end, so what stays is still numbered 1..N.
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    assert sorted(map(key, stored + popped)) == sorted(map(key, appended))
    for writer, mine in by_writer(stored, expected).items():
        assert_subsequence(mine, expected[writer])
    assert_turns_consistent(rows)
    assert AgentMessage.objects.filter(session_id=SESSION_ID).count() == len(rows)


def assert_subsequence(items: list[dict], of: list[dict]) -> None:
    remaining = iter(map(key, of))
    assert all(key(item) in remaining for item in items), "items out of order"


def test_fork_while_appending_keeps_sequence_unique():
    seed = writer_items("seed", 5)
    conversations.append_items(session_id=SESSION_ID, items=seed)
    forks = [(f"fork-{n}", n % 5 + 1) for n in range(10)]

    def forker():
        for name, turn in forks:
            conversations.fork(session_id=SESSION_ID, turn_number=turn, branch_name=name)

    writers = [f"w{index}" for index in range(4)]
    run_threads([forker, *(layer_writer(writer) for writer in writers)])

    expected = {"seed": seed} | {writer: writer_items(writer) for writer in writers}
    assert_main_holds(expected, only_branch=False)
    every = list(
        MessageStructure.objects.filter(session_id=SESSION_ID).values_list(
            "sequence_number", flat=True
        )
    )
    assert sorted(every) == list(range(1, len(every) + 1))
    main = branch_rows()
    for name, turn in forks:
        # A fork at turn N copies main's turns before N, which no later append changes.
        copied = [(row[1], row[2], row[4]) for row in branch_rows(name)]
        assert copied == [(row[1], row[2], row[4]) for row in main if row[3] < turn]


# --- processes ---------------------------------------------------------------

# Each process runs a write-layer writer and a DjangoSession writer side by side.
WRITER_SCRIPT = """
import sys
import django
django.setup()
from django.db import connection
from tests.test_concurrency import layer_writer, process_writers, run_threads, session_writer

process, turns = sys.argv[1], int(sys.argv[2])
layer, session = process_writers(process)
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
run_threads([layer_writer(layer, turns), session_writer(session, turns)])
"""


def process_writers(process: str) -> tuple[str, str]:
    return f"{process}-layer", f"{process}-session"


def writers_database_url() -> str:
    """A URL to the database this test run created, for the writer processes."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(config['NAME']).resolve()}"
    credentials = quote(config["USER"] or "", safe="")
    if config["PASSWORD"]:
        credentials += ":" + quote(config["PASSWORD"], safe="")
    host = f"{config['HOST'] or 'localhost'}:{config['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(config['NAME'], safe='')}"


def start_writer(process: str, turns: int) -> subprocess.Popen:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "convstore.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": writers_database_url(),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, process, str(turns)],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_appending_lose_nothing():
    turns = 20
    names = ["p0", "p1"]
    processes = [start_writer(name, turns) for name in names]
    try:
        # Wait until every process is connected, then let them all go at once.
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_out, err) in zip(processes, results, strict=True):
        assert "database is locked" not in err
        assert process.returncode == 0, err

    writers = [writer for name in names for writer in process_writers(name)]
    assert_main_holds({writer: writer_items(writer, turns) for writer in writers})
