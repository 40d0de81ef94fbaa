"""Agent code's calls on a whole conversation: metadata, hard_delete and copy_to."""

import re

import pytest
from agents import Agent, Runner

from convstore import conversations
from convstore.models import AgentMessage, AgentSession, AuditEntry, MessageStructure, TurnUsage
from convstore.scripted import ScriptedModel, Step
from convstore.session import DjangoSession
from tests.conftest import database_snapshot, run_async

pytestmark = pytest.mark.django_db(transaction=True)


def agent(*answers: str) -> Agent:
    return Agent(name="Support", model=ScriptedModel([Step(text=answer) for answer in answers]))


async def three_turns(session_id: str) -> DjangoSession:
    session = DjangoSession(session_id)
    support = agent("One.", "Two.", "Three.")
    for text in ("first", "second", "third"):
        await session.store_run_usage(await Runner.run(support, text, session=session))
    return session


def stored_metadata(session_id: str):
    return AgentSession.objects.values_list("metadata", flat=True).get(pk=session_id)


# --- metadata ----------------------------------------------------------------


def test_metadata_given_to_the_constructor_is_stored_with_the_first_items() -> None:
    session = DjangoSession("labelled", metadata={"user_id": "u-42", "channel": "web"})
    assert not AgentSession.objects.filter(pk="labelled").exists()

    async def scenario():
        await Runner.run(agent("Hi."), "Hello", session=session)
        return await session.get_metadata()

    metadata = run_async(scenario())
    assert metadata == stored_metadata("labelled") == {"user_id": "u-42", "channel": "web"}


def test_set_metadata_wins_over_the_constructors_metadata_not_yet_written() -> None:
    async def scenario():
        session = DjangoSession("both", metadata={"user_id": "u-1", "plan": "free"})
        await session.set_metadata({"plan": "pro"})
        await Runner.run(agent("Hi."), "Hello", session=session)
        return await session.get_metadata()

    assert run_async(scenario()) == {"user_id": "u-1", "plan": "pro"}


def test_set_metadata_merges_key_by_key_and_none_removes_a_key() -> None:
    async def scenario():
        session = DjangoSession("merged")
        first = await session.set_metadata({"user_id": "u-1", "plan": "free", "tags": ["a"]})
        second = await session.set_metadata({"plan": "pro", "tags": None, "seats": 3})
        return first, second

    first, second = run_async(scenario())
    assert first == {"user_id": "u-1", "plan": "free", "tags": ["a"]}
    assert second == stored_metadata("merged") == {"user_id": "u-1", "plan": "pro", "seats": 3}


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (["user_id", "u-1"], "metadata must be a JSON object (a dict), not list"),
        ("user_id=u-1", "metadata must be a JSON object (a dict), not str"),
        ({1: "one"}, "metadata keys must be strings"),
        ({"when": object()}, "metadata must be JSON-serialisable"),
        ({"ratio": float("nan")}, "metadata must be JSON-serialisable"),
        ({"note": "a\x00b"}, "metadata contains a NUL character"),
        ({"blob": "x" * 16_400}, "metadata is 16,411 bytes as JSON; at most 16,384 are allowed"),
    ],
)
def test_bad_metadata_is_a_clear_error_that_changes_nothing(metadata, message) -> None:
    session = DjangoSession("kept")
    run_async(session.set_metadata({"user_id": "u-1"}))
    before = database_snapshot()
    with pytest.raises(ValueError, match=re.escape(message)):
        run_async(session.set_metadata(metadata))
    assert database_snapshot() == before
    assert stored_metadata("kept") == {"user_id": "u-1"}


def test_bad_metadata_in_the_constructor_fails_there() -> None:
    with pytest.raises(ValueError, match="metadata must be a JSON object"):
        DjangoSession("never", metadata=[1, 2])
    assert not AgentSession.objects.filter(pk="never").exists()


def test_metadata_that_would_grow_past_16_kb_once_merged_is_refused() -> None:
    async def scenario():
        session = DjangoSession("growing")
        await session.set_metadata({"a": "x" * 9000})
        with pytest.raises(ValueError, match="once merged"):
            await session.set_metadata({"b": "y" * 9000})

    run_async(scenario())
    assert list(stored_metadata("growing")) == ["a"]


# --- hard_delete ---------------------------------------------------------------


