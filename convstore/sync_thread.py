"""Django's sync code (the ORM) run for async callers, through
sync_to_async(thread_sensitive=True).

    items = await sync_thread.call(read)
    await sync_thread.call(write, settle=True)

A settled call is awaited to its end even when the caller is cancelled
meanwhile, and the cancellation is raised once it has finished, as the Agents
SDK's sessions do for their writes: a cancelled await would drop a write still
queued for the thread, or leave a running one unobserved, so an agent run
cancelled while it saves its items (a timeout, a client gone) could lose them.
An unsettled call lets its cancelled caller go at once, as sync_to_async does.

A call that fails with a database error closes its connection (unless it ran
inside the caller's transaction), as Django does for a broken one between
requests: agent code keeps a connection for as long as it runs, and a fault
such as a database file that was read-only when it was opened would otherwise
stay with it.
"""

import asyncio

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections


async def call(function, *, using: str, settle: bool = False):
    """function()'s result, run on the thread sync_to_async(thread_sensitive=True) picks."""
    running = _run_sync(function, using)
    if not settle:
        return await running
    # A task of its own, which the caller's cancellation does not reach; context
    # variables the call sets stay in that task.
    return await _settled(asyncio.ensure_future(running))


async def _settled(task: asyncio.Task):
    """The task's outcome, waited for through the caller's cancellations; the first of
    them is raised once the task has finished, whatever its outcome (as the SDK's
    sessions settle their writes)."""
    cancellation = None
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError as error:
            cancellation = cancellation or error
    try:
        result = task.result()
    except BaseException:
        if cancellation is not None:
            raise cancellation from None
        raise
    if cancellation is not None:
        raise cancellation from None
    return result


def _closing_on_error(function, using: str):
    try:
        return function()
    except DatabaseError:
        connection = connections[using]
        if not connection.in_atomic_block:
            connection.close()
        raise


# One SyncToAsync for every call: building one per call costs about as much as the hop.
_run_sync = sync_to_async(_closing_on_error, thread_sensitive=True)
