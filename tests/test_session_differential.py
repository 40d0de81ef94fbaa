"""DjangoSession against the SDK's own AdvancedSQLiteSession, scenario by scenario.

Each scenario is one async function that drives sessions opened by a factory
and records, through a Probe, what every call returns or raises. It runs once
against AdvancedSQLiteSession (a SQLite file, so several objects can share a
conversation) and once against DjangoSession; the two records must be equal.

Left out on purpose, because DjangoSession differs from the SDK by design (see
test_session_differences.py for those): an empty branch made from turn 1 before
it holds an item, switching to 'main' before it holds an item, and the order
of list_branches (the SDK ties at one-second resolution).
"""

import pytest

from tests.conftest import run_async
from tests.differential import Opener, Probe, Scenario, record_with_django, record_with_sdk
from tests.session_samples import (
    THREE_TURNS,
    assistant,
    function_call,
    mcp_call,
    run_result,
    tool_search_call,
    tool_search_output,
    user,
    web_search_call,
)

# --- scenarios -----------------------------------------------------------------


async def plain_turns(open_session: Opener, probe: Probe) -> None:
    session = open_session()
    await probe.everything("empty", session)
    await session.add_items([user("Hello"), assistant("Hi!")])
    await session.add_items([user("How are you? " + "Tell me everything. " * 10)])
    await session.add_items([assistant("Fine, thanks.")])
    await probe.everything("two turns", session)
    await probe.everything("a new object", open_session())


async def items_before_the_first_user_message_are_turn_zero(open_session, probe) -> None:
    session = open_session()
    await session.add_items([assistant("Welcome!"), {"type": "reasoning", "summary": []}])
    await session.store_run_usage(run_result(1, 10, 5))
    await probe.everything("turn zero", session)
    await session.add_items([user("Hi"), assistant("Hello")])
    await probe.everything("after a user turn", session)
    await probe.call("turn 0 usage", session.get_turn_usage(0))


async def several_user_messages_in_one_call(open_session, probe) -> None:
    session = open_session()
    await session.add_items([user("one"), user("two"), assistant("reply"), user("three")])
    await probe.everything("batch", session)


