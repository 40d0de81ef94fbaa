"""Bad input to DjangoSession: a clear exception, and not one row of the database changed."""

import json
import re
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from convstore.conversations import ConversationInTrash
from convstore.items import InvalidItem
from convstore.session import DjangoSession
from tests.conftest import database_snapshot, run_async
from tests.session_samples import THREE_TURNS, run_result, user

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "bad-input"


async def conversation_with_a_branch() -> DjangoSession:
    """Three turns on main with usage; the session object sits on branch 'b' from turn 2."""
    session = DjangoSession(CONVERSATION)
    await session.add_items(THREE_TURNS)
    await session.store_run_usage(run_result(1, 10, 5))
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b's turn 2")])
    return session


def assert_refused(call, exception: type[Exception], message: str) -> None:
    """call(session) raises exception matching message; the database is left as it was."""

    async def attempt():
        session = await conversation_with_a_branch()
        before = await snapshot()
        with pytest.raises(exception, match=message):
            await call(session)
        return before, await snapshot(), await session.get_items()

    before, after, items_after = run_async(attempt())
    assert after == before
    assert items_after[-1] == user("b's turn 2"), "the object moved off its branch"


async def snapshot() -> dict[str, list[dict]]:
    return await sync_to_async(database_snapshot)()


# --- items -----------------------------------------------------------------


class Unserialisable:
    pass


def circular() -> dict:
    item = {"role": "user", "content": "loop"}
    item["self"] = item
    return item


def deeply_nested(depth: int) -> dict:
    value: list = []
    for _ in range(depth):
        value = [value]
    return {"role": "user", "content": value}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        pytest.param(["hello"], "must be dicts, not str", id="a string"),
        pytest.param([None], "must be dicts, not NoneType", id="None"),
        pytest.param([["role", "user"]], "must be dicts, not list", id="a list"),
        pytest.param([user("fine"), 42], "must be dicts, not int", id="a valid item then an int"),
        pytest.param([{"content": Unserialisable()}], "Unserialisable", id="an object"),
        pytest.param([{"content": {1, 2}}], "set", id="a set"),
        pytest.param([{"content": b"bytes"}], "bytes", id="bytes"),
        pytest.param([{"price": Decimal("1.5")}], "Decimal", id="a Decimal"),
        pytest.param([{1: "int key"}], "key that is not a string", id="an int key"),
        pytest.param([{"a": {True: 1}}], "key that is not a string: True", id="a bool key"),
        pytest.param([{None: "x"}], "key that is not a string: None", id="a None key"),
        pytest.param([{"score": float("nan")}], "nan", id="NaN"),
        pytest.param([{"score": float("inf")}], "inf", id="infinity"),
        pytest.param([{"scores": [1.0, float("-inf")]}], "-inf", id="minus infinity in a list"),
        pytest.param([user("\ud800")], "lone surrogate", id="a lone surrogate"),
        pytest.param([user("ok \udfff ok")], "lone surrogate", id="a lone low surrogate"),
        pytest.param([{"\udc00": "x"}], "lone surrogate", id="a lone surrogate in a key"),
        pytest.param([{"a": [{"b": "\ud83d"}]}], "lone surrogate", id="half an emoji, nested"),
        pytest.param([circular()], "circular", id="a circular item"),
        pytest.param([deeply_nested(100_000)], "nested too deeply", id="nesting past the limit"),
        pytest.param([{"type": ["a"]}], '"type" must be a string, not list', id="a list as type"),
        pytest.param(
            [{"type": {"a": 1}}], '"type" must be a string, not dict', id="a dict as type"
        ),
        pytest.param([{"type": 7}], '"type" must be a string, not int', id="a number as type"),
    ],
)
def test_add_items_refuses_what_cannot_be_stored(items, message) -> None:
    assert_refused(lambda s: s.add_items(items), InvalidItem, message)


@pytest.mark.parametrize("session_id", ["", None, 42])
def test_a_session_needs_a_non_empty_string_id(session_id) -> None:
    with pytest.raises(ValueError, match="session_id must be a non-empty string"):
        DjangoSession(session_id)


def test_a_session_id_with_a_nul_character_is_refused() -> None:
    with pytest.raises(ValueError, match="session_id contains a NUL character"):
        DjangoSession("a\x00b")


