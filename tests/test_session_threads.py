"""DjangoSession runs its database work through sync_to_async(thread_sensitive=True),
so it runs on the thread Django's own sync code would, wherever it is called from.

The tests show what that is for: a write made from sync code inside a
transaction, through async_to_sync, joins that transaction; async code that
sync code calls back through async_to_sync during a write runs on the caller's
event loop.
"""

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext, async_to_sync, sync_to_async
from django.db import connections, transaction
from django.db.models.signals import post_save

from convstore.models import AgentMessage, AuditEntry
from convstore.session import DjangoSession
from convstore.sync_thread import call as run_in_django_thread
from tests.conftest import run_async
from tests.session_samples import assistant, user

asgiref_thread = sync_to_async(threading.get_ident, thread_sensitive=True)


async def thread_of_call() -> int:
    return await run_in_django_thread(threading.get_ident, using="default")


async def both_threads() -> tuple[int, int]:
    return await thread_of_call(), await asgiref_thread()


def test_plain_asyncio_code_runs_sync_work_off_the_event_loops_thread() -> None:
    ours, asgirefs = asyncio.run(both_threads())
    assert ours == asgirefs != threading.get_ident()


def test_inside_a_thread_sensitive_context_the_contexts_own_thread() -> None:
    """As in a Django ASGI request: the request's sync work runs on a thread of its own."""

    async def outside_and_in_a_request() -> tuple[int, tuple[int, int]]:
        outside = await thread_of_call()
        async with ThreadSensitiveContext():
            return outside, await both_threads()

    outside, (ours, asgirefs) = asyncio.run(outside_and_in_a_request())
    assert ours == asgirefs != outside


def test_inside_async_to_sync_the_sync_callers_thread() -> None:
    ours, asgirefs = async_to_sync(both_threads)()
    assert ours == asgirefs == threading.get_ident()


def test_the_callers_context_variables_reach_the_thread() -> None:
    request_id = contextvars.ContextVar("request_id", default=None)

    async def seen_in_thread() -> str | None:
        request_id.set("req-42")
        return await run_in_django_thread(request_id.get, using="default")

    assert asyncio.run(seen_in_thread()) == "req-42"


def test_context_variables_a_read_sets_come_back_to_the_caller() -> None:
    request_id = contextvars.ContextVar("request_id", default=None)

    async def set_in_thread() -> str | None:
        await run_in_django_thread(lambda: request_id.set("req-42"), using="default")
        return request_id.get()

    assert asyncio.run(set_in_thread()) == "req-42"


@pytest.mark.django_db(transaction=True)
def test_async_code_a_write_calls_through_async_to_sync_runs_on_the_callers_loop() -> None:
    """A signal receiver that calls async code, as Channels' group_send is called
    through async_to_sync, during a write (clear_session saves an audit entry)."""
    loops = []

    async def notify() -> None:
        loops.append(asyncio.get_running_loop())

    def on_audit_entry(**_kwargs) -> None:
        async_to_sync(notify)()

    async def write_and_clear() -> asyncio.AbstractEventLoop:
        session = DjangoSession("notified")
        await session.add_items([user("Hello")])
        await session.clear_session()
        return asyncio.get_running_loop()

    post_save.connect(on_audit_entry, sender=AuditEntry, weak=False)
    try:
        callers_loop = run_async(write_and_clear())
    finally:
        post_save.disconnect(on_audit_entry, sender=AuditEntry)
    assert loops == [callers_loop]


@pytest.mark.django_db(transaction=True)
def test_a_write_from_sync_code_joins_the_callers_transaction() -> None:
    """Sync code (a view under ATOMIC_REQUESTS, say) that runs agent code through
    async_to_sync: the session's writes are part of its transaction.

    On another thread the append would have waited for the write lock this
    transaction holds (SQLite) or committed apart from it (PostgreSQL).
    """
    session = DjangoSession("inside-a-transaction")
    with pytest.raises(RuntimeError, match="the view failed"), transaction.atomic():
        async_to_sync(session.add_items)([user("Hello"), assistant("Hi")])
        assert AgentMessage.objects.filter(session_id="inside-a-transaction").count() == 2
        raise RuntimeError("the view failed")
    assert not AgentMessage.objects.filter(session_id="inside-a-transaction").exists()

    async_to_sync(session.add_items)([user("Hello again")])
    assert AgentMessage.objects.filter(session_id="inside-a-transaction").count() == 1
    assert run_async(DjangoSession("inside-a-transaction").get_items()) == [user("Hello again")]
    connections.close_all()


async def scenario_closing_connections(scenario):
    """scenario() in a request, then its thread's connections closed, as Django's
    ASGI handler closes them when a request ends."""
    try:
        return await scenario()
    finally:
        await sync_to_async(connections.close_all, thread_sensitive=True)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_request", [False, True], ids=["plain asyncio", "in a request"])
def test_a_cancelled_read_lets_its_caller_go_at_once(in_a_request) -> None:
    """Reads are not settled: a caller cancelled while its read waits for the thread
    hears of it at once (writes wait: test_session_cancellation.py)."""
    go_on = threading.Event()

    async def scenario() -> tuple[bool, bool]:
        busy = asyncio.ensure_future(sync_to_async(go_on.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)
        read = asyncio.ensure_future(DjangoSession("cancelled-read").get_items())
        await asyncio.sleep(0.05)
        read.cancel()
        await asyncio.sleep(0.1)
        caller_gone, thread_still_busy = read.done(), not busy.done()
        go_on.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await read
        return caller_gone, thread_still_busy

    async def main():
        if not in_a_request:
            return await scenario()
        async with ThreadSensitiveContext():
            return await scenario_closing_connections(scenario)

    assert run_async(main()) == (True, True)


@pytest.mark.django_db(transaction=True)
def test_in_a_request_a_cancelled_write_lands_before_the_cancellation() -> None:
    """As test_session_cancellation.py shows for plain asyncio code."""
    go_on = threading.Event()

    async def scenario() -> tuple[bool, int]:
        busy = asyncio.ensure_future(sync_to_async(go_on.wait, thread_sensitive=True)(10))
        await asyncio.sleep(0.05)
        write = asyncio.ensure_future(DjangoSession("cancelled-write").add_items([user("Hi")]))
        await asyncio.sleep(0.05)
        write.cancel()
        await asyncio.sleep(0.1)
        caller_waiting = not write.done()
        go_on.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await write
        return caller_waiting, len(await DjangoSession("cancelled-write").get_items())

    async def in_a_request():
        async with ThreadSensitiveContext():
            return await scenario_closing_connections(scenario)

    assert run_async(in_a_request()) == (True, 1)
