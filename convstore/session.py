"""DjangoSession: the Agents SDK's AdvancedSQLiteSession, stored through the Django ORM.

    session = DjangoSession("user-123")
    result = await Runner.run(agent, "Hello", session=session)
    await session.store_run_usage(result)

Writes go through convstore.conversations and reads through convstore.queries;
this class only keeps the object's own position (its branch) and bridges async
callers to the ORM.
"""

import functools
import logging
from typing import Any

from agents import RunHooks
from agents.memory.session_settings import (
    SessionSettings,
    coerce_session_settings,
    resolve_session_limit,
)
from django.db import DEFAULT_DB_ALIAS

from . import conversations, queries, sync_thread
from .conversations import Position
from .models import MAIN_BRANCH

logger = logging.getLogger(__name__)


def _agent_name(agent: Any) -> str | None:
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else None


def answering_last(names: list[str], last: str | None) -> list[str]:
    """The names in the order they first ran, the answering agent moved to the end."""
    ordered = [name for name in dict.fromkeys(names) if name != last]
    return [*ordered, last] if last else ordered


def run_agent_names(result: Any) -> list[str]:
    """The agents that took part in a run, in the order they first ran, its last agent last.

    The agents of the run's items, and the targets of its handoffs.
    """
    names = []
    for item in getattr(result, "new_items", None) or []:
        for agent in (getattr(item, "agent", None), getattr(item, "target_agent", None)):
            name = _agent_name(agent)
            if name:
                names.append(name)
    try:
        last = _agent_name(result.last_agent)
    except Exception:
        last = None
    return answering_last(names, last)


def run_model_name(result: Any) -> str | None:
    """The model the run's last agent names, if it names one."""
    try:
        last_agent = result.last_agent
    except Exception:
        return None
    return agent_model_name(last_agent)


def agent_model_name(agent: Any) -> str | None:
    """The model an agent names, if it names one."""
    model = getattr(agent, "model", None)
    if isinstance(model, str):
        return model or None
    name = getattr(model, "model", None)
    return name if isinstance(name, str) and name else None


