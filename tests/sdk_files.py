"""Conversations written by the real Agents SDK (Runner, sessions, a scripted model).

Shared by the transfer, coexistence and admin tests: no fixture files, every
database is made here by the SDK itself.
"""

import asyncio
from pathlib import Path
from typing import Any

from agents import Agent, Runner, function_tool
from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from agents.memory import SQLiteSession
from asgiref.sync import sync_to_async
from django.db import connections

from convstore.scripted import ScriptedModel, Step
from convstore.session import DjangoSession


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def run(coroutine):
    """Run a coroutine from a sync test, closing the ORM connections it opened.

    DjangoSession works in asgiref's shared thread; an open connection there
    would keep PostgreSQL from dropping the test database.
    """

    async def main():
        try:
            return await coroutine
        finally:
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    return asyncio.run(main())


def tool_turn(city: str, tokens: int = 100) -> list[Step]:
    """A turn whose model calls a tool, then answers: two model calls."""
    return [
        Step(
            tool_calls=[("get_weather", {"city": city})],
            input_tokens=tokens,
            cached_tokens=tokens // 4,
            output_tokens=10,
        ),
        Step(
            text=f"It is sunny in {city}.",
            input_tokens=tokens + 50,
            output_tokens=20,
            reasoning_tokens=5,
        ),
    ]


def text_turn(text: str, tokens: int = 80) -> list[Step]:
    return [Step(text=text, input_tokens=tokens, output_tokens=15)]


async def run_turn(session: Any, question: str, steps: list[Step], *, usage: bool = True):
    """One user turn through the real Runner; the usage stored when the session keeps it."""
    agent = Agent(name="assistant", model=ScriptedModel(steps), tools=[get_weather])
    result = await Runner.run(agent, question, session=session)
    if usage and hasattr(session, "store_run_usage"):
        await session.store_run_usage(result)
    return result


async def branching_conversation(session: Any) -> None:
    """Three turns on main, a branch 'alt' from turn 2 with a turn of its own,
    and a branch 'gone' that is deleted (its name stays reserved)."""
    await run_turn(session, "Weather in Paris?", tool_turn("Paris"))
    await run_turn(session, "And in Rome?", tool_turn("Rome", 200))
    await run_turn(session, "Thanks!", text_turn("You are welcome."))
    await session.create_branch_from_turn(3, "gone")
    await run_turn(session, "Never mind", text_turn("Fine."))
    await session.switch_to_branch("main")
    await session.delete_branch("gone")
    await session.create_branch_from_turn(2, "alt")
    await run_turn(session, "What about Oslo?", tool_turn("Oslo", 300))
    await session.switch_to_branch("main")


def write_advanced_file(path: Path) -> list[str]:
    """An AdvancedSQLiteSession file with two conversations; returns their ids."""

    async def write():
        first = AdvancedSQLiteSession(session_id="sdk-branching", db_path=path, create_tables=True)
        second = AdvancedSQLiteSession(session_id="sdk-short", db_path=path, create_tables=True)
        try:
            await branching_conversation(first)
            await run_turn(second, "Hello?", text_turn("Hi there."))
        finally:
            first.close()
            second.close()

    asyncio.run(write())
    return ["sdk-branching", "sdk-short"]


def write_plain_file(path: Path) -> str:
    """A plain SQLiteSession file (no structure, no usage) with one conversation."""

    async def write():
        session = SQLiteSession("sdk-plain", path)
        try:
            await run_turn(session, "Weather in Paris?", tool_turn("Paris"))
            await run_turn(session, "Thanks!", text_turn("You are welcome."))
        finally:
            session.close()

    asyncio.run(write())
    return "sdk-plain"


async def sdk_reads(session: Any) -> dict:
    """Everything AdvancedSQLiteSession (or DjangoSession) reads back, branch by branch."""
    branches = sorted(await session.list_branches(), key=lambda branch: branch["branch_id"])
    reads: dict = {"branches": branches, "session_usage": await session.get_session_usage()}
    for branch in branches:
        name = branch["branch_id"]
        reads[name] = {
            "items": await session.get_items(branch_id=name),
            "last_two": await session.get_items(limit=2, branch_id=name),
            "turn_usage": await session.get_turn_usage(branch_id=name),
            "turns": await session.get_conversation_turns(branch_id=name),
            "by_turns": await session.get_conversation_by_turns(branch_id=name),
            "tools": await session.get_tool_usage(branch_id=name),
            "usage": await session.get_session_usage(branch_id=name),
        }
    return reads


def read_file(path: Path, session_id: str, *, create_tables: bool = False) -> dict:
    async def read():
        session = AdvancedSQLiteSession(
            session_id=session_id, db_path=path, create_tables=create_tables
        )
        try:
            return await sdk_reads(session)
        finally:
            session.close()

    return asyncio.run(read())


def read_ours(session_id: str) -> dict:
    return run(sdk_reads(DjangoSession(session_id)))
