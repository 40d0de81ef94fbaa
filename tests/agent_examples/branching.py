"""The SDK's advanced AdvancedSQLiteSession example (examples/memory) in the form
openai-agents 0.24's API gives it: branches instead of the soft deletion of
earlier releases. As in basic_usage, only the session's constructor
(make_session) and the agent's model (scripted) differ from agent code."""

from agents import Agent, Runner, function_tool

from convstore.scripted import ScriptedModel, Step


@function_tool
async def get_weather(city: str) -> str:
    if city.strip().lower() == "new york":
        return f"The weather in {city} is cloudy."
    return f"The weather in {city} is sunny."


def scripted_model() -> ScriptedModel:
    return ScriptedModel(
        [
            Step(text="San Francisco.", input_tokens=60, output_tokens=4),
            Step(tool_calls=[("get_weather", {"city": "San Francisco"})], input_tokens=90),
            Step(text="Sunny.", input_tokens=120, output_tokens=3),
            Step(text="About 810,000.", input_tokens=150, output_tokens=6),
            Step(tool_calls=[("get_weather", {"city": "New York"})], input_tokens=95),
            Step(text="Cloudy in New York.", input_tokens=125, output_tokens=5),
            Step(text="The Statue of Liberty and Central Park.", input_tokens=160, output_tokens=9),
        ]
    )


def describe(item) -> str:
    role = str(item.get("role", item.get("type", "unknown")))
    if item.get("type") == "function_call":
        content = f"{item.get('name', 'unknown')}({item.get('arguments', '{}')})"
    elif item.get("type") == "function_call_output":
        content = str(item.get("output", ""))
    else:
        content = str(item.get("content", item.get("output", "")))
    return f"{role}: {content}"


async def main(make_session):
    agent = Agent(
        name="Assistant",
        instructions="Reply very concisely.",
        tools=[get_weather],
        model=scripted_model(),
    )
    session = make_session("conversation_advanced")

    print("=== Advanced Session: Conversation Branching ===")
    print(f"Current branch: {session._current_branch_id}")
    for number, question in enumerate(
        [
            "What city is the Golden Gate Bridge in?",
            "What's the weather in that city?",
            "What's the population of that city?",
        ],
        1,
    ):
        print(f"Turn {number}: {question}")
        result = await Runner.run(agent, question, session=session)
        print(f"Assistant: {result.final_output}")
        await session.store_run_usage(result)

    print("\n=== Original Conversation Complete ===")
    current_items = await session.get_items()
    for i, item in enumerate(current_items, 1):
        print(f"  {i}. {describe(item)}")
    print(f"\nTotal items: {len(current_items)}")

    print("\n=== Conversation Branching Demo ===")
    turns = await session.get_conversation_turns()
    for turn in turns:
        print(f"  Turn {turn['turn']}: {turn['content']}")
    branch = await session.create_branch_from_turn(2, "new_york")
    print(f"Created branch: {branch}; current branch: {session._current_branch_id}")
    print(f"Items on the new branch: {len(await session.get_items())}")

    for question in (
        "Actually, what's the weather in New York instead?",
        "What are some famous attractions in New York?",
    ):
        result = await Runner.run(agent, question, session=session)
        print(f"Assistant: {result.final_output}")
        await session.store_run_usage(result)

    print("\n=== New Conversation Branch ===")
    for i, item in enumerate(await session.get_items(), 1):
        print(f"  {i}. {describe(item)}")

    print("\n=== Branches ===")
    for listed in await session.list_branches():
        print(
            f"  {listed['branch_id']}: {listed['message_count']} items,"
            f" {listed['user_turns']} turns, current={listed['is_current']}"
        )
    matches = await session.find_turns_by_content("weather")
    print(f"Turns about weather: {[match['turn'] for match in matches]}")

    print("\n=== Conversation Structure Analysis ===")
    for turn_num, items in (await session.get_conversation_by_turns()).items():
        print(f"  Turn {turn_num}: {[(item['type'], item['tool_name']) for item in items]}")
    print(f"Tool usage: {await session.get_tool_usage()}")
    print(f"Usage on this branch: {await session.get_session_usage(branch_id='new_york')}")
    print(f"Usage on main: {await session.get_session_usage(branch_id='main')}")
    for turn in await session.get_turn_usage():
        print(f"  Turn {turn['user_turn_number']}: {turn['total_tokens']} tokens")

    await session.switch_to_branch("main")
    print(f"\nBack on {session._current_branch_id}: {len(await session.get_items())} items")
    await session.delete_branch("new_york")
    print(f"Branches left: {[b['branch_id'] for b in await session.list_branches()]}")
    print(f"Usage after deleting the branch: {await session.get_session_usage()}")
    print("\n=== Advanced Example Complete ===")
