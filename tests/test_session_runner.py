"""The real Agents SDK Runner writing through DjangoSession, with an offline scripted model."""

import copy
from decimal import Decimal

import pytest
from agents import Agent, Runner, function_tool
from asgiref.sync import sync_to_async

from convstore import conversations
from convstore.models import AgentSession, ModelPrice, TurnUsage
from convstore.scripted import ScriptedModel, Step
from convstore.session import DjangoSession
from tests.conftest import run_async

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "runner-conversation"

# The first run: a tool call, then the answer. Two model calls, whose usage the
# Runner adds up: 300 input tokens (120 cached), 40 output tokens (5 reasoning).
TOOL_CALL = Step(
    tool_calls=[("get_weather", {"city": "Paris"})],
    input_tokens=120,
    cached_tokens=20,
    output_tokens=15,
)
ANSWER = Step(
    text="It is sunny in Paris.",
    input_tokens=180,
    cached_tokens=100,
    output_tokens=25,
    reasoning_tokens=5,
)
# gpt-4.1-mini, per 1M tokens: $0.40 input, $0.10 cached input, $1.60 output.
FIRST_RUN_COST = (
    (300 - 120) * Decimal("0.40") + 120 * Decimal("0.10") + 40 * Decimal("1.60")
) / 1_000_000


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny, 21C in {city}"


class RecordingModel(ScriptedModel):
    """The scripted model, also keeping the input of every call."""

    def __init__(self, steps, model: str = "gpt-4.1-mini"):
        super().__init__(steps, model)
        self.inputs: list[list[dict]] = []

    async def get_response(self, *args, **kwargs):
        self.inputs.append(copy.deepcopy(kwargs["input"]))
        return await super().get_response(*args, **kwargs)


async def make_active(branch_id: str) -> None:
    """What the dashboard does when staff pick the branch the agent continues on."""
    await sync_to_async(conversations.set_active_branch)(
        session_id=CONVERSATION, branch_id=branch_id
    )


def make_agent(model: ScriptedModel) -> Agent:
    return Agent(name="assistant", instructions="Be brief.", model=model, tools=[get_weather])


async def run_turn(session: DjangoSession, model: ScriptedModel, text: str):
    result = await Runner.run(make_agent(model), text, session=session)
    await session.store_run_usage(result)
    return result


async def first_run() -> tuple[DjangoSession, RecordingModel]:
    session = DjangoSession(CONVERSATION)
    model = RecordingModel([TOOL_CALL, ANSWER])
    await run_turn(session, model, "What is the weather in Paris?")
    return session, model


def shape(items: list[dict]) -> list[tuple]:
    """(role or type, text or tool) of each item: what a reader of the history sees."""
    return [_shape(item) for item in items]


def _shape(item: dict) -> tuple:
    if item.get("role") == "user":
        return ("user", item["content"])
    if item.get("type") == "function_call":
        return ("function_call", item["name"], item["arguments"])
    if item.get("type") == "function_call_output":
        return ("function_call_output", item["output"])
    if item.get("role") == "assistant":
        return ("assistant", item["content"][0]["text"])
    return (item.get("type"),)


FIRST_RUN_HISTORY = [
    ("user", "What is the weather in Paris?"),
    ("function_call", "get_weather", '{"city": "Paris"}'),
    ("function_call_output", "sunny, 21C in Paris"),
    ("assistant", "It is sunny in Paris."),
]


def test_a_run_with_a_tool_call_is_stored_item_by_item() -> None:
    async def scenario():
        session, _ = await first_run()
        return await session.get_items(), await session.get_tool_usage()

    items, tools = run_async(scenario())
    assert shape(items) == FIRST_RUN_HISTORY
    assert items[1]["call_id"] == items[2]["call_id"]
    assert tools == [("get_weather", 1, 1)]


def test_the_run_usage_is_stored_as_the_turn_usage() -> None:
    async def scenario():
        session, _ = await first_run()
        return await session.get_turn_usage(1), await session.get_turn_usage()

    one, every = run_async(scenario())
    assert one == {
        "requests": 2,
        "input_tokens": 300,
        "output_tokens": 40,
        "total_tokens": 340,
        "input_tokens_details": {
            "cached_tokens": 120,
            "cache_write_tokens": 0,
            "cache_write_tokens_details": None,
        },
        "output_tokens_details": {"reasoning_tokens": 5},
    }
    assert every == [{"user_turn_number": 1, **one}]


