"""Where DjangoSession differs from the SDK's AdvancedSQLiteSession on purpose.

Each test shows the SDK's behaviour next to ours, so a change in either shows up.
"""

import pytest
from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from asgiref.sync import sync_to_async

from convstore.models import AgentMessage, AgentSession, Branch, MessageStructure, TurnUsage
from convstore.session import DjangoSession
from tests.conftest import run_async
from tests.session_samples import THREE_TURNS, run_result, user

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "differences"


async def branch_from_turn_one(session) -> tuple[list, list]:
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(1, "fresh")
    listed = [branch["branch_id"] for branch in await session.list_branches()]
    await session.switch_to_branch("main")
    try:
        await session.switch_to_branch("fresh")
    except ValueError as exc:
        return listed, [str(exc)]
    return listed, await session.get_items()


def sdk_session(tmp_path) -> AdvancedSQLiteSession:
    return AdvancedSQLiteSession(
        session_id=CONVERSATION, db_path=tmp_path / "sdk.sqlite3", create_tables=True
    )


def test_a_branch_from_turn_one_is_listed_and_switchable_at_once(tmp_path) -> None:
    sdk = sdk_session(tmp_path)
    try:
        assert run_async(branch_from_turn_one(sdk)) == (
            ["main"],
            ["Branch 'fresh' does not exist"],
        )
    finally:
        sdk.close()
    assert run_async(branch_from_turn_one(DjangoSession(CONVERSATION))) == (
        ["main", "fresh"],
        [],
    )


def test_main_can_be_switched_to_before_it_holds_an_item(tmp_path) -> None:
    sdk = sdk_session(tmp_path)
    try:
        with pytest.raises(ValueError, match="Branch 'main' does not exist"):
            run_async(sdk.switch_to_branch("main"))
    finally:
        sdk.close()
    session = DjangoSession(CONVERSATION)
    run_async(session.switch_to_branch("main"))
    assert session.current_branch_id == "main"


def test_branches_made_in_the_same_second_are_listed_in_creation_order() -> None:
    async def make_branches():
        session = DjangoSession(CONVERSATION)
        await session.add_items(THREE_TURNS)
        for name in ("zeta", "alpha", "mu", "beta"):
            await session.switch_to_branch("main")
            await session.create_branch_from_turn(2, name)
        return [branch["branch_id"] for branch in await session.list_branches()]

    assert run_async(make_branches()) == ["main", "zeta", "alpha", "mu", "beta"]


def test_clear_session_keeps_the_conversation_row_and_bumps_its_generation() -> None:
    async def clear():
        session = DjangoSession(CONVERSATION)
        await session.add_items(THREE_TURNS)
        await session.store_run_usage(run_result(1, 10, 5))
        await session.create_branch_from_turn(2, "b")
        await sync_to_async(AgentSession.objects.filter(pk=CONVERSATION).update)(title="Kept")
        await session.clear_session()
        return await session.get_items(), await session.list_branches()

    items, branches = run_async(clear())
    conversation = AgentSession.objects.get(pk=CONVERSATION)
    assert (conversation.title, conversation.clear_generation) == ("Kept", 1)
    assert (items, branches) == ([], [])
    for model in (AgentMessage, MessageStructure, TurnUsage):
        assert not model.objects.filter(session_id=CONVERSATION).exists()
    # The name stays reserved: the row stays, marked deleted.
    assert Branch.objects.get(session_id=CONVERSATION, branch_id="b").deleted_at is not None


def test_a_branch_popped_empty_stays_listed_until_it_is_deleted() -> None:
    async def pop_to_empty():
        session = DjangoSession(CONVERSATION)
        await session.add_items([user("one"), user("two")])
        await session.create_branch_from_turn(2, "b")
        await session.pop_item()
        listed = [(b["branch_id"], b["message_count"]) for b in await session.list_branches()]
        await session.switch_to_branch("main")
        await session.switch_to_branch("b")
        return listed, session.current_branch_id

    assert run_async(pop_to_empty()) == ([("main", 2), ("b", 0)], "b")


async def delete_after_another_object_cleared(session_factory) -> str:
    on_branch = session_factory()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    await session_factory().clear_session()
    try:
        await on_branch.delete_branch("b")
    except ValueError as exc:
        return str(exc)
    return "deleted"


def test_deleting_a_branch_a_clear_removed_says_it_does_not_exist(tmp_path) -> None:
    # The SDK compares with the branch the object sat on before the clear.
    opened = []

    def sdk_factory():
        opened.append(sdk_session(tmp_path))
        return opened[-1]

    try:
        sdk_message = run_async(delete_after_another_object_cleared(sdk_factory))
    finally:
        for session in opened:
            session.close()
    assert sdk_message.startswith("Cannot delete current branch 'b'")
    ours = run_async(delete_after_another_object_cleared(lambda: DjangoSession(CONVERSATION)))
    assert ours == "Branch 'b' does not exist"