async def tool_calls_of_every_kind(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.add_items(
        [
            user("Search the web and the docs"),
            web_search_call("weather Paris"),
            mcp_call("docs", "lookup"),
            mcp_call("docs", "lookup"),
            {"type": "mcp_call", "id": "mcp_2", "server_label": "files", "arguments": "{}"},
            tool_search_call(),
            tool_search_output(),
            {**function_call("find", "call_9"), "namespace": "crm"},
            {**function_call("same", "call_10"), "namespace": "same"},
            {"type": "computer_call", "id": "cc_1", "action": {"type": "click"}},
            {"type": "file_search_call", "id": "fs_1", "queries": ["a"]},
            {"type": "code_interpreter_call", "id": "ci_1", "code": "1+1"},
            {"type": "custom_tool_call", "name": "grep", "call_id": "c1", "input": "x"},
            {"type": "mcp_approval_request", "server_label": "docs", "name": "write"},
            {"type": "shell_call", "call_id": "sh_1", "action": {"commands": ["ls"]}},
            {"type": "apply_patch_call", "call_id": "ap_1", "operation": {}},
            {"type": "mcp_call", "id": "mcp_3", "name": "unlabelled", "arguments": "{}"},
            {"type": "function_call", "name": None, "call_id": "call_11", "arguments": "{}"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"role": "system", "content": "a system note"},
            {"content": "neither role nor type"},
            assistant("Done."),
        ]
    )
    # A tool search output with no matching call in its turn counts as a call.
    await session.add_items([user("Search once more"), tool_search_output()])
    await probe.everything("tools", session)


async def branching_from_turns_one_two_and_three(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.store_run_usage(run_result(2, 300, 40))
    for turn in (1, 2, 3):
        await session.switch_to_branch("main")
        name = await probe.call(
            f"branch from {turn}", session.create_branch_from_turn(turn, f"from_{turn}")
        )
        await session.add_items([user(f"Instead of turn {turn}"), assistant("Alright.")])
        await session.store_run_usage(run_result(1, 10 * turn, 5))
        await probe.everything(f"on {name}", session)
    await session.switch_to_branch("main")
    await probe.everything("back on main", session)
    for branch in ("main", "from_1", "from_2", "from_3"):
        await probe.call(f"items of {branch}", session.get_items(branch_id=branch))
        await probe.call(f"turns of {branch}", session.get_conversation_turns(branch))
        await probe.call(f"by turns of {branch}", session.get_conversation_by_turns(branch))
        await probe.call(f"tools of {branch}", session.get_tool_usage(branch))
        await probe.call(f"usage of {branch}", session.get_session_usage(branch))
        await probe.call(f"turn usage of {branch}", session.get_turn_usage(branch_id=branch))


async def a_branch_of_a_branch(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(3, "alt")
    await session.add_items([user("Alternative third"), assistant("ok")])
    await session.add_items([user("Fourth on alt"), assistant("ok")])
    await probe.call("branch of alt", session.create_branch_from_turn(4, "alt_of_alt"))
    await probe.everything("alt of alt", session)


async def generated_branch_names(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    first = await probe.call("first", session.create_branch_from_turn(2))
    await session.switch_to_branch("main")
    await probe.call("second", session.create_branch_from_turn(2))
    await probe.call("third", session.create_branch_from_turn(3))
    await probe.call("switch back", session.switch_to_branch(first))
    await probe.everything("generated", session)


async def switching_branches(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b's second turn")])
    await probe.call("switch to main", session.switch_to_branch("main"))
    await probe.call("main items", session.get_items())
    await probe.call("switch to b", session.switch_to_branch("b"))
    await probe.call("b items", session.get_items())
    await probe.call("switch to unknown", session.switch_to_branch("nope"))
    await probe.call("still on b", session.get_items())
    other = open_session()
    await probe.call("a new object is on main", other.get_items(limit=2))


async def deleting_branches(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b turn"), assistant("b answer")])
    await session.store_run_usage(run_result(1, 7, 3))
    await session.switch_to_branch("main")
    await session.create_branch_from_turn(3, "c")
    await session.add_items([user("c turn")])
    await probe.call("delete main", session.delete_branch("main"))
    await probe.call("delete blank", session.delete_branch("  "))
    await probe.call("delete unknown", session.delete_branch("nope"))
    await probe.call("delete current", session.delete_branch("c"))
    await probe.call("delete other", session.delete_branch("b"))
    await probe.call("delete again", session.delete_branch("b"))
    await probe.everything("after deleting b", session)
    await probe.call("force delete current", session.delete_branch("c", force=True))
    await probe.everything("after deleting c", session)
    await probe.call("reuse deleted name", session.create_branch_from_turn(2, "b"))
    await probe.call("switch to deleted", session.switch_to_branch("c"))
    await probe.call("all usage", session.get_session_usage())


async def force_deleting_an_unknown_current_branch_keeps_the_branch(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b turn")])
    other = open_session()
    await other.delete_branch("b")
    await probe.call("force delete of a gone branch", session.delete_branch("b", force=True))
    await probe.everything("after", session)


async def popping_across_a_turn_boundary(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS[:2])
    await session.store_run_usage(run_result(1, 11, 4))
    await session.add_items(THREE_TURNS[2:6])
    await session.store_run_usage(run_result(2, 22, 8))
    await probe.everything("before popping", session)
    for number in range(1, 6):
        await probe.call(f"pop {number}", session.pop_item())
        await probe.call(f"turn usage after pop {number}", session.get_turn_usage())
        await probe.call(f"session usage after pop {number}", session.get_session_usage())
    await probe.everything("after popping into turn 1", session)
    await session.add_items([user("A new turn two")])
    await probe.everything("turn two again", session)
    for number in range(3):
        await probe.call(f"pop to empty {number}", session.pop_item())
    await probe.everything("empty", session)


async def popping_on_a_branch_keeps_the_shared_message(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS[:6])
    await session.create_branch_from_turn(2, "b")
    # Only one pop: a branch popped empty stays listed here, unlike in the SDK.
    await probe.call("pop on b", session.pop_item())
    await probe.everything("b", session)
    await probe.call("main untouched", session.get_items(branch_id="main"))


async def clearing(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.store_run_usage(run_result(1, 5, 5))
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b turn")])
    await probe.call("clear", session.clear_session())
    await probe.everything("after clear", session)
    await probe.call("branch name stays reserved", session.create_branch_from_turn(1, "b"))
    await probe.call("pop on empty", session.pop_item())
    await session.add_items([user("Fresh start"), assistant("Hello again")])
    await probe.everything("after clear and add", session)
    await probe.call("reserved after clear", session.create_branch_from_turn(1, "b"))
    await probe.call("clear twice", session.clear_session())
    await probe.call("clear twice again", session.clear_session())
    await probe.everything("cleared twice", session)


async def another_object_falls_back_to_main_after_a_clear(open_session, probe) -> None:
    on_branch = open_session()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    await on_branch.add_items([user("b turn")])
    await open_session().clear_session()
    await probe.everything("the object that sat on b", on_branch)
    await on_branch.add_items([user("after the clear")])
    await probe.everything("written to main", on_branch)
    await probe.call("main", open_session().get_items())


async def a_stale_object_pops_from_main_after_a_clear(open_session, probe) -> None:
    on_branch = open_session()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    await on_branch.add_items([user("b turn")])
    writer = open_session()
    await writer.clear_session()
    await writer.add_items([user("new main"), assistant("ok")])
    await probe.call("pop", on_branch.pop_item())
    await probe.everything("stale object", on_branch)


async def a_stale_object_stores_no_usage_after_a_clear(open_session, probe) -> None:
    on_branch = open_session()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    await on_branch.add_items([user("b turn")])
    writer = open_session()
    await writer.clear_session()
    await writer.add_items([user("new main")])
    await on_branch.store_run_usage(run_result(1, 9, 9))
    await probe.everything("stale object", on_branch)


async def a_stale_object_on_main_stores_usage_once_it_noticed_the_clear(open_session, probe):
    stale = open_session()
    await stale.add_items(THREE_TURNS)
    writer = open_session()
    await writer.clear_session()
    await writer.add_items([user("new main"), assistant("ok")])
    await stale.store_run_usage(run_result(1, 9, 9))
    await probe.call("the first store is dropped", stale.get_session_usage())
    await stale.store_run_usage(run_result(2, 8, 8))
    await probe.call("the second is stored", stale.get_session_usage())
    await probe.everything("stale object", stale)


async def a_stale_object_branches_from_main_after_a_clear(open_session, probe) -> None:
    on_branch = open_session()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    writer = open_session()
    await writer.clear_session()
    await writer.add_items([user("new one"), assistant("ok"), user("new two")])
    await probe.call("branch", on_branch.create_branch_from_turn(2, "x"))
    await probe.everything("on x", on_branch)


async def a_stale_object_keeps_writing_to_a_branch_another_object_deleted(open_session, probe):
    on_branch = open_session()
    await on_branch.add_items(THREE_TURNS)
    await on_branch.create_branch_from_turn(3, "b")
    await on_branch.add_items([user("on b")])
    await open_session().delete_branch("b")
    await on_branch.store_run_usage(run_result(1, 3, 3))
    await probe.everything("after the delete", on_branch)
    await on_branch.add_items([user("on b again"), assistant("ok")])
    await on_branch.store_run_usage(run_result(1, 4, 4))
    await probe.everything("written again", on_branch)
    await probe.call("switch away and back", on_branch.switch_to_branch("b"))


async def limits(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    for limit in (None, 0, -1, -5, 1, 3, 10, 100):
        await probe.call(f"limit {limit}", session.get_items(limit=limit))
    for limit in (0, 2, -1):
        limited = open_session(session_settings={"limit": limit})
        await probe.call(f"settings limit {limit}", limited.get_items())
        await probe.call(f"settings limit {limit}, explicit 4", limited.get_items(limit=4))
        await probe.call(f"settings limit {limit}, explicit None", limited.get_items(None))


async def searching(open_session, probe) -> None:
    session = open_session()
    await session.add_items(
        [
            user("Say HELLO to the world"),
            assistant("hello"),
            user('She said "quote" and left'),
            user("C:\\path\\to\\file"),
            user("100% sure_thing"),
            user("line one\nline two\ttab"),
            user("Ünïcode café ÉCOLE"),
            user([{"type": "input_text", "text": "Structured hello content"}]),
            user("1000 percent"),
            user("emoji 😀 and a NUL \u0000 inside"),
        ]
    )
    terms = [
        "hello",
        "HeLLo",
        "world",
        '"quote"',
        "quote",
        "\\path",
        "C:\\",
        "100%",
        "%",
        "_",
        "e_t",
        "sure_",
        "\n",
        "line two\t",
        "nline",
        "ttab",
        "café",
        "CAFÉ",
        "école",
        "ÉCOLE",
        "Structured",
        "input_text",
        "content",
        "type",
        "role",
        "\\",
        '"',
        "",
        "absent",
        "😀",
        "\u0000",
        "u0000",
        "ud83d",
    ]
    for term in terms:
        await probe.call(f"find {term!r}", session.find_turns_by_content(term))
    await probe.call("branch from content", session.create_branch_from_content("quote", "q"))
    await probe.everything("on q", session)
    await probe.call("branch from absent", session.create_branch_from_content("absent"))
    await session.switch_to_branch("main")
    await probe.call("generated from content", session.create_branch_from_content("%"))
    await probe.call("find on a branch", session.find_turns_by_content("hello", "main"))


async def usage(open_session, probe) -> None:
    session = open_session()
    await session.store_run_usage(run_result(1, 1, 1))
    await probe.call("no turn, no usage", session.get_session_usage())
    await session.add_items(THREE_TURNS[:2])
    await session.store_run_usage(run_result(1, 100, 20, cached=30, reasoning=5))
    await session.add_items(THREE_TURNS[2:6])
    await session.store_run_usage(run_result(2, 200, 40))
    await session.store_run_usage(run_result(3, 250, 45, cached=50))
    await probe.call("turn 2 replaced", session.get_turn_usage(2))
    await probe.call("turn 1", session.get_turn_usage(1))
    await probe.call("turn 9", session.get_turn_usage(9))
    await probe.call("all turns", session.get_turn_usage())
    await session.create_branch_from_turn(2, "b")
    await session.add_items([user("b"), assistant("b")])
    await session.store_run_usage(run_result(1, 7, 3))
    await probe.call("all branches", session.get_session_usage())
    await probe.call("main", session.get_session_usage("main"))
    await probe.call("b", session.get_session_usage("b"))
    await probe.call("unknown branch", session.get_session_usage("nope"))
    await probe.call("b turn 2", session.get_turn_usage(2, "b"))
    await probe.call("main turn 2", session.get_turn_usage(2, "main"))
    await probe.call("b all", session.get_turn_usage(branch_id="b"))


async def creating_branches_that_cannot_be_made(open_session, probe) -> None:
    session = open_session()
    await probe.call("turn 1 of nothing", session.create_branch_from_turn(1))
    await probe.call("delete in nothing", session.delete_branch("b"))
    await probe.call("force delete in nothing", session.delete_branch("b", force=True))
    await probe.call("switch in nothing", session.switch_to_branch("b"))
    await probe.call("pop from nothing", session.pop_item())
    await probe.call("clear nothing", session.clear_session())
    await session.add_items(THREE_TURNS)
    for turn in (0, -1, 4, 99):
        await probe.call(f"turn {turn}", session.create_branch_from_turn(turn, f"t{turn}"))
    await probe.call("blank name", session.create_branch_from_turn(2, " "))
    await probe.call("empty name", session.create_branch_from_turn(2, ""))
    await probe.call("main as a name", session.create_branch_from_turn(2, "main"))
    await session.create_branch_from_turn(2, "taken")
    await session.add_items([user("x")])
    await probe.call("name taken", session.create_branch_from_turn(2, "taken"))
    await probe.everything("unchanged", session)


async def calls_after_close(open_session, probe) -> None:
    session = open_session()
    await session.add_items(THREE_TURNS)
    await session.create_branch_from_turn(2, "retry")
    await session.switch_to_branch("main")
    session.close()
    session.close()
    calls = {
        "add nothing": lambda: session.add_items([]),
        "add": lambda: session.add_items([user("late")]),
        "pop": session.pop_item,
        "clear": session.clear_session,
        "store usage": lambda: session.store_run_usage(run_result(1, 7, 3)),
        "branch": lambda: session.create_branch_from_turn(1, "late"),
        "branch by content": lambda: session.create_branch_from_content("Rome", "late"),
        "switch": lambda: session.switch_to_branch("retry"),
        "delete": lambda: session.delete_branch("retry"),
        "delete main": lambda: session.delete_branch("main"),
        "items": session.get_items,
        "branches": session.list_branches,
        "turns": session.get_conversation_turns,
        "search": lambda: session.find_turns_by_content("Rome"),
        "by turns": session.get_conversation_by_turns,
        "tool usage": session.get_tool_usage,
        "session usage": session.get_session_usage,
        "turn usage": session.get_turn_usage,
    }
    for label, call in calls.items():
        await probe.call(f"closed: {label}", call())
    await probe.everything("a new object", open_session())


SCENARIOS: list[Scenario] = [
    plain_turns,
    items_before_the_first_user_message_are_turn_zero,
    several_user_messages_in_one_call,
    tool_calls_of_every_kind,
    branching_from_turns_one_two_and_three,
    a_branch_of_a_branch,
    generated_branch_names,
    switching_branches,
    deleting_branches,
    force_deleting_an_unknown_current_branch_keeps_the_branch,
    popping_across_a_turn_boundary,
    popping_on_a_branch_keeps_the_shared_message,
    clearing,
    another_object_falls_back_to_main_after_a_clear,
    a_stale_object_pops_from_main_after_a_clear,
    a_stale_object_stores_no_usage_after_a_clear,
    a_stale_object_on_main_stores_usage_once_it_noticed_the_clear,
    a_stale_object_branches_from_main_after_a_clear,
    a_stale_object_keeps_writing_to_a_branch_another_object_deleted,
    limits,
    searching,
    usage,
    creating_branches_that_cannot_be_made,
    calls_after_close,
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_django_session_gives_the_sdk_results_for(scenario: Scenario, tmp_path) -> None:
    expected = run_async(record_with_sdk(scenario, tmp_path / "sdk.sqlite3"))
    actual = run_async(record_with_django(scenario))
    assert expected, "the scenario recorded nothing"
    for want, got in zip(expected, actual, strict=True):
        assert got == want