def test_the_session_usage_adds_up_the_turns() -> None:
    async def scenario():
        session, model = await first_run()
        model.add(Step(text="Cloudy in Rome.", input_tokens=400, output_tokens=30))
        await run_turn(session, model, "And in Rome?")
        return await session.get_session_usage(), await session.get_turn_usage(2)

    totals, second = run_async(scenario())
    assert totals == {
        "requests": 3,
        "input_tokens": 700,
        "output_tokens": 70,
        "total_tokens": 770,
        "total_turns": 2,
    }
    assert (second["requests"], second["input_tokens"], second["output_tokens"]) == (1, 400, 30)


def test_the_usage_row_names_the_model_and_fixes_the_cost_from_the_price_table() -> None:
    price = ModelPrice.objects.get(model_name="gpt-4.1-mini")
    assert (price.input_per_million, price.cached_input_per_million, price.output_per_million) == (
        Decimal("0.40"),
        Decimal("0.10"),
        Decimal("1.60"),
    )
    run_async(first_run())
    row = TurnUsage.objects.get(session_id=CONVERSATION, user_turn_number=1)
    assert row.model_name == "gpt-4.1-mini"
    assert row.cost == FIRST_RUN_COST == Decimal("0.000148")


def test_a_model_without_a_price_gets_no_cost() -> None:
    async def scenario():
        model = ScriptedModel([Step(text="Hi")], model="a-model-nobody-prices")
        await run_turn(DjangoSession(CONVERSATION), model, "Hello")

    run_async(scenario())
    row = TurnUsage.objects.get(session_id=CONVERSATION)
    assert (row.model_name, row.cost, row.input_tokens) == ("a-model-nobody-prices", None, 100)


def test_a_second_run_sees_the_history_of_the_first() -> None:
    async def scenario():
        session, model = await first_run()
        model.add(Step(text="Cloudy in Rome."))
        await run_turn(session, model, "And in Rome?")
        return model.inputs, await session.get_items()

    inputs, items = run_async(scenario())
    assert shape(inputs[2]) == [*FIRST_RUN_HISTORY, ("user", "And in Rome?")]
    assert shape(items) == [
        *FIRST_RUN_HISTORY,
        ("user", "And in Rome?"),
        ("assistant", "Cloudy in Rome."),
    ]


def test_a_run_on_a_branch_sees_only_the_turns_before_the_fork() -> None:
    async def scenario():
        session, model = await first_run()
        model.add(Step(text="Cloudy in Rome."), Step(text="Rainy in Oslo."))
        await run_turn(session, model, "And in Rome?")
        await session.create_branch_from_turn(2, "oslo")
        await run_turn(session, model, "And in Oslo?")
        return (
            model.inputs[-1],
            await session.get_turn_usage(),
            await session.get_items(branch_id="main"),
        )

    seen, usage_on_branch, main_items = run_async(scenario())
    assert shape(seen) == [*FIRST_RUN_HISTORY, ("user", "And in Oslo?")]
    assert [row["user_turn_number"] for row in usage_on_branch] == [2]
    assert shape(main_items)[-1] == ("assistant", "Cloudy in Rome.")


def test_a_new_session_object_starts_on_the_persisted_active_branch() -> None:
    async def scenario():
        session, model = await first_run()
        model.add(Step(text="Cloudy in Rome."))
        await session.create_branch_from_turn(1, "rome")
        await run_turn(session, model, "Weather in Rome?")
        await make_active("rome")
        newcomer = DjangoSession(CONVERSATION)
        return await newcomer.get_items(), newcomer.current_branch_id

    items, branch = run_async(scenario())
    assert branch == "rome"
    assert shape(items) == [("user", "Weather in Rome?"), ("assistant", "Cloudy in Rome.")]


def test_creating_and_switching_branches_does_not_move_a_new_object() -> None:
    async def scenario():
        session, _ = await first_run()
        await session.create_branch_from_turn(1, "elsewhere")
        newcomer = DjangoSession(CONVERSATION)
        return await newcomer.get_items(), newcomer.current_branch_id

    items, branch = run_async(scenario())
    assert branch == "main"
    assert shape(items) == FIRST_RUN_HISTORY


def test_switch_to_branch_moves_only_that_object() -> None:
    async def scenario():
        session, model = await first_run()
        model.add(Step(text="Cloudy in Rome."))
        await session.create_branch_from_turn(1, "rome")
        await run_turn(session, model, "Weather in Rome?")
        await make_active("rome")
        mover = DjangoSession(CONVERSATION)
        await mover.switch_to_branch("main")
        return mover.current_branch_id, await DjangoSession(CONVERSATION).list_branches()

    mover_branch, listed = run_async(scenario())
    assert mover_branch == "main"
    assert {b["branch_id"]: b["is_current"] for b in listed} == {"main": False, "rome": True}
    assert AgentSession.objects.get(pk=CONVERSATION).active_branch_id == "rome"