def test_a_nul_in_a_tool_name_or_type_is_kept_in_the_item_and_replaced_in_the_structure():
    items = [
        user("find it"),
        {"type": "function_call", "name": "look\x00up", "call_id": "c1", "arguments": "{}"},
        {"type": "odd\x00kind", "note": "\x00"},
    ]

    async def store():
        session = DjangoSession("nul-names")
        await session.add_items(items)
        return await session.get_items(), await session.get_tool_usage()

    stored, tools = run_async(store())
    assert stored == items
    assert tools == [("look\ufffdup", 1, 1)]


def test_invalid_item_is_a_value_error() -> None:
    assert issubclass(InvalidItem, ValueError)


def test_add_items_refuses_a_string_instead_of_a_list() -> None:
    assert_refused(lambda s: s.add_items("hello"), InvalidItem, "must be a list, not str")


def test_a_refused_item_leaves_a_new_conversation_uncreated() -> None:
    async def attempt():
        with pytest.raises(InvalidItem):
            await DjangoSession("never-created").add_items([user("ok"), {"x": float("nan")}])
        return await snapshot()

    assert all(rows == [] for table, rows in run_async(attempt()).items() if "price" not in table)


# --- branches ----------------------------------------------------------------


def test_switching_to_an_unknown_branch_is_refused() -> None:
    assert_refused(lambda s: s.switch_to_branch("nope"), ValueError, "Branch 'nope' does not exist")


def test_deleting_an_unknown_branch_is_refused() -> None:
    assert_refused(lambda s: s.delete_branch("nope"), ValueError, "Branch 'nope' does not exist")


def test_force_deleting_an_unknown_branch_is_refused() -> None:
    assert_refused(
        lambda s: s.delete_branch("nope", force=True), ValueError, "Branch 'nope' does not exist"
    )


@pytest.mark.parametrize("turn", [0, -1, 3, 99])
def test_branching_from_a_turn_that_does_not_exist_is_refused(turn) -> None:
    # The object sits on 'b', which holds two user turns.
    message = f"Turn {turn} does not contain a user message in branch 'b'"
    assert_refused(lambda s: s.create_branch_from_turn(turn, "new"), ValueError, message)


def test_deleting_main_is_refused() -> None:
    assert_refused(lambda s: s.delete_branch("main"), ValueError, "Cannot delete the 'main' branch")


def test_force_deleting_main_is_refused() -> None:
    assert_refused(
        lambda s: s.delete_branch("main", force=True),
        ValueError,
        "Cannot delete the 'main' branch",
    )


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_deleting_a_blank_branch_name_is_refused(name) -> None:
    assert_refused(lambda s: s.delete_branch(name), ValueError, "Branch ID cannot be empty")


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_blank_branch_name_is_refused(name) -> None:
    assert_refused(
        lambda s: s.create_branch_from_turn(1, name), ValueError, "Branch name cannot be empty"
    )


def test_a_branch_name_over_the_limit_is_refused() -> None:
    message = "Branch name is 201 characters long; at most 200 are allowed"
    assert_refused(lambda s: s.create_branch_from_turn(1, "x" * 201), ValueError, message)


def test_a_branch_name_at_the_limit_is_accepted() -> None:
    async def fork():
        session = await conversation_with_a_branch()
        await session.create_branch_from_turn(1, "x" * 200)
        return session.current_branch_id

    assert run_async(fork()) == "x" * 200


def test_a_branch_name_with_a_nul_character_is_refused() -> None:
    message = "Branch name contains a NUL character"
    assert_refused(lambda s: s.create_branch_from_turn(1, "a\x00b"), ValueError, message)


@pytest.mark.parametrize("name", ["b", "main"])
def test_a_branch_name_already_used_is_refused(name) -> None:
    message = re.escape(f"Branch ID '{name}' has already been used. Choose a new branch ID.")
    assert_refused(lambda s: s.create_branch_from_turn(1, name), ValueError, message)


def test_deleting_the_current_branch_without_force_is_refused() -> None:
    message = re.escape("Cannot delete current branch 'b'. Use force=True or switch branches first")
    assert_refused(lambda s: s.delete_branch("b"), ValueError, message)


def test_branching_from_content_nobody_wrote_is_refused() -> None:
    message = "No user turns found containing 'absent'"
    assert_refused(lambda s: s.create_branch_from_content("absent", "x"), ValueError, message)


def refused_after(prepare, call, message: str) -> None:
    """After prepare(session), call(session) raises ValueError and changes nothing."""

    async def attempt():
        session = await conversation_with_a_branch()
        await prepare(session)
        before = await snapshot()
        with pytest.raises(ValueError, match=re.escape(message)):
            await call(session)
        return before, await snapshot()

    before, after = run_async(attempt())
    assert after == before


