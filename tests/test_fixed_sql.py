"""The fixed SQL statements and column lists against the tables they name.

The statements of appends and agent reads are written out (convstore.sql), so
a typo or a dropped column shows only when they run: here every one of them is
prepared (EXPLAIN, which parses and plans without running) on this run's
database, and the column lists are checked against the SDK's own schema.
"""

import asyncio
import contextlib
import importlib
import inspect
import pkgutil
import re
import sqlite3

import pytest
from agents.extensions.memory.advanced_sqlite_session import AdvancedSQLiteSession
from django.apps import apps
from django.db import connection
from django.db.models import NOT_PROVIDED

from convstore import conversations, queries, sql
from convstore.conversations import base, history
from convstore.models import SDK_COLUMNS
from convstore.queries.sessions import STATE_SQL, USAGE_FIELDS, StateRow, state_params

# --- the column lists --------------------------------------------------------------


def sdk_schema(path) -> dict[str, list[str]]:
    """The columns of the SDK's four tables, in order, in a file the SDK created."""
    session = AdvancedSQLiteSession(session_id="schema", db_path=path, create_tables=True)
    try:
        assert asyncio.run(session.get_items()) == []
    finally:
        session.close()
    with contextlib.closing(sqlite3.connect(path)) as file:
        return {
            table: [row[1] for row in file.execute(f"PRAGMA table_info({table})")]
            for table in SDK_COLUMNS
        }


def test_sdk_columns_are_the_columns_of_the_sdks_own_tables(tmp_path):
    assert sdk_schema(tmp_path / "sdk.sqlite3") == {
        table: list(columns) for table, columns in SDK_COLUMNS.items()
    }


def model_of(table: str):
    return next(
        model
        for model in apps.get_app_config("convstore").get_models()
        if model._meta.db_table == table
    )


@pytest.mark.parametrize("table", list(SDK_COLUMNS))
def test_each_mirrored_model_starts_with_the_sdk_columns_and_adds_only_optional_ones(table):
    fields = model_of(table)._meta.concrete_fields
    sdk_columns = SDK_COLUMNS[table]

    assert tuple(field.column for field in fields[: len(sdk_columns)]) == sdk_columns
    # The SDK's writers insert only its columns: ours must fill themselves in.
    ours = fields[len(sdk_columns) :]
    assert [f.column for f in ours if not f.null and f.db_default is NOT_PROVIDED] == []


def test_the_named_column_lists_are_sdk_columns_of_their_tables():
    structure, usage = SDK_COLUMNS["message_structure"], SDK_COLUMNS["turn_usage"]

    assert set(history.STRUCTURE_INSERT_COLUMNS) <= set(structure)
    assert set(history.MESSAGE_INSERT_COLUMNS) <= set(SDK_COLUMNS["agent_messages"])
    assert set(USAGE_FIELDS) <= set(usage)
    # In the SDK's order, so that a reader can hold one list against the other.
    assert [c for c in structure if c in history.STRUCTURE_INSERT_COLUMNS] == list(
        history.STRUCTURE_INSERT_COLUMNS
    )
    assert [c for c in usage if c in USAGE_FIELDS] == list(USAGE_FIELDS)


@pytest.mark.django_db
def test_the_state_statement_names_its_columns_as_the_state_row():
    with connection.cursor() as cursor:
        cursor.execute(STATE_SQL, state_params("nobody", "main"))
        names = [column[0] for column in cursor.description]

    assert names == list(StateRow._fields)


# --- every fixed statement prepares -----------------------------------------------

# Statements that only one engine runs, and only it can parse.
POSTGRESQL_ONLY = {"convstore.conversations.base._LOCK_ROW_SQL", "insert together"}

# Statements built from a template or by a function, as the code builds them.
BUILT = {
    "insert messages": base.insert_rows_sql(
        "agent_messages", history.MESSAGE_INSERT_COLUMNS, 2, "id"
    ),
    "insert structure": base.insert_rows_sql(
        "message_structure", history.STRUCTURE_INSERT_COLUMNS, 2, ""
    ),
    "insert together": history.insert_together_sql(2),
}
# Templates, prepared as rendered in BUILT.
TEMPLATES = {"convstore.conversations.history._INSERT_TOGETHER_TEMPLATE"}

STATEMENT_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def fixed_sql_modules():
    yield sql
    for package in (conversations, queries):
        for module in pkgutil.iter_modules(package.__path__):
            yield importlib.import_module(f"{package.__name__}.{module.name}")


def module_statements() -> dict[str, str]:
    """Every module-level SQL statement of those modules, by the name of the one defining it."""
    found = {}
    for module in fixed_sql_modules():
        source = inspect.getsource(module)
        for name, value in vars(module).items():
            is_statement = isinstance(value, str) and value.lstrip().upper().startswith(
                STATEMENT_STARTS
            )
            if is_statement and re.search(rf"^{name} = ", source, re.MULTILINE):
                found[f"{module.__name__}.{name}"] = value
    return found


def statements() -> dict[str, str]:
    found = {name: text for name, text in module_statements().items() if name not in TEMPLATES}
    return found | BUILT


def test_every_template_is_prepared_as_built():
    templates = {name for name, text in module_statements().items() if "{" in text}

    assert templates == TEMPLATES


def test_the_statements_found_include_those_of_appends_reads_and_usage():
    names = set(statements())

    assert {
        "convstore.conversations.base._UPSERT_SQL",
        "convstore.conversations.usage._REPLACE_TURN_USAGE_SQL",
        "convstore.queries.sessions.STATE_SQL",
        "convstore.queries.sessions._NEWEST_FIRST_SQL",
        "convstore.conversations.history._NEWEST_ROW_SQL",
    } <= names


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(statements()))
def test_fixed_statement_prepares(name):
    if name in POSTGRESQL_ONLY and connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    text = statements()[name]
    # NULL for every parameter: EXPLAIN checks names, columns and syntax, not values.
    params = [None] * text.count("%s")

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {text}", params)
        assert cursor.fetchall()
