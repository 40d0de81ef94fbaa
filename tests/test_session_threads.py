"""DjangoSession runs its database work on the thread sync_to_async(thread_sensitive=True)
would pick, wherever it is called from.

In plain asyncio code it hands the work to asgiref's shared thread itself
(convstore.session._submit); everywhere else it goes through sync_to_async. The
tests compare the thread it uses with asgiref's own choice in each case, and
show what that choice is for: a write made from sync code inside a
transaction, through async_to_sync, joins that transaction.
"""

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, async_to_sync, sync_to_async
from django.db import connections, transaction

from convstore.models import AgentMessage
from convstore.session import DjangoSession, _submit
from tests.conftest import run_async
from tests.session_samples import assistant, user

asgiref_thread = sync_to_async(threading.get_ident, thread_sensitive=True)


async def thread_of_submit() -> int:
    return await _submit(threading.get_ident)


async def both_threads() -> tuple[int, int]:
    return await thread_of_submit(), await asgiref_thread()


def test_plain_asyncio_code_uses_asgirefs_shared_thread() -> None:
    ours, asgirefs = asyncio.run(both_threads())
    assert ours == asgirefs != threading.get_ident()
    shared_thread = SyncToAsync.single_thread_executor.submit(threading.get_ident).result()
    assert ours == shared_thread


def test_inside_a_thread_sensitive_context_the_contexts_thread() -> None:
    """As in a Django ASGI request: each request's sync work runs on a thread of its own."""

    async def in_a_request() -> tuple[int, int]:
        async with ThreadSensitiveContext():
            return await both_threads()

    async def two_requests():
        return await in_a_request(), await in_a_request()

    (ours, asgirefs), (second_ours, _) = asyncio.run(two_requests())
    assert ours == asgirefs
    assert ours != SyncToAsync.single_thread_executor.submit(threading.get_ident).result()
    assert second_ours != ours


def test_inside_async_to_sync_the_sync_callers_thread() -> None:
    ours, asgirefs = async_to_sync(both_threads)()
    assert ours == asgirefs == threading.get_ident()


def test_the_callers_context_variables_reach_the_thread() -> None:
    request_id = contextvars.ContextVar("request_id", default=None)

    async def seen_in_thread() -> str | None:
        request_id.set("req-42")
        return await _submit(request_id.get)

    assert asyncio.run(seen_in_thread()) == "req-42"


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