class DjangoSession:
    """An Agents SDK session with branching and usage analytics, stored in Django's database.

    It behaves like the SDK's AdvancedSQLiteSession (same methods, arguments,
    return values and errors). A new object starts on the conversation's
    active branch (main unless another branch was made active);
    switch_to_branch moves only this object.

    Args:
        session_id: The conversation's id.
        session_settings: Default settings, e.g. {"limit": 50} for get_items().
        using: The Django database alias (default: "default").
        ttl: With CONVSTORE_ENCRYPTION_KEYS set, get_items() leaves out items
            sealed more than ttl seconds ago, as the SDK's EncryptedSession(ttl=...)
            does; None (the default) returns them all. The conversation keeps
            the TTL from the object's first append on: the dashboard marks older
            items expired and apply_retention deletes them.
        max_messages: Max messages to keep: the branch this object writes keeps
            its newest max_messages items, and an append that goes past them
            deletes the older ones in its transaction. Usage rows stay and turn
            numbers do not change; a trimmed turn cannot be branched from.
            None (the default) keeps everything.
        metadata: A JSON object to label the conversation with (user id,
            customer, channel...), merged into its metadata with the first
            items added; see set_metadata.
    """

    # The SDK's table names, which these tables keep.
    sessions_table = "agent_sessions"
    messages_table = "agent_messages"

    def __init__(
        self,
        session_id: str,
        *,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        using: str | None = None,
        ttl: int | None = None,
        max_messages: int | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        conversations.check_session_id(session_id)
        conversations.check_max_messages(max_messages)
        self.max_messages = max_messages
        if metadata is not None:
            conversations.check_metadata(metadata)
        # Written with the first items added (a constructor never touches the database).
        self._pending_metadata = dict(metadata) if metadata else None
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise ValueError(f"ttl must be a positive number of seconds or None, not {ttl!r}")
        self.ttl = ttl
        self.session_id = session_id
        self.session_settings = (
            coerce_session_settings(session_settings)
            if session_settings is not None
            else SessionSettings()
        )
        self.using = using or DEFAULT_DB_ALIAS
        self._position: Position | None = None
        self._closed = False
        self._ttl_saved = ttl is None
        self.usage_hooks = RecordUsage(self)

    def __repr__(self) -> str:
        branch = self._position.branch_id if self._position else "(not loaded)"
        return f"<DjangoSession {self.session_id!r} on {branch!r}>"

    def close(self) -> None:
        """Refuse every later call on this object, as the SDK's close() does.

        Django's database connections stay open: Django opens and closes them.
        """
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("DjangoSession is closed")

    # --- position ------------------------------------------------------------

    def _start(self) -> Position:
        """The object's position; loaded from the conversation on first use."""
        if self._position is None:
            state = queries.session_state(self.session_id, using=self.using)
            if state["in_trash"]:
                raise conversations.ConversationInTrash(self.session_id)
            if state["needs_adoption"]:
                conversations.adopt_unstructured_messages(
                    session_id=self.session_id, using=self.using
                )
            self._position = Position(state["active_branch_id"], state["generation"])
        return self._position

    def _observe(self) -> int:
        """The conversation's clear generation; ConversationInTrash if it is in the trash."""
        if self._position is None:
            return self._start().generation
        generation, in_trash = queries.generation_and_trash(self.session_id, using=self.using)
        if in_trash:
            raise conversations.ConversationInTrash(self.session_id)
        return generation

    def _read_branch(self, branch_id: str | None) -> str:
        """The branch a read is about: the one asked for, else this object's own."""
        generation = self._observe()
        if branch_id is not None:
            return branch_id
        if generation != self._position.generation:
            # Another object cleared the conversation: back to main, as the SDK does.
            self._position = Position(MAIN_BRANCH, generation)
        return self._position.branch_id

    @property
    def current_branch_id(self) -> str | None:
        """The branch this object reads and writes (None until its first call)."""
        return self._position.branch_id if self._position else None

    @property
    def _current_branch_id(self) -> str:
        """The SDK's name for current_branch_id, read by code written for
        AdvancedSQLiteSession: main until the first call, as there; no database access."""
        return self._position.branch_id if self._position else MAIN_BRANCH

    # --- history -------------------------------------------------------------

    async def get_items(self, limit: int | None = None, branch_id: str | None = None) -> list:
        """Items of this object's branch (or branch_id), oldest first; the newest `limit`."""
        self._check_open()
        effective_limit = resolve_session_limit(limit, self.session_settings)

        def read():
            return queries.branch_items(
                self.session_id,
                self._read_branch(branch_id),
                effective_limit,
                ttl=self.ttl,
                using=self.using,
            )

        return await sync_thread.call(read, using=self.using)

    async def add_items(self, items: list) -> None:
        """Append items to this object's branch, in one transaction."""
        self._check_open()
        if not items:
            return

        def write():
            if self._pending_metadata is not None:
                conversations.set_metadata(
                    session_id=self.session_id, metadata=self._pending_metadata, using=self.using
                )
                self._pending_metadata = None
            self._position = conversations.append_items(
                session_id=self.session_id,
                items=items,
                position=self._start(),
                max_messages=self.max_messages,
                using=self.using,
            )
            if not self._ttl_saved:
                conversations.set_ttl(session_id=self.session_id, ttl=self.ttl, using=self.using)
                self._ttl_saved = True

        await sync_thread.call(write, using=self.using, settle=True)

    async def pop_item(self) -> dict | None:
        """Remove and return the newest item of this object's branch (None if empty)."""
        self._check_open()

        def write():
            item, self._position = conversations.pop_item(
                session_id=self.session_id, position=self._start(), using=self.using
            )
            return item

        return await sync_thread.call(write, using=self.using, settle=True)

    async def clear_session(self) -> None:
        """Delete every item, branch and usage row of the conversation."""
        self._check_open()

        def write():
            self._position = conversations.clear(session_id=self.session_id, using=self.using)

        await sync_thread.call(write, using=self.using, settle=True)

    # --- usage ---------------------------------------------------------------

    async def store_run_usage(self, result: Any) -> None:
        """Record a run's usage (and model) as the current turn's usage, replacing it.

        As in the SDK, a failure is logged, not raised.
        """
        usage = getattr(getattr(result, "context_wrapper", None), "usage", None)
        if usage is None:
            return
        await self._record_usage(usage, run_model_name(result), run_agent_names(result))

    async def _record_usage(self, usage: Any, model_name: str | None, agents: list[str]) -> None:
        def write():
            # The position the run wrote from, not refreshed first: when another
            # object cleared the conversation since, the usage belongs to history
            # that is gone and record_usage drops it, as the SDK does.
            _turn, self._position = conversations.record_usage(
                session_id=self.session_id,
                usage=usage,
                model_name=model_name,
                agents=agents,
                position=self._start(),
                using=self.using,
            )

        try:
            self._check_open()
            await sync_thread.call(write, using=self.using, settle=True)
        except Exception:
            logger.exception("Failed to store session usage for %s", self.session_id)

    async def get_usage_stats(self, branch_id: str | None = None) -> dict[str, Any]:
        """Usage and cost over the whole conversation, or over branch_id.

        Keys: requests, input_tokens, cached_input_tokens, output_tokens,
        reasoning_tokens, total_tokens, total_turns; total_cost (Decimal USD,
        the sum of the priced turns, 0 when none is), priced_turns,
        unpriced_turns; per_model and per_agent, lists of
        {name, turns, total_tokens, cost}. The same figures as the dashboard.
        """
        self._check_open()

        def read():
            self._observe()
            return queries.usage_stats(self.session_id, branch_id, using=self.using)

        return await sync_thread.call(read, using=self.using)

    async def get_session_usage(self, branch_id: str | None = None) -> dict[str, int] | None:
        """Usage summed over branch_id, or over every branch; None when none is recorded."""
        self._check_open()

        def read():
            self._observe()
            return queries.session_usage(self.session_id, branch_id, using=self.using)

        return await sync_thread.call(read, using=self.using)

    async def get_turn_usage(
        self, user_turn_number: int | None = None, branch_id: str | None = None
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """Usage of one turn (a dict, {} if none) or of every turn of the branch (a list)."""
        self._check_open()

        def read():
            return queries.turn_usage(
                self.session_id, self._read_branch(branch_id), user_turn_number, using=self.using
            )

        return await sync_thread.call(read, using=self.using)

    # --- structure -----------------------------------------------------------

    async def get_conversation_turns(self, branch_id: str | None = None) -> list[dict[str, Any]]:
        """The branch's user turns: turn, content (first 100 chars), full_content, timestamp."""
        self._check_open()

        def read():
            return queries.conversation_turns(
                self.session_id, self._read_branch(branch_id), using=self.using
            )

        return await sync_thread.call(read, using=self.using)

    async def find_turns_by_content(
        self, search_term: str, branch_id: str | None = None
    ) -> list[dict[str, Any]]:
        """User turns containing search_term (case-insensitive for ASCII letters)."""
        self._check_open()

        def read():
            return queries.find_turns(
                self.session_id, self._read_branch(branch_id), search_term, using=self.using
            )

        return await sync_thread.call(read, using=self.using)

    async def get_conversation_by_turns(
        self, branch_id: str | None = None
    ) -> dict[int, list[dict[str, str | None]]]:
        """{turn: [{"type": ..., "tool_name": ...}, ...]} for the branch."""
        self._check_open()

        def read():
            return queries.conversation_by_turns(
                self.session_id, self._read_branch(branch_id), using=self.using
            )

        return await sync_thread.call(read, using=self.using)

    async def get_tool_usage(self, branch_id: str | None = None) -> list[tuple[str, int, int]]:
        """[(tool_name, calls, turn), ...] for the branch."""
        self._check_open()

        def read():
            return queries.tool_usage(
                self.session_id, self._read_branch(branch_id), using=self.using
            )

        return await sync_thread.call(read, using=self.using)

    # --- branches ------------------------------------------------------------

    async def create_branch_from_turn(
        self, turn_number: int, branch_name: str | None = None
    ) -> str:
        """Branch from user turn N (a copy of the turns before it) and switch to it.

        Raises ValueError when the turn holds no user message or the name is
        blank or was used before in this conversation.
        """
        self._check_open()

        def write():
            self._read_branch(None)
            try:
                name, self._position, _content = conversations.fork(
                    session_id=self.session_id,
                    turn_number=turn_number,
                    branch_name=branch_name,
                    position=self._position,
                    using=self.using,
                )
            except conversations.ConversationNotFound:
                # To the SDK a conversation never written to is an empty one.
                raise conversations.ConversationError(
                    f"Turn {turn_number} does not contain a user message in branch '{MAIN_BRANCH}'"
                ) from None
            return name

        return await sync_thread.call(write, using=self.using, settle=True)

    async def create_branch_from_content(
        self, search_term: str, branch_name: str | None = None
    ) -> str:
        """Branch from the first user turn containing search_term."""
        matches = await self.find_turns_by_content(search_term)
        if not matches:
            raise ValueError(f"No user turns found containing '{search_term}'")
        return await self.create_branch_from_turn(matches[0]["turn"], branch_name)

    async def switch_to_branch(self, branch_id: str) -> None:
        """Move this object to another branch (ValueError if there is no such branch)."""
        self._check_open()

        def check():
            self._observe()
            self._position = conversations.check_branch(
                session_id=self.session_id, branch_id=branch_id, using=self.using
            )

        await sync_thread.call(check, using=self.using, settle=True)

    async def delete_branch(self, branch_id: str, force: bool = False) -> None:
        """Delete a branch; its name stays reserved. force allows this object's own branch."""
        protected = not branch_id or not branch_id.strip() or branch_id == MAIN_BRANCH
        if not protected:
            # After the check that refuses main or a blank name, as in the SDK.
            self._check_open()

        def write():
            current = self._read_branch(None)
            if not protected and branch_id == current:
                if not force:
                    raise ValueError(
                        f"Cannot delete current branch '{branch_id}'. "
                        "Use force=True or switch branches first"
                    )
                conversations.check_branch(
                    session_id=self.session_id, branch_id=branch_id, using=self.using
                )
                self._position = Position(MAIN_BRANCH, self._position.generation)
            try:
                conversations.delete_branch(
                    session_id=self.session_id, branch_id=branch_id, force=True, using=self.using
                )
            except conversations.ConversationNotFound:
                # To the SDK a conversation never written to is an empty one.
                raise conversations.ConversationError(
                    f"Branch '{branch_id}' does not exist"
                ) from None

        await sync_thread.call(write, using=self.using, settle=True)

    async def list_branches(self) -> list[dict[str, Any]]:
        """Every branch: branch_id, message_count, user_turns, is_current, created_at."""
        self._check_open()

        def read():
            return queries.branches(self.session_id, self._read_branch(None), using=self.using)

        return await sync_thread.call(read, using=self.using)

    # --- metadata and copies --------------------------------------------------

    async def set_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Merge a JSON object into the conversation's metadata, key by key (None removes
        a key), creating the conversation if it is new; returns the metadata now stored.

        ValueError, with nothing changed, for anything but a JSON object of at
        most 16 KB. Metadata is stored in plaintext even with encryption on, so
        that the dashboard can filter by it: labels and ids, not conversation text.
        """
        self._check_open()
        conversations.check_metadata(metadata)

        def write():
            # The constructor's metadata first, so that these values win over it.
            merged = {**(self._pending_metadata or {}), **metadata}
            stored = conversations.set_metadata(
                session_id=self.session_id, metadata=merged, using=self.using
            )
            self._pending_metadata = None
            return stored

        return await sync_thread.call(write, using=self.using, settle=True)

    async def get_metadata(self) -> dict[str, Any]:
        """The conversation's metadata ({} when it has none)."""
        self._check_open()

        def read():
            return queries.conversation_metadata(self.session_id, using=self.using)

        return await sync_thread.call(read, using=self.using)

    async def copy_to(
        self, new_session_id: str, *, branch_id: str | None = None, up_to_turn: int | None = None
    ) -> "DjangoSession":
        """Copy this object's branch (or branch_id), whole or up to user turn up_to_turn,
        into a new conversation, as its main branch; returns a session on the copy.

        The copy records where it came from; usage is not copied. ValueError,
        with nothing changed, when the id is in use or the branch or turn does
        not exist.
        """
        self._check_open()

        def write():
            conversations.copy_conversation(
                session_id=self.session_id,
                new_session_id=new_session_id,
                branch_id=self._read_branch(branch_id),
                up_to_turn=up_to_turn,
                using=self.using,
            )

        await sync_thread.call(write, using=self.using, settle=True)
        return DjangoSession(
            new_session_id, session_settings=self.session_settings, using=self.using, ttl=self.ttl
        )

    # --- trash ---------------------------------------------------------------

    async def soft_delete(self) -> None:
        """Move the conversation to the trash, keeping every row."""
        self._check_open()
        await sync_thread.call(
            functools.partial(conversations.trash, session_id=self.session_id, using=self.using),
            using=self.using,
            settle=True,
        )

    async def hard_delete(self) -> None:
        """Delete the conversation for good, every branch, item and usage row, as the
        dashboard's purge does; audited. Refused (nothing changed) where a purge is."""
        self._check_open()
        await sync_thread.call(
            functools.partial(
                conversations.hard_delete, session_id=self.session_id, using=self.using
            ),
            using=self.using,
            settle=True,
        )
        self._position = None

    async def restore(self) -> None:
        """Bring the conversation back from the trash exactly as it was."""
        self._check_open()
        await sync_thread.call(
            functools.partial(conversations.restore, session_id=self.session_id, using=self.using),
            using=self.using,
            settle=True,
        )


class RecordUsage(RunHooks):
    """Run hooks that record a run's usage on the session when its agent answers.

        await Runner.run(agent, "Hello", session=session, hooks=session.usage_hooks)

    The turn recorded is the one store_run_usage(result) records: the same
    tokens, model, cost and agents. Subclass it (calling super()) to add hooks
    of your own.
    """

    def __init__(self, session: DjangoSession):
        self.session = session
        # The agents each run has started, by the run's Usage object (one per run).
        self._started: dict[int, list[str]] = {}

    async def on_agent_start(self, context: Any, agent: Any) -> None:
        name = _agent_name(agent)
        if name:
            self._started.setdefault(id(context.usage), []).append(name)

    async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
        started = self._started.pop(id(context.usage), [])
        await self.session._record_usage(
            context.usage, agent_model_name(agent), answering_last(started, _agent_name(agent))
        )