async def delete_b(session: DjangoSession) -> None:
    await session.switch_to_branch("main")
    await session.delete_branch("b")


def test_the_name_of_a_deleted_branch_stays_reserved() -> None:
    refused_after(
        delete_b,
        lambda s: s.create_branch_from_turn(1, "b"),
        "Branch ID 'b' has already been used. Choose a new branch ID.",
    )


def test_the_name_of_a_branch_stays_reserved_after_a_clear() -> None:
    async def clear_and_start_again(session):
        await session.clear_session()
        await session.add_items([user("again")])

    refused_after(
        clear_and_start_again,
        lambda s: s.create_branch_from_turn(1, "b"),
        "Branch ID 'b' has already been used. Choose a new branch ID.",
    )


def test_a_deleted_branch_cannot_be_switched_to() -> None:
    refused_after(delete_b, lambda s: s.switch_to_branch("b"), "Branch 'b' does not exist")


def test_a_deleted_branch_cannot_be_deleted_again() -> None:
    refused_after(delete_b, lambda s: s.delete_branch("b"), "Branch 'b' does not exist")


def test_a_cleared_branch_cannot_be_switched_to() -> None:
    refused_after(
        lambda s: s.clear_session(), lambda s: s.switch_to_branch("b"), "Branch 'b' does not exist"
    )


# --- the trash ---------------------------------------------------------------


def in_trash(call) -> tuple[dict, dict]:
    """Trash the conversation through another object, then call(loaded object)."""

    async def attempt():
        session = await conversation_with_a_branch()
        await DjangoSession(CONVERSATION).soft_delete()
        before = await snapshot()
        with pytest.raises(ConversationInTrash, match="is in the trash; restore it first"):
            await call(session)
        return before, await snapshot()

    return run_async(attempt())


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.add_items([user("more")]), id="add_items"),
        pytest.param(lambda s: s.pop_item(), id="pop_item"),
        pytest.param(lambda s: s.clear_session(), id="clear_session"),
        pytest.param(lambda s: s.create_branch_from_turn(1, "c"), id="create_branch_from_turn"),
        pytest.param(lambda s: s.delete_branch("b", force=True), id="delete_branch"),
        pytest.param(lambda s: s.switch_to_branch("main"), id="switch_to_branch"),
        pytest.param(lambda s: s.get_items(), id="get_items"),
        pytest.param(lambda s: s.list_branches(), id="list_branches"),
        pytest.param(lambda s: s.soft_delete(), id="soft_delete"),
    ],
)
def test_a_conversation_in_the_trash_refuses_a_loaded_object(call) -> None:
    before, after = in_trash(call)
    assert after == before


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.get_items(), id="get_items"),
        pytest.param(lambda s: s.add_items([user("more")]), id="add_items"),
        pytest.param(lambda s: s.pop_item(), id="pop_item"),
    ],
)
def test_a_conversation_in_the_trash_refuses_a_new_object(call) -> None:
    before, after = in_trash(lambda _loaded: call(DjangoSession(CONVERSATION)))
    assert after == before


def test_usage_of_a_conversation_in_the_trash_is_not_stored() -> None:
    async def attempt():
        session = await conversation_with_a_branch()
        await DjangoSession(CONVERSATION).soft_delete()
        before = await snapshot()
        # store_run_usage logs failures instead of raising, as the SDK does.
        await session.store_run_usage(run_result(5, 50, 50))
        return before, await snapshot()

    before, after = run_async(attempt())
    assert after == before


def test_restoring_a_conversation_not_in_the_trash_is_refused() -> None:
    assert_refused(lambda s: s.restore(), ValueError, "is not in the trash")


def test_restore_brings_the_conversation_back_exactly() -> None:
    async def trash_and_restore():
        session = await conversation_with_a_branch()
        before = await snapshot()
        await DjangoSession(CONVERSATION).soft_delete()
        await DjangoSession(CONVERSATION).restore()
        return before, await snapshot(), await session.get_items()

    before, after, items = run_async(trash_and_restore())
    rows = ("agent_messages", "message_structure", "turn_usage", "convstore_branch")
    assert {table: after[table] for table in rows} == {table: before[table] for table in rows}
    assert [json.dumps(item) for item in items][-1] == json.dumps(user("b's turn 2"))
