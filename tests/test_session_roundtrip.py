"""Items come back from DjangoSession exactly as they went in, on SQLite and PostgreSQL.

Run the file with DATABASE_URL set to a PostgreSQL URL for the PostgreSQL half.
"""

import json

import pytest
from asgiref.sync import sync_to_async

from convstore.models import AgentMessage
from convstore.session import DjangoSession
from tests.conftest import run_async
from tests.session_samples import assistant, user

pytestmark = pytest.mark.django_db(transaction=True)

MEGABYTE = 1_000_000


def nested(depth: int) -> dict:
    value: dict = {"leaf": ["a", 1, 2.5, None, True]}
    for level in range(depth):
        value = {f"level {level}": [value, {"sibling": level}]}
    return value


ITEMS = {
    "NUL characters": user("before\u0000after \x00\x00 end"),
    "a NUL in a key": {"type": "note", "k\u0000ey": "\u0000"},
    "emoji": user("Thanks! 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷"),
    "other non-BMP text": user("\U0001d518\U0001d52b\U0001d526 (Fraktur) 𠜎𠜱 𓀀 🀄 \U0010fffd"),
    "a surrogate pair written as text": user("\\ud83d\\ude00 is how JSON spells 😀"),
    "control and separator characters": user("tab\t cr\r lf\n bell\x07 \u2028 \u2029 \ufeff \x7f"),
    "right to left and combining": user("שלום مرحبا e\u0301 a\u0308"),
    "quotes and backslashes": user('"quoted" \\ back \\\\ slash \' single'),
    "numbers": {
        "type": "numbers",
        "int": 2**63,
        "negative": -(2**70),
        "float": 0.1,
        "big": 1e308,
        "tiny": 5e-324,
        "negative zero": -0.0,
        "exponent": 1.5e-10,
    },
    "booleans, null and empty containers": {
        "type": "empty",
        "true": True,
        "false": False,
        "null": None,
        "list": [],
        "dict": {},
        "string": "",
    },
    "nested structures": {"type": "tree", "tree": nested(40)},
    "an assistant message": assistant("Plain answer"),
    "a one megabyte item": user("x" * MEGABYTE),
    "a one megabyte item of non-BMP text": user("😀\U0001d518" * (MEGABYTE // 8)),
    "a one megabyte list of parts": user(
        [{"type": "input_text", "text": f"part {n} é 😀"} for n in range(40_000)]
    ),
}


async def write_and_read(items: list[dict]) -> tuple[list, list]:
    await DjangoSession("roundtrip").add_items(items)
    from_a_new_object = await DjangoSession("roundtrip").get_items()
    stored = await sync_to_async(stored_message_data)()
    return from_a_new_object, stored


def stored_message_data() -> list[str]:
    return list(
        AgentMessage.objects.filter(session_id="roundtrip")
        .order_by("id")
        .values_list("message_data", flat=True)
    )


@pytest.mark.parametrize("item", ITEMS.values(), ids=ITEMS.keys())
def test_an_item_comes_back_exactly(item) -> None:
    items, stored = run_async(write_and_read([item]))
    assert items == [item]
    # Equal dicts can still differ in type (1 and 1.0, -0.0 and 0.0): compare the JSON too.
    assert [json.dumps(got) for got in items] == [json.dumps(item)]
    assert stored == [json.dumps(item)]


def test_all_of_them_in_one_call_come_back_in_order() -> None:
    items, stored = run_async(write_and_read(list(ITEMS.values())))
    assert items == list(ITEMS.values())
    assert stored == [json.dumps(item) for item in ITEMS.values()]


def test_a_tuple_is_stored_as_json_stores_it_and_read_back_as_a_list() -> None:
    item = {"type": "function_call", "name": "plot", "arguments": ("x", (1, 2.5))}
    items, stored = run_async(write_and_read([item]))
    assert items == [{"type": "function_call", "name": "plot", "arguments": ["x", [1, 2.5]]}]
    assert stored == ['{"type": "function_call", "name": "plot", "arguments": ["x", [1, 2.5]]}']


def test_pop_item_gives_back_the_exact_item() -> None:
    item = ITEMS["NUL characters"]

    async def write_and_pop():
        session = DjangoSession("roundtrip")
        await session.add_items([user("first"), item])
        return await session.pop_item(), await session.get_items()

    popped, left = run_async(write_and_pop())
    assert json.dumps(popped) == json.dumps(item)
    assert left == [user("first")]


def test_get_items_with_a_limit_gives_the_exact_newest_items() -> None:
    big = ITEMS["a one megabyte item of non-BMP text"]

    async def write_and_read_newest():
        session = DjangoSession("roundtrip")
        await session.add_items([user("old"), ITEMS["emoji"], big])
        return await session.get_items(limit=2)

    assert run_async(write_and_read_newest()) == [ITEMS["emoji"], big]


def test_turns_and_search_give_back_non_bmp_and_nul_text() -> None:
    text = "find me 😀 \u0000 here"

    async def write_and_search():
        session = DjangoSession("roundtrip")
        await session.add_items([user(text)])
        return await session.find_turns_by_content(
            "😀 \u0000"
        ), await session.get_conversation_turns()

    found, turns = run_async(write_and_search())
    assert [turn["full_content"] for turn in found] == [text]
    assert [(turn["turn"], turn["content"]) for turn in turns] == [(1, text)]


def test_a_branch_copies_items_exactly() -> None:
    async def write_and_fork():
        session = DjangoSession("roundtrip")
        await session.add_items([ITEMS["NUL characters"], ITEMS["nested structures"]])
        await session.add_items([user("second turn")])
        await session.create_branch_from_turn(2, "copy")
        return await session.get_items()

    assert run_async(write_and_fork()) == [ITEMS["NUL characters"], ITEMS["nested structures"]]
