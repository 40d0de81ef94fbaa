"""Django's sync code (the ORM) run for async callers, on the thread sync_to_async picks.

    items = await sync_thread.call(read)
    await sync_thread.call(write, settle=True)

A settled call is awaited to its end even when the caller is cancelled
meanwhile, and the cancellation is raised once it has finished, as the Agents
SDK's sessions do for their writes: a cancelled await would drop a write still
queued for the thread, or leave a running one unobserved, so an agent run
cancelled while it saves its items (a timeout, a client gone) could lose them.

In plain asyncio code, sync_to_async(thread_sensitive=True) runs every call on
asgiref's one shared thread. There the call is handed to that thread directly,
with the caller's context, and its outcome comes back with one
call_soon_threadsafe. sync_to_async's wrapping (a shielded future, the context
copied back) and a future awaited with asyncio.wait took several more turns of
the event loop: 80-145 µs of an append's 550-660 (same-process A/B on the
bench's append workload).

Everywhere else it goes through sync_to_async: inside async_to_sync, where the
call joins the sync caller's thread and its transaction, and inside a
ThreadSensitiveContext, such as a Django ASGI request. tests/test_session_threads.py
checks the thread against asgiref's own choice in each case.
"""

import asyncio
import contextlib
import contextvars

from asgiref.sync import AsyncToSync, SyncToAsync, sync_to_async


def _call(function):
    return function()


# One SyncToAsync for every call: building one per call cost as much as the hop.
_run_sync = sync_to_async(_call, thread_sensitive=True)


async def call(function, *, settle: bool = False):
    """function()'s result, run in Django's thread for sync code."""
    loop = asyncio.get_running_loop()
    handoff = _Handoff(loop)
    if _on_asgiref_shared_thread(loop):
        SyncToAsync.single_thread_executor.submit(handoff.run, contextvars.copy_context(), function)
    else:
        handoff.task = asyncio.ensure_future(_run_sync(function))
        handoff.task.add_done_callback(handoff.take_task_outcome)
    return await handoff.outcome(settle=settle)


def _on_asgiref_shared_thread(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether sync_to_async(thread_sensitive=True) would run a call here on asgiref's
    shared thread: not inside async_to_sync, a ThreadSensitiveContext, or a loop
    async_to_sync started (asgiref's own tests, in its order)."""
    return not (
        getattr(AsyncToSync.executors, "current", None)
        or SyncToAsync.thread_sensitive_context.get(None)
        or loop in AsyncToSync.loop_thread_executors
        or SyncToAsync.deadlock_context.get(False)
    )


class _Handoff:
    """A call's outcome, handed to the event loop when it is known."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.waiter = loop.create_future()
        self.result = self.error = None
        self.done = False
        self.task: asyncio.Task | None = None  # the sync_to_async call, when it is one

    def run(self, context: contextvars.Context, function) -> None:
        """On the thread: run function in the caller's context, hand back what it gave."""
        try:
            result, error = context.run(function), None
        except BaseException as raised:
            result, error = None, raised
        # A closed loop refuses the call: no one is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._deliver, result, error)

    def take_task_outcome(self, task: asyncio.Task) -> None:
        if task.cancelled():
            self._deliver(None, asyncio.CancelledError())
        elif task.exception() is not None:
            self._deliver(None, task.exception())
        else:
            self._deliver(task.result(), None)

    def _deliver(self, result, error) -> None:
        self.result, self.error, self.done = result, error, True
        if not self.waiter.done():
            self.waiter.set_result(None)

    async def outcome(self, *, settle: bool):
        cancellation = None
        while not self.done:
            try:
                await self.waiter
            except asyncio.CancelledError as error:
                if not settle:
                    if self.task is not None:
                        self.task.cancel()  # as sync_to_async: a queued call is dropped
                    raise
                cancellation = cancellation or error
                self.waiter = self.loop.create_future()
        if cancellation is not None:
            raise cancellation
        if self.error is not None:
            raise self.error
        return self.result
