"""The migrations build the same database whenever they run, and unapply cleanly.

They hold their SQL frozen (see analytics/rollups.py): a fresh database gets the
triggers as each migration wrote them, and the last ones must equal what
analytics.rollups generates today.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from analytics import rollups
from analytics.models import ToolDay, UsageDay
from convstore import conversations, pricing
from convstore.models import ModelPrice
from tests import dashboard_data as data
from tests.test_dashboard_rollups import assert_rollups_match

ROLLUP_TABLES = {"analytics_usage_day", "analytics_tool_day"}


def rollup_objects() -> dict[str, tuple[str, str]]:
    """The rollups' triggers and functions: name -> (statement that drops it, definition).

    Definitions have their whitespace collapsed: line breaks in frozen SQL do
    not matter. analytics_message_words belongs to the search index, not the rollups.
    """
    if connection.vendor == "postgresql":
        query = """
            SELECT tgname, format('DROP TRIGGER %I ON %s', tgname, tgrelid::regclass),
                pg_get_triggerdef(oid)
            FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT oid::regprocedure::text, format('DROP FUNCTION %s', oid::regprocedure),
                pg_get_functiondef(oid)
            FROM pg_proc
            WHERE pronamespace = current_schema()::regnamespace
                AND proname <> 'analytics_message_words'
        """
    else:
        query = (
            "SELECT name, 'DROP TRIGGER ' || name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
    with connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    return {name: (drop, " ".join(definition.split())) for name, drop, definition in rows}


def execute(statements) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.mark.django_db
def test_a_migrated_database_has_the_triggers_that_rollups_generates_today():
    migrated = rollup_objects()  # the test database was migrated from zero
    execute([drop for drop, _ in migrated.values()])
    assert rollup_objects() == {}

    execute(rollups.trigger_statements(connection.vendor))

    assert rollup_objects() == migrated
    assert "analytics_usage_insert" in migrated


def write_conversations(tag: str) -> None:
    """Usage and tool calls through the write layer: new turns, a fork, a replaced usage row."""
    data.conversation(f"{tag}-a", turns=2)
    data.conversation(f"{tag}-b", turns=1, model=None)
    _, branch, _ = conversations.fork(session_id=f"{tag}-a", turn_number=2, branch_name="retry")
    data.add_turn(f"{tag}-a", "Again?", position=branch, tool="search_docs")
    conversations.record_usage(
        session_id=f"{tag}-b", usage=data.usage(input_tokens=5000), model_name="gpt-4o"
    )


def migrate(*args: str) -> None:
    call_command("migrate", *args, verbosity=0)


def seeded_prices() -> dict[str, tuple[Decimal, ...]]:
    return {
        price.model_name: (
            price.input_per_million,
            price.cached_input_per_million,
            price.output_per_million,
        )
        for price in ModelPrice.objects.filter(effective_from=pricing.DEFAULT_PRICES_FROM)
    }


@pytest.fixture
def migrated_at_the_end():
    """Whatever happens in the test, the database is fully migrated for the next one."""
    yield
    migrate()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_at_the_end")
def test_the_analytics_migrations_unapply_and_reapply_with_exact_rollups():
    write_conversations("first")

    # Each earlier set of triggers, as its reverse puts it back, keeps the rollups exact.
    for target in ("0007", "0005", "0004", "0001"):
        migrate("analytics", target)
        write_conversations(f"at-{target}")
        assert_rollups_match()

    migrate("analytics", "zero")
    assert not ROLLUP_TABLES & set(connection.introspection.table_names())
    assert rollup_objects() == {}

    migrate()
    assert_rollups_match()  # summed from the rows there by 0001
    assert UsageDay.objects.filter(session_id="first-a").exists()
    assert ToolDay.objects.filter(session_id="at-0001-a").exists()
    write_conversations("again")
    assert_rollups_match()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_at_the_end")
def test_convstore_migrates_to_zero_and_back_seeding_todays_default_prices():
    write_conversations("first")
    ModelPrice.objects.filter(model_name="gpt-4o").update(output_per_million="11.00")

    migrate("convstore", "0002")
    # The seeded rows go; the one edited since stays.
    assert list(ModelPrice.objects.values_list("model_name", "output_per_million")) == [
        ("gpt-4o", Decimal("11.00"))
    ]

    migrate("convstore", "zero")
    assert not {"agent_sessions", "convstore_model_price", *ROLLUP_TABLES} & set(
        connection.introspection.table_names()
    )

    migrate()
    assert seeded_prices() == {
        name: tuple(Decimal(amount) for amount in amounts)
        for name, amounts in pricing.DEFAULT_PRICES.items()
    }
    assert ModelPrice.objects.count() == len(pricing.DEFAULT_PRICES)
    write_conversations("fresh")
    assert_rollups_match()
    assert UsageDay.objects.filter(session_id="fresh-b").get().model_name == "gpt-4o"
