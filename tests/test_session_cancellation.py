"""A write whose caller is cancelled still lands, and the caller hears of the
cancellation only once it has, as with the SDK's sessions.

Agent runs get cancelled (a timeout, a client that went away) while a session
saves their items. Each test cancels a write while it waits: queued behind
other work in Django's thread for sync code, or blocked on a lock another
connection holds.
"""

import asyncio
import sqlite3
import threading

import pytest
from agents.extensions.memory import AdvancedSQLiteSession
from asgiref.sync import sync_to_async
from django.db import connections

from convstore.models import AgentSession
from convstore.session import DjangoSession
from tests.conftest import run_async
from tests.session_samples import assistant, run_result, user

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "cancelled-while-saving"
HISTORY = [user("first"), assistant("one"), user("second"), assistant("two")]


async def items(_session=None) -> int:
    return len(await DjangoSession(CONVERSATION).get_items())


async def branches(_session=None) -> list[str]:
    return [branch["branch_id"] for branch in await DjangoSession(CONVERSATION).list_branches()]


async def usage_of_turn_two(_session=None) -> int | None:
    return (await DjangoSession(CONVERSATION).get_turn_usage(2)).get("input_tokens")


async def in_trash(_session=None) -> bool:
    return await AgentSession.objects.filter(pk=CONVERSATION, deleted_at__isnull=False).aexists()


async def branch_of(session: DjangoSession) -> str:
    return session.current_branch_id


# Each write as a cancelled caller starts it, and what shows once it has landed
# (read through a new session object, or from the one that wrote).
WRITES = {
    "add_items": (lambda session: session.add_items([user("third")]), items, 5),
    "pop_item": (lambda session: session.pop_item(), items, 3),
    "clear_session": (lambda session: session.clear_session(), items, 0),
    "store_run_usage": (
        lambda session: session.store_run_usage(run_result(1, 100, 20)),
        usage_of_turn_two,
        100,
    ),
    "create_branch_from_turn": (
        lambda session: session.create_branch_from_turn(1, "again"),
        branches,
        ["main", "retry", "again"],
    ),
    "delete_branch": (lambda session: session.delete_branch("retry"), branches, ["main"]),
    "switch_to_branch": (lambda session: session.switch_to_branch("retry"), branch_of, "retry"),
    "soft_delete": (lambda session: session.soft_delete(), in_trash, True),
    "restore": (lambda session: session.restore(), in_trash, False),
}
# What a write needs done first, uncancelled.
BEFORE = {"restore": lambda session: session.soft_delete()}


async def conversation_with_a_branch() -> DjangoSession:
    session = DjangoSession(CONVERSATION)
    await session.add_items(HISTORY)
    await session.create_branch_from_turn(2, "retry")
    await session.switch_to_branch("main")
    return session


async def cancel_while_waiting(write, release) -> bool:
    """Start write, cancel it while it waits, then release what it waits for.

    Returns whether the cancelled caller was still waiting for the write after
    the cancellation; raises if the caller does not hear of the cancellation.
    """
    task = asyncio.ensure_future(write)
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.sleep(0.2)
    still_waiting = not task.done()
    await release()
    with pytest.raises(asyncio.CancelledError):
        await task
    return still_waiting


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_queued_behind_other_work_lands_before_the_cancellation(name) -> None:
    start, landed, expected = WRITES[name]
    go_on = threading.Event()

    async def scenario():
        session = await conversation_with_a_branch()
        if name in BEFORE:
            await BEFORE[name](session)
        # Other work holds Django's thread for sync code, as another request's could.
        busy = asyncio.ensure_future(sync_to_async(go_on.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)

        async def release():
            go_on.set()
            await busy

        still_waiting = await cancel_while_waiting(start(session), release)
        return still_waiting, await landed(session)

    assert run_async(scenario()) == (True, expected)


def test_an_append_blocked_by_another_writer_lands_before_the_cancellation() -> None:
    run_async(DjangoSession(CONVERSATION).add_items(HISTORY))
    # Another connection holds the conversation row (on SQLite, the write lock).
    other = connections.create_connection("default")
    other.inc_thread_sharing()  # released from another thread
    other.set_autocommit(False)
    with other.cursor() as cursor:
        cursor.execute(
            "UPDATE agent_sessions SET title = title WHERE session_id = %s", [CONVERSATION]
        )

    async def release():
        # Not in Django's thread for sync code: the blocked append holds it.
        await sync_to_async(other.rollback, thread_sensitive=False)()

    async def scenario():
        write = DjangoSession(CONVERSATION).add_items([user("third")])
        return await cancel_while_waiting(write, release), await items()

    try:
        assert run_async(scenario()) == (True, 5)
    finally:
        other.close()


def test_the_sdk_session_also_lands_a_blocked_append_before_the_cancellation(tmp_path) -> None:
    path = tmp_path / "sdk.sqlite3"
    session = AdvancedSQLiteSession(session_id=CONVERSATION, db_path=path, create_tables=True)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def release():
        other.execute("ROLLBACK")

    async def scenario():
        await session.add_items(HISTORY)
        other.execute("BEGIN IMMEDIATE")
        still_waiting = await cancel_while_waiting(session.add_items([user("third")]), release)
        return still_waiting, len(await session.get_items())

    try:
        assert asyncio.run(scenario()) == (True, 5)
    finally:
        other.close()
        session.close()