def test_hard_delete_removes_every_row_and_is_audited_as_trash_then_purge() -> None:
    async def scenario():
        session = await three_turns("doomed")
        await session.create_branch_from_turn(2, "other")
        await three_turns("kept")
        await session.hard_delete()
        return session

    session = run_async(scenario())
    for model in (AgentSession, AgentMessage, MessageStructure, TurnUsage):
        assert not model.objects.filter(
            **{"pk" if model is AgentSession else "session_id": "doomed"}
        ).exists()
    assert AgentMessage.objects.filter(session_id="kept").count() == 6
    actions = list(
        AuditEntry.objects.filter(session_id="doomed")
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert actions[-2:] == [("trash", "agent"), ("purge", "agent")]
    purge = AuditEntry.objects.get(session_id="doomed", action="purge")
    assert purge.detail["rows"]["agent_messages"] == 6
    assert session._current_branch_id == "main"


def test_hard_delete_of_a_conversation_in_the_trash_purges_it() -> None:
    async def scenario():
        session = await three_turns("trashed")
        await session.soft_delete()
        await session.hard_delete()

    run_async(scenario())
    assert not AgentSession.objects.filter(pk="trashed").exists()
    assert list(
        AuditEntry.objects.filter(session_id="trashed")
        .order_by("id")
        .values_list("action", flat=True)
    )[-2:] == ["trash", "purge"]


def test_hard_delete_of_an_unknown_conversation_is_a_clear_error() -> None:
    async def scenario():
        with pytest.raises(conversations.ConversationNotFound, match="'nobody' does not exist"):
            await DjangoSession("nobody").hard_delete()

    run_async(scenario())
    assert not AuditEntry.objects.exists()


def test_hard_delete_of_a_conversation_on_legal_hold_is_refused_and_changes_nothing() -> None:
    run_async(three_turns("held"))
    conversations.place_hold(session_id="held", reason="Litigation 2026-114")
    before = database_snapshot()
    with pytest.raises(conversations.ConversationHeld, match="'held' is on legal hold"):
        run_async(DjangoSession("held").hard_delete())
    assert database_snapshot() == before
    assert AgentSession.objects.get(pk="held").deleted_at is None


# --- copy_to ---------------------------------------------------------------------


def test_copy_to_copies_a_branch_up_to_a_turn_into_a_new_conversation() -> None:
    async def scenario():
        session = await three_turns("original")
        copy = await session.copy_to("replay", up_to_turn=2)
        await Runner.run(agent("Another two."), "second again", session=copy)
        return (
            await session.get_items(),
            await copy.get_items(),
            await copy.get_conversation_turns(),
        )

    original, copied, turns = run_async(scenario())
    assert len(original) == 6
    assert copied[:4] == original[:4]
    assert [item.get("content") for item in copied[4:5]] == ["second again"]
    assert [turn["turn"] for turn in turns] == [1, 2, 3]
    row = AgentSession.objects.get(pk="replay")
    assert (row.copied_from_session_id, row.copied_from_branch_id, row.copied_up_to_turn) == (
        "original",
        "main",
        2,
    )
    # The copy's turns ran once, in the original: no usage is copied.
    assert TurnUsage.objects.filter(session_id="replay").count() == 0
    assert MessageStructure.objects.filter(session_id="original").count() == 6
    entry = AuditEntry.objects.get(action="copy")
    assert (entry.session_id, entry.branch_id, entry.actor_label) == ("original", "main", "agent")
    assert entry.detail == {"copy": "replay", "up_to_turn": 2, "items": 4}


def test_copy_to_a_named_branch_copies_that_branch_whole() -> None:
    async def scenario():
        session = await three_turns("forked")
        await session.create_branch_from_turn(2, "retry")
        await Runner.run(agent("Retried."), "second, retried", session=session)
        await session.switch_to_branch("main")
        copy = await session.copy_to("from-retry", branch_id="retry")
        return await session.get_items(branch_id="retry"), await copy.get_items()

    retry, copied = run_async(scenario())
    assert copied == retry
    assert [item.get("content") for item in copied if item.get("role") == "user"] == [
        "first",
        "second, retried",
    ]


@pytest.mark.parametrize(
    ("new_id", "kwargs", "message"),
    [
        ("taken", {}, "Conversation id 'taken' is already in use; choose another"),
        ("", {}, "session_id must be a non-empty string"),
        ("fresh", {"branch_id": "nope"}, "Branch 'nope' does not exist"),
        ("fresh", {"up_to_turn": 4}, "Turn 4 does not exist in branch 'main'"),
        ("fresh", {"up_to_turn": 0}, "up_to_turn must be a positive turn number, not 0"),
    ],
)
def test_copy_to_refuses_with_a_clear_error_and_changes_nothing(new_id, kwargs, message) -> None:
    async def setup():
        await three_turns("taken")
        return await three_turns("source")

    session = run_async(setup())
    before = database_snapshot()
    with pytest.raises(ValueError, match=re.escape(message)):
        run_async(session.copy_to(new_id, **kwargs))
    assert database_snapshot() == before
