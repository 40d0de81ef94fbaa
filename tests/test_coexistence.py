"""The SDK's own SQLAlchemySession writing to our PostgreSQL tables, beside DjangoSession.

Agent code that keeps SQLAlchemySession (create_tables=False, our migrations
made the tables) shows up here as branch main with turns from its user
messages; switching it to DjangoSession continues the same conversation; and
the SDK's clear_session still removes everything, through the ON DELETE
CASCADE foreign keys of migration 0002.
"""

import pytest
from django.conf import settings
from django.db import connection
from sqlalchemy.ext.asyncio import create_async_engine

from convstore import queries
from convstore.models import AgentMessage, AgentSession, Branch, MessageStructure, TurnUsage
from convstore.session import DjangoSession
from tests.sdk_files import run, run_turn, text_turn, tool_turn

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="SQLAlchemySession beside our tables is the PostgreSQL setup "
        "(asyncpg); run with DATABASE_URL=postgres://...",
    ),
]

CONVERSATION = "written-by-sqlalchemy"


def sqlalchemy_url() -> str:
    """The test database, as SQLAlchemy's asyncpg driver names it."""
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    host = config.get("HOST") or "localhost"
    return f"postgresql+asyncpg://{config['USER']}{password}@{host}{port}/{config['NAME']}"


async def with_sqlalchemy_session(work):
    """Run work(session) with the SDK's SQLAlchemySession on our tables, as agent code would."""
    from agents.extensions.memory import SQLAlchemySession

    engine = create_async_engine(sqlalchemy_url())
    try:
        return await work(SQLAlchemySession(CONVERSATION, engine=engine, create_tables=False))
    finally:
        await engine.dispose()


async def two_sqlalchemy_turns(session) -> list:
    await run_turn(session, "Weather in Paris?", tool_turn("Paris"))
    await run_turn(session, "Thanks!", text_turn("You are welcome."))
    return await session.get_items()


def test_sqlalchemy_session_conversation_reads_as_main_with_turns_from_user_messages():
    written = run(with_sqlalchemy_session(two_sqlalchemy_turns))

    session = DjangoSession(CONVERSATION)
    assert run(session.get_items()) == written
    assert [branch["branch_id"] for branch in run(session.list_branches())] == ["main"]
    turns = run(session.get_conversation_turns())
    assert [(turn["turn"], turn["content"]) for turn in turns] == [
        (1, "Weather in Paris?"),
        (2, "Thanks!"),
    ]
    assert run(session.get_tool_usage()) == [("get_weather", 1, 1)]
    assert queries.branch_items(CONVERSATION, "main") == written


def test_switching_to_django_session_continues_the_same_conversation():
    written = run(with_sqlalchemy_session(two_sqlalchemy_turns))
    session = DjangoSession(CONVERSATION)

    result = run(run_turn(session, "And tomorrow?", text_turn("Sunny again.")))

    items = run(session.get_items())
    assert items[: len(written)] == written
    assert items[len(written) :] == [
        {"role": "user", "content": "And tomorrow?"},
        *[item.to_input_item() for item in result.new_items],
    ]
    assert [turn["turn"] for turn in run(session.get_conversation_turns())] == [1, 2, 3]
    assert run(session.get_turn_usage(3))["total_tokens"] == 95
    # The SDK's writer reads the conversation DjangoSession continued.
    assert run(with_sqlalchemy_session(lambda sdk: sdk.get_items())) == items


def test_sqlalchemy_session_appends_after_django_session_and_is_adopted_again():
    run(with_sqlalchemy_session(two_sqlalchemy_turns))
    run(run_turn(DjangoSession(CONVERSATION), "And tomorrow?", text_turn("Sunny again.")))

    async def third(session):
        await run_turn(session, "And in a week?", text_turn("Rain."))
        return await session.get_items()

    written = run(with_sqlalchemy_session(third))

    session = DjangoSession(CONVERSATION)
    assert run(session.get_items()) == written
    assert [turn["turn"] for turn in run(session.get_conversation_turns())] == [1, 2, 3, 4]


def test_sqlalchemy_clear_session_removes_every_row_through_the_cascade():
    run(with_sqlalchemy_session(two_sqlalchemy_turns))
    session = DjangoSession(CONVERSATION)
    run(run_turn(session, "And tomorrow?", text_turn("Sunny again.")))
    run(session.create_branch_from_turn(2, "retry"))
    run(run_turn(session, "Once more?", text_turn("Sure.")))
    assert Branch.objects.filter(session_id=CONVERSATION).exists()

    async def clear(sdk):
        await sdk.clear_session()
        return await sdk.get_items()

    assert run(with_sqlalchemy_session(clear)) == []

    for model in (AgentMessage, MessageStructure, TurnUsage, Branch):
        assert not model.objects.filter(session_id=CONVERSATION).exists(), model.__name__
    assert not AgentSession.objects.filter(pk=CONVERSATION).exists()
    assert run(DjangoSession(CONVERSATION).get_items()) == []


def test_sqlalchemy_pop_item_takes_the_structure_row_with_it():
    run(with_sqlalchemy_session(two_sqlalchemy_turns))
    session = DjangoSession(CONVERSATION)
    run(run_turn(session, "And tomorrow?", text_turn("Sunny again.")))

    async def pop(sdk):
        return await sdk.pop_item(), await sdk.get_items()

    popped, remaining = run(with_sqlalchemy_session(pop))

    assert popped["role"] == "assistant"
    assert run(DjangoSession(CONVERSATION).get_items()) == remaining
