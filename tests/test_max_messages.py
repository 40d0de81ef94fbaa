"""DjangoSession(max_messages=N): the branch it writes keeps its N newest items."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from convstore import conversations, queries
from convstore.conversations import Position
from convstore.models import AgentMessage, AgentSession, AuditEntry, MessageStructure, TurnUsage
from convstore.scripted import Step
from convstore.session import DjangoSession
from tests import dashboard_data as data
from tests.conftest import database_snapshot, run_async
from tests.test_dashboard_rollups import assert_rollups_match
from tests.test_session_runner import (
    ANSWER,
    FIRST_RUN_HISTORY,
    TOOL_CALL,
    RecordingModel,
    run_turn,
    shape,
)

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "trimmed"


async def three_turns(max_messages: int | None = 5) -> tuple[DjangoSession, RecordingModel]:
    """A tool-call turn (4 items), then two plain turns (2 items each), through the Runner."""
    session = DjangoSession(CONVERSATION, max_messages=max_messages)
    model = RecordingModel(
        [TOOL_CALL, ANSWER, Step(text="Cloudy in Rome."), Step(text="Rainy in Oslo.")]
    )
    await run_turn(session, model, "What is the weather in Paris?")
    await run_turn(session, model, "And in Rome?")
    await run_turn(session, model, "And in Oslo?")
    return session, model


def rows_of(branch_id: str = "main") -> list[tuple]:
    return list(
        MessageStructure.objects.filter(session_id=CONVERSATION, branch_id=branch_id)
        .order_by("sequence_number")
        .values_list("message_type", "user_turn_number", "branch_turn_number")
    )


def test_trimming_across_a_turn_boundary_keeps_the_newest_items_with_their_turn_numbers():
    async def scenario():
        session, _ = await three_turns()
        return await session.get_items()

    items = run_async(scenario())
    # Eight items written; the three oldest (turn 1's question and tool call) went.
    assert shape(items) == [
        ("assistant", "It is sunny in Paris."),
        ("user", "And in Rome?"),
        ("assistant", "Cloudy in Rome."),
        ("user", "And in Oslo?"),
        ("assistant", "Rainy in Oslo."),
    ]
    assert rows_of() == [
        ("assistant", 1, 1),
        ("user", 2, 2),
        ("assistant", 2, 2),
        ("user", 3, 3),
        ("assistant", 3, 3),
    ]
    assert AgentMessage.objects.filter(session_id=CONVERSATION).count() == 5
    session = AgentSession.objects.get(pk=CONVERSATION)
    assert (session.max_messages, session.trimmed_items) == (5, 3)


def test_usage_rows_stay_and_the_rollups_stay_exact():
    async def scenario():
        session, _ = await three_turns()
        return await session.get_turn_usage(), await session.get_session_usage()

    per_turn, totals = run_async(scenario())
    assert [turn["user_turn_number"] for turn in per_turn] == [1, 2, 3]
    assert per_turn[0]["input_tokens"] == 300  # turn 1's two model calls
    assert totals["total_turns"] == 3
    assert TurnUsage.objects.filter(session_id=CONVERSATION).count() == 3
    # The trimmed tool call is no longer counted; usage is.
    assert_rollups_match()


def test_the_next_run_sends_the_model_only_the_kept_items():
    async def scenario():
        session, model = await three_turns()
        model.add(Step(text="Windy in Bergen."))
        await run_turn(session, model, "And in Bergen?")
        return model.inputs[-1], await session.get_items()

    sent, items = run_async(scenario())
    assert shape(sent) == [
        ("assistant", "It is sunny in Paris."),
        ("user", "And in Rome?"),
        ("assistant", "Cloudy in Rome."),
        ("user", "And in Oslo?"),
        ("assistant", "Rainy in Oslo."),
        ("user", "And in Bergen?"),
    ]
    assert shape(items) == [*shape(sent)[2:], ("assistant", "Windy in Bergen.")]
    assert AgentSession.objects.get(pk=CONVERSATION).trimmed_items == 5


def test_branching_from_a_trimmed_turn_is_a_clear_error_and_changes_nothing():
    async def scenario():
        session, _ = await three_turns()
        before = await sync_to_async(database_snapshot)()
        with pytest.raises(conversations.TurnTrimmed) as error:
            await session.create_branch_from_turn(1, "too-early")
        return before, str(error.value)

    before, message = run_async(scenario())
    assert message == (
        "Turn 1 of branch 'main' was trimmed: the conversation keeps its newest 5 items"
        " (max_messages). Branch from a later turn"
    )
    assert database_snapshot() == before


def test_a_turn_that_never_was_keeps_the_usual_error():
    async def scenario():
        session, _ = await three_turns()
        with pytest.raises(ValueError, match="Turn 9 does not contain a user message"):
            await session.create_branch_from_turn(9)

    run_async(scenario())


def test_a_branch_from_a_kept_turn_copies_what_remains_and_is_trimmed_on_its_own():
    async def scenario():
        session, model = await three_turns()
        await session.create_branch_from_turn(3, "retry")
        model.add(Step(text="Snow in Oslo."), Step(text="Snow in Tromsø."))
        await run_turn(session, model, "Oslo again?")
        await run_turn(session, model, "And Tromsø?")
        return await session.get_items(), await session.get_items(branch_id="main")

    retry, main = run_async(scenario())
    # retry began with main's kept items before turn 3 (three of them), then
    # grew by four: its five newest stay.
    assert shape(retry) == [
        ("assistant", "Cloudy in Rome."),
        ("user", "Oslo again?"),
        ("assistant", "Snow in Oslo."),
        ("user", "And Tromsø?"),
        ("assistant", "Snow in Tromsø."),
    ]
    assert len(main) == 5 and shape(main)[-1] == ("assistant", "Rainy in Oslo.")
    # The messages trimmed from retry that main still holds stay.
    assert rows_of("retry")[0] == ("assistant", 2, 2)
    assert AgentMessage.objects.filter(session_id=CONVERSATION).count() == 5 + 4
    assert AgentSession.objects.get(pk=CONVERSATION).trimmed_items == 3 + 2
    assert_rollups_match()


def test_without_max_messages_nothing_is_trimmed_or_recorded():
    async def scenario():
        session, _ = await three_turns(max_messages=None)
        return await session.get_items()

    assert shape(run_async(scenario()))[:4] == FIRST_RUN_HISTORY
    session = AgentSession.objects.get(pk=CONVERSATION)
    assert (session.max_messages, session.trimmed_items) == (None, 0)


def test_a_turn_longer_than_the_limit_keeps_its_newest_items_and_its_usage():
    position = conversations.append_items(
        session_id=CONVERSATION, items=data.turn_items("long turn"), max_messages=2
    )
    assert position == Position("main", 0)
    conversations.record_usage(session_id=CONVERSATION, usage=data.usage(), model_name="gpt-4o")
    assert rows_of() == [("reasoning", 1, 1), ("assistant", 1, 1)]
    assert queries.turn_usage(CONVERSATION, "main", 1)["input_tokens"] == 1000
    assert not AuditEntry.objects.filter(session_id=CONVERSATION).exists()
    assert_rollups_match()


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_a_bad_max_messages_is_refused_before_anything_is_written(bad):
    with pytest.raises(ValueError, match="max_messages must be a positive whole number"):
        DjangoSession(CONVERSATION, max_messages=bad)
    with pytest.raises(ValueError, match="max_messages must be a positive whole number"):
        conversations.append_items(
            session_id=CONVERSATION, items=data.turn_items("x"), max_messages=bad
        )
    assert not AgentSession.objects.exists()


def test_the_conversation_page_says_what_was_trimmed(viewer):
    run_async(three_turns())
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/conversations/{CONVERSATION}/").content.decode()
    assert "Trimmed to 5 newest items: 3 removed." in page
    data.conversation("untrimmed", turns=1)
    assert 'data-testid="trimmed"' not in client.get("/conversations/untrimmed/").content.decode()


def test_a_conversation_on_legal_hold_is_not_trimmed():
    async def scenario():
        session = DjangoSession(CONVERSATION, max_messages=2)
        await session.add_items([{"role": "user", "content": "one"}])
        await sync_to_async(conversations.place_hold)(
            session_id=CONVERSATION, reason="Litigation 2026-114"
        )
        await session.add_items(
            [{"role": "user", "content": "two"}, {"role": "user", "content": "three"}]
        )
        return await session.get_items()

    items = run_async(scenario())
    assert [item["content"] for item in items] == ["one", "two", "three"]
    assert AgentSession.objects.get(pk=CONVERSATION).trimmed_items == 0
