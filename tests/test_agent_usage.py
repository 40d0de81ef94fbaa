"""Usage as agent code reads it: get_usage_stats, the agents behind each turn, usage
recorded by run hooks, and streamed runs, with the real Runner and the scripted model."""

import re
from decimal import Decimal

import pytest
from agents import Agent, Runner

from convstore.models import TurnUsage
from convstore.scripted import ScriptedModel, Step
from convstore.session import DjangoSession
from tests.conftest import close_sync_thread_connections, run_async

pytestmark = pytest.mark.django_db(transaction=True)

# gpt-4.1-mini, per 1M tokens: $0.40 input, $0.10 cached input, $1.60 output.
MINI = (Decimal("0.40"), Decimal("0.10"), Decimal("1.60"))


def cost(input_tokens: int, cached: int, output_tokens: int) -> Decimal:
    uncached = input_tokens - cached
    return (uncached * MINI[0] + cached * MINI[1] + output_tokens * MINI[2]) / 1_000_000


def support_agents() -> Agent:
    """Triage (gpt-4.1-mini, priced) hands off to Billing (a model with no price)."""
    billing = Agent(
        name="Billing",
        model=ScriptedModel(
            [
                Step(text="Your refund is on its way.", input_tokens=300, output_tokens=40),
                Step(text="It was sent on Monday.", input_tokens=500, output_tokens=10),
            ],
            model="local-llm",
        ),
    )
    return Agent(
        name="Triage",
        model=ScriptedModel(
            [
                Step(tool_calls=[("transfer_to_billing", {})], input_tokens=200, cached_tokens=50),
                Step(tool_calls=[("transfer_to_billing", {})], input_tokens=250, output_tokens=5),
            ]
        ),
        handoffs=[billing],
    )


def triage_only() -> Agent:
    return Agent(
        name="Triage",
        model=ScriptedModel(
            [Step(text="Hello! How can I help?", input_tokens=80, output_tokens=12)]
        ),
    )


# --- drop-in attributes -----------------------------------------------------------


def test_the_sdk_attributes_read_as_on_advanced_sqlite_session() -> None:
    async def scenario():
        session = DjangoSession("attributes", session_settings={"limit": 3})
        before = session._current_branch_id
        await Runner.run(triage_only(), "Hi", session=session)
        after_run = session._current_branch_id
        await session.create_branch_from_turn(1, "retry")
        return session, before, after_run

    session, before, after_run = run_async(scenario())
    assert (before, after_run) == ("main", "main")
    assert session._current_branch_id == session.current_branch_id == "retry"
    assert session.session_id == "attributes"
    assert session.session_settings.limit == 3
    assert (session.sessions_table, session.messages_table) == ("agent_sessions", "agent_messages")


def test_current_branch_before_the_first_call_reads_no_database(
    django_assert_num_queries,
) -> None:
    session = DjangoSession("never-used")
    with django_assert_num_queries(0):
        assert session._current_branch_id == "main"
    assert session.current_branch_id is None


# --- get_usage_stats -------------------------------------------------------------------


def test_usage_stats_add_up_turns_models_and_agents_after_a_handoff() -> None:
    async def scenario():
        session = DjangoSession("stats")
        triage = support_agents()
        for text in ("Where is my refund?", "When was it sent?"):
            await session.store_run_usage(await Runner.run(triage, text, session=session))
        await session.store_run_usage(await Runner.run(triage_only(), "Thanks", session=session))
        return await session.get_usage_stats()

    stats = run_async(scenario())
    # Turn 1: Triage 200 in (50 cached) 20 out, Billing 300 in 40 out -> answered by Billing.
    # Turn 2: Triage 250 in 5 out, Billing 500 in 10 out -> answered by Billing.
    # Turn 3: Triage alone, 80 in 12 out.
    # Turns 1 and 2 carry Billing's model, which has no price; turn 3 is priced.
    assert stats["requests"] == 5
    assert stats["input_tokens"] == 200 + 300 + 250 + 500 + 80
    assert stats["cached_input_tokens"] == 50
    assert stats["output_tokens"] == 20 + 40 + 5 + 10 + 12
    assert stats["reasoning_tokens"] == 0
    assert stats["total_tokens"] == (220 + 340) + (255 + 510) + 92
    assert stats["total_turns"] == 3
    assert stats["total_cost"] == cost(80, 0, 12) == Decimal("0.0000512")
    assert isinstance(stats["total_cost"], Decimal)
    assert (stats["priced_turns"], stats["unpriced_turns"]) == (1, 2)
    assert stats["per_model"] == [
        {"name": "local-llm", "turns": 2, "total_tokens": 1325, "cost": Decimal(0)},
        {"name": "gpt-4.1-mini", "turns": 1, "total_tokens": 92, "cost": Decimal("0.0000512")},
    ]
    assert stats["per_agent"] == [
        {"name": "Billing", "turns": 2, "total_tokens": 1325, "cost": Decimal(0)},
        {"name": "Triage", "turns": 1, "total_tokens": 92, "cost": Decimal("0.0000512")},
    ]


