"""Running one scenario against AdvancedSQLiteSession and against DjangoSession.

A scenario drives sessions opened by a factory and records, through a Probe,
what every call returns or raises; test_session_differential compares records.
"""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession

from convstore.session import DjangoSession

SDK_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
GENERATED_BRANCH = re.compile(r"(branch_from_turn_\d+)_\d{10}")
CLASS_NAME = re.compile(r"^(SQLiteSession|DjangoSession)\b")

Opener = Callable[..., Any]
Scenario = Callable[[Opener, "Probe"], Awaitable[None]]


# --- recording ---------------------------------------------------------------


def normalise(value: Any) -> Any:
    """Make a result comparable: timestamps checked then masked, generated names masked."""
    if isinstance(value, dict):
        return {key: _normalise_field(key, inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(normalise(inner) for inner in value)
    if isinstance(value, str):
        return GENERATED_BRANCH.sub(r"\1_<time>", value)
    return value


def _normalise_field(key: Any, value: Any) -> Any:
    if key in ("created_at", "timestamp"):
        assert isinstance(value, str) and SDK_TIMESTAMP.match(value), value
        return "<timestamp>"
    return normalise(value)


class Probe:
    """Records what each call returns, or the ValueError or RuntimeError it raises, in order."""

    def __init__(self) -> None:
        self.record: list[tuple] = []

    async def call(self, label: str, awaitable: Awaitable) -> Any:
        try:
            result = await awaitable
        except ValueError as exc:
            self.record.append((label, "raises ValueError", normalise(str(exc))))
            return None
        except RuntimeError as exc:
            # A closed session names its own class.
            message = CLASS_NAME.sub("<session class>", str(exc))
            self.record.append((label, "raises RuntimeError", message))
            return None
        self.record.append((label, normalise(result)))
        return result

    async def branches(self, label: str, session) -> None:
        # The SDK orders branches created in the same second arbitrarily.
        listed = await session.list_branches()
        self.record.append((label, sorted(normalise(listed), key=lambda b: b["branch_id"])))

    async def everything(self, label: str, session) -> None:
        """Every read of the session's current branch."""
        await self.call(f"{label}: get_items", session.get_items())
        await self.call(f"{label}: get_items(limit=3)", session.get_items(limit=3))
        await self.branches(f"{label}: list_branches", session)
        await self.call(f"{label}: turns", session.get_conversation_turns())
        await self.call(f"{label}: by turns", session.get_conversation_by_turns())
        await self.call(f"{label}: tool usage", session.get_tool_usage())
        await self.call(f"{label}: session usage", session.get_session_usage())
        await self.call(f"{label}: turn usage", session.get_turn_usage())


# --- running a scenario on both ------------------------------------------------


async def record_with_sdk(scenario: Scenario, db_path) -> list[tuple]:
    opened: list[AdvancedSQLiteSession] = []

    def open_session(session_id: str = "conversation", **options):
        session = AdvancedSQLiteSession(
            session_id=session_id, db_path=db_path, create_tables=True, **options
        )
        opened.append(session)
        return session

    probe = Probe()
    try:
        await scenario(open_session, probe)
    finally:
        for session in opened:
            session.close()
    return probe.record


async def record_with_django(scenario: Scenario) -> list[tuple]:
    def open_session(session_id: str = "conversation", **options):
        return DjangoSession(session_id, **options)

    probe = Probe()
    await scenario(open_session, probe)
    return probe.record