def test_a_turn_records_its_answering_agent_and_every_agent_that_took_part() -> None:
    async def scenario():
        session = DjangoSession("agents")
        await session.store_run_usage(
            await Runner.run(support_agents(), "Refund?", session=session)
        )

    run_async(scenario())
    row = TurnUsage.objects.get(session_id="agents")
    assert (row.agent_name, row.agents) == ("Billing", ["Triage", "Billing"])


def test_usage_stats_of_one_branch_and_of_a_conversation_without_usage() -> None:
    async def scenario():
        session = DjangoSession("branch-stats")
        empty = await session.get_usage_stats()
        await session.store_run_usage(await Runner.run(triage_only(), "Hi", session=session))
        await session.create_branch_from_turn(1, "again")
        await session.store_run_usage(await Runner.run(triage_only(), "Hey", session=session))
        await session.store_run_usage(await Runner.run(triage_only(), "Yo", session=session))
        return empty, await session.get_usage_stats("main"), await session.get_usage_stats()

    empty, main, whole = run_async(scenario())
    assert empty == {
        "requests": 0,
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 0,
        "total_turns": 0,
        "total_cost": Decimal(0),
        "priced_turns": 0,
        "unpriced_turns": 0,
        "per_model": [],
        "per_agent": [],
    }
    assert (main["total_turns"], main["total_tokens"], main["total_cost"]) == (
        1,
        92,
        cost(80, 0, 12),
    )
    assert (whole["total_turns"], whole["total_cost"]) == (3, 3 * cost(80, 0, 12))


# --- usage recorded by the run hooks ----------------------------------------------------------


def usage_rows(session_id: str) -> list[dict]:
    """The usage rows but their identity and time."""
    return list(
        TurnUsage.objects.filter(session_id=session_id)
        .order_by("branch_id", "user_turn_number")
        .values(
            "branch_id",
            "user_turn_number",
            "requests",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "input_tokens_details",
            "output_tokens_details",
            "model_name",
            "cost",
            "agent_name",
            "agents",
        )
    )


async def two_turns_by_hand(session_id: str) -> None:
    session = DjangoSession(session_id)
    triage = support_agents()
    for text in ("Where is my refund?", "When was it sent?"):
        await session.store_run_usage(await Runner.run(triage, text, session=session))


def test_runner_run_with_the_usage_hooks_records_what_store_run_usage_records() -> None:
    async def scenario():
        await two_turns_by_hand("by-hand")
        session = DjangoSession("by-hooks")
        triage = support_agents()
        for text in ("Where is my refund?", "When was it sent?"):
            await Runner.run(triage, text, session=session, hooks=session.usage_hooks)

    run_async(scenario())
    assert len(usage_rows("by-hooks")) == 2
    assert usage_rows("by-hooks") == usage_rows("by-hand")


def test_run_sync_with_the_usage_hooks_records_what_store_run_usage_records() -> None:
    run_async(two_turns_by_hand("by-hand"))
    session = DjangoSession("by-hooks")
    triage = support_agents()
    try:
        for text in ("Where is my refund?", "When was it sent?"):
            Runner.run_sync(triage, text, session=session, hooks=session.usage_hooks)
    finally:
        close_sync_thread_connections()
    assert len(usage_rows("by-hooks")) == 2
    assert usage_rows("by-hooks") == usage_rows("by-hand")


async def streamed(agent: Agent, text: str, session: DjangoSession, **kwargs):
    result = Runner.run_streamed(agent, text, session=session, **kwargs)
    deltas = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
    ]
    return result, "".join(deltas)


def test_run_streamed_with_the_usage_hooks_records_what_store_run_usage_records() -> None:
    async def scenario():
        await two_turns_by_hand("by-hand")
        session = DjangoSession("by-hooks")
        triage = support_agents()
        for text in ("Where is my refund?", "When was it sent?"):
            await streamed(triage, text, session, hooks=session.usage_hooks)

    run_async(scenario())
    assert len(usage_rows("by-hooks")) == 2
    assert usage_rows("by-hooks") == usage_rows("by-hand")


# --- streaming ---------------------------------------------------------------


def without_ids(items: list[dict]) -> str:
    """The items with the scripted model's running ids taken out: they differ run to run."""
    return re.sub(r'"(id|call_id)": "[a-z]+_\d+"', r'"\1": "-"', repr(items).replace("'", '"'))


def test_a_streamed_run_saves_the_same_items_and_usage_as_runner_run() -> None:
    async def scenario():
        await two_turns_by_hand("run")
        session = DjangoSession("streamed")
        triage = support_agents()
        texts = []
        for text in ("Where is my refund?", "When was it sent?"):
            result, deltas = await streamed(triage, text, session)
            await session.store_run_usage(result)
            texts.append((deltas, result.final_output))
        return texts, await DjangoSession("run").get_items(), await session.get_items()

    texts, run_items, streamed_items = run_async(scenario())
    assert texts == [
        ("Your refund is on its way.", "Your refund is on its way."),
        ("It was sent on Monday.", "It was sent on Monday."),
    ]
    assert len(streamed_items) == len(run_items) == 8
    assert without_ids(streamed_items) == without_ids(run_items)
    assert usage_rows("streamed") == usage_rows("run")
