"""The rollups the overview and list read stay equal to sums over the rows, whoever writes."""

import datetime
import json
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from analytics import rollups
from analytics.models import ToolDay, UsageDay
from convstore import conversations, queries
from convstore.items import TOOL_CALL_TYPES
from convstore.models import MessageStructure, TurnUsage
from tests import dashboard_data as data

pytestmark = pytest.mark.django_db


def utc_day(value: datetime.datetime) -> datetime.date:
    return value.astimezone(datetime.UTC).date()


def usage_from_rows() -> dict:
    sums: dict = defaultdict(lambda: [0] * 8 + [Decimal(0)])
    fields = ("session_id", "created_at", *queries.USAGE_VIEW_FIELDS)
    for row in TurnUsage.objects.values(*fields):
        view = queries.usage_view(row)
        key = (row["session_id"], utc_day(row["created_at"]), row["model_name"] or "")
        figures = sums[key]
        for index, name in enumerate(queries.USAGE_COUNTS):
            figures[index] += view[name]
        figures[6] += 1
        figures[7] += view["cost"] is None
        figures[8] += view["cost"] or 0
    return {key: tuple(value) for key, value in sums.items()}


def usage_from_rollup() -> dict:
    return {
        (row.session_id, row.day, row.model_name): (
            row.requests,
            row.input_tokens,
            row.cached_tokens,
            row.output_tokens,
            row.reasoning_tokens,
            row.total_tokens,
            row.turns,
            row.unpriced_turns,
            row.cost,
        )
        for row in UsageDay.objects.all()
    }


def tools_from_rows() -> dict:
    first: dict = {}
    for session_id, message_id, created_at, tool, kind in MessageStructure.objects.filter(
        message_type__in=TOOL_CALL_TYPES
    ).values_list("session_id", "message_id", "created_at", "tool_name", "message_type"):
        seen = first.get(message_id)
        if seen is None or created_at < seen[1]:
            first[message_id] = (session_id, created_at, tool or kind)
    calls: dict = defaultdict(int)
    for session_id, created_at, tool in first.values():
        calls[(session_id, utc_day(created_at), tool)] += 1
    return dict(calls)


def tools_from_rollup() -> dict:
    return {(r.session_id, r.day, r.tool_name): r.calls for r in ToolDay.objects.all()}


def assert_rollups_match() -> None:
    assert usage_from_rollup() == usage_from_rows()
    assert tools_from_rollup() == tools_from_rows()


def test_the_rollups_follow_every_write_of_the_write_layer(editor):
    data.conversation("a", turns=3)
    data.conversation("b", turns=2, model=None)
    data.conversation("c", turns=1, model="house-model")
    assert_rollups_match()
    assert UsageDay.objects.filter(session_id="a").get().turns == 3

    # A second record_usage replaces the turn's usage.
    conversations.record_usage(
        session_id="a", usage=data.usage(input_tokens=9000), model_name="gpt-4o"
    )
    assert_rollups_match()

    _, branch, _ = conversations.fork(session_id="a", turn_number=2, branch_name="x")
    data.add_turn("a", "other", position=branch, tool="search_docs")
    assert_rollups_match()
    assert sum(row.calls for row in ToolDay.objects.filter(session_id="a")) == 4

    conversations.delete_branch(session_id="a", branch_id="x")
    assert_rollups_match()

    while conversations.pop_item(session_id="b")[0] is not None:
        pass
    assert_rollups_match()
    assert not UsageDay.objects.filter(session_id="b").exists()

    conversations.reprice_usage(session_id="a", actor=editor)
    conversations.trash(session_id="c")
    assert_rollups_match()
    conversations.purge(session_id="c")
    conversations.clear(session_id="a")
    assert_rollups_match()
    assert not UsageDay.objects.exists() and not ToolDay.objects.exists()


def test_odd_usage_details_never_fail_a_write_and_count_as_nothing():
    data.add_turn("odd", "hello")
    for details in ({"cached_tokens": "many"}, [1, 2], {"cached_tokens": -5}, {"x": 1}, None):
        TurnUsage.objects.filter(session_id="odd").update(input_tokens_details=details)
        assert UsageDay.objects.get(session_id="odd").cached_tokens == 0
    TurnUsage.objects.filter(session_id="odd").update(
        input_tokens_details={"cached_tokens": 10**12}
    )
    assert UsageDay.objects.get(session_id="odd").cached_tokens == 1000  # capped at input
    assert_rollups_match()


def test_writers_outside_the_write_layer_are_seen_too():
    data.conversation("sdk", turns=1)
    # As an SDK writer or a bulk path would: plain SQL, several rows in one statement.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO turn_usage (session_id, branch_id, user_turn_number, requests, "
            "input_tokens, output_tokens, total_tokens, input_tokens_details, created_at) "
            "VALUES (%s, 'main', 7, 1, 50, 5, 55, %s, %s), (%s, 'main', 8, 2, 60, 6, 66, %s, %s)",
            [
                "sdk",
                json.dumps({"cached_tokens": 10}),
                timezone.now(),
                "sdk",
                None,
                timezone.now() - datetime.timedelta(days=2),
            ],
        )
    assert_rollups_match()
    assert UsageDay.objects.filter(session_id="sdk").count() == 3  # two days, two models
    TurnUsage.objects.filter(session_id="sdk", user_turn_number__gt=1).delete()
    assert_rollups_match()


def test_rebuild_gives_what_the_triggers_kept():
    data.conversation("a", turns=2)
    _, branch, _ = conversations.fork(session_id="a", turn_number=2, branch_name="x")
    data.add_turn("a", "again", position=branch)
    kept = (usage_from_rollup(), tools_from_rollup())
    rollups.rebuild()
    assert (usage_from_rollup(), tools_from_rollup()) == kept


def test_tool_calls_written_in_plain_sql_are_counted_exactly():
    # A new tool call and a copied one (a fork's), in one multi-row statement,
    # across days: both are moved in place, on both databases.
    data.conversation("raw", turns=1)
    now = timezone.now()
    earlier = now - datetime.timedelta(days=3)
    with connection.cursor() as cursor:
        ids = []
        for _ in range(3):
            cursor.execute(
                "INSERT INTO agent_messages (session_id, message_data)"
                " VALUES ('raw', '{}') RETURNING id"
            )
            ids.append(cursor.fetchone()[0])
        rows = [
            # Two new calls on two days, one without a tool name (counted by its type).
            ("raw", ids[0], "main", "function_call", 101, 5, 5, "lookup", now),
            ("raw", ids[1], "main", "web_search_call", 102, 5, 5, None, earlier),
            # A non-call row and a fork's copy of a call, dated earlier than the
            # original: the call's first day moves.
            ("raw", ids[2], "main", "message", 103, 5, 5, None, now),
            ("raw", ids[0], "x", "function_call", 104, 5, 5, "lookup", earlier),
        ]
        cursor.execute(
            "INSERT INTO message_structure (session_id, message_id, branch_id, message_type, "
            "sequence_number, user_turn_number, branch_turn_number, tool_name, created_at) "
            "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows)),
            [value for row in rows for value in row],
        )
    assert_rollups_match()
    assert tools_from_rollup()[("raw", utc_day(earlier), "lookup")] == 1
    MessageStructure.objects.filter(session_id="raw", branch_id="x").delete()
    assert_rollups_match()
    assert tools_from_rollup()[("raw", utc_day(now), "lookup")] == 1


def test_rebuild_rollups_command_re_sums_emptied_rollups_and_prints_the_rows_written():
    data.conversation("a", turns=2)
    data.conversation("b", turns=1, model=None)
    kept = (usage_from_rollup(), tools_from_rollup())
    UsageDay.objects.all().delete()  # as in a backup restored without them
    ToolDay.objects.all().delete()

    out = StringIO()
    call_command("rebuild_rollups", stdout=out)

    assert (usage_from_rollup(), tools_from_rollup()) == kept
    assert_rollups_match()
    assert out.getvalue() == (
        "Re-summed the rollups: 2 usage rows (conversation, day, model),"
        " 2 tool-call rows (conversation, day, tool).\n"
    )


def insert_structure_rows(rows: list[tuple]) -> list[int]:
    """message_structure rows in one plain-SQL statement: their ids, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO message_structure (session_id, message_id, branch_id, message_type, "
            "sequence_number, user_turn_number, branch_turn_number, tool_name, created_at) "
            "VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
            + " RETURNING id",
            [value for row in rows for value in row],
        )
        return sorted(row[0] for row in cursor.fetchall())


def delete_structure_rows(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM message_structure WHERE id IN (" + ", ".join(["%s"] * len(ids)) + ")",
            ids,
        )


def new_message(session_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES (%s, '{}') RETURNING id",
            [session_id],
        )
        return cursor.fetchone()[0]


def test_deleted_tool_rows_move_their_calls_in_place():
    # Each delete is one multi-row statement, as a purge or a branch delete is:
    # the calls move off the (day, tool) they had and onto the one they have left.
    data.conversation("del", turns=1)
    now = timezone.now()
    earlier = now - datetime.timedelta(days=3)
    shared, alone, other = new_message("del"), new_message("del"), new_message("del")
    original, early_copy, late_copy, only, untouched = insert_structure_rows(
        [
            ("del", shared, "main", "function_call", 101, 5, 5, "lookup", now),
            # Two forks' copies of the call, one dated earlier.
            ("del", shared, "x", "function_call", 102, 5, 5, "lookup", earlier),
            ("del", shared, "y", "function_call", 103, 5, 5, "lookup", now),
            ("del", alone, "main", "web_search_call", 104, 5, 5, None, earlier),
            ("del", other, "main", "function_call", 105, 5, 5, "lookup", now),
        ]
    )
    assert_rollups_match()
    assert tools_from_rollup()[("del", utc_day(earlier), "lookup")] == 1

    # The earlier copy and a call's only row: the shared call moves back to
    # its original's day, the other call is gone.
    delete_structure_rows([early_copy, only])
    assert_rollups_match()
    assert tools_from_rollup()[("del", utc_day(now), "lookup")] == 2
    assert {tool for _, day, tool in tools_from_rollup() if day == utc_day(earlier)} == set()

    # The original goes while a copy stays: the call stays where it is.
    delete_structure_rows([original])
    assert_rollups_match()
    assert tools_from_rollup()[("del", utc_day(now), "lookup")] == 2

    # The last copy and the other call's row together: only the turn's own call is left.
    delete_structure_rows([late_copy, untouched])
    assert_rollups_match()
    assert sum(tools_from_rollup().values()) == 1


def main_turns_with_usage() -> int:
    return TurnUsage.objects.filter(session_id="long", branch_id="main").count()


def pop(times: int, position) -> None:
    for _ in range(times):
        conversations.pop_item(session_id="long", position=position)
        assert_rollups_match()


def test_popping_tool_calls_with_copies_on_a_branch_keeps_the_rollups_exact():
    # 30 turns of 5 items, a call in each; the branch copies turns 1 to 19.
    main = data.conversation("long", turns=30)
    _, branch, _ = conversations.fork(session_id="long", turn_number=20, branch_name="x")
    assert sum(tools_from_rollup().values()) == 30

    pop(15, main)  # turns 28 to 30: their calls and usage go
    assert sum(tools_from_rollup().values()) == 27
    assert main_turns_with_usage() == 27
    pop(10, branch)  # the copies of turns 18 and 19: main still holds their calls
    assert sum(tools_from_rollup().values()) == 27
    pop(3, main)  # part of turn 27: its usage stays
    assert main_turns_with_usage() == 27
    pop(52, main)  # the rest of turns 17 to 27: turn 17's call stays, copied on the branch
    assert sum(tools_from_rollup().values()) == 17
    assert main_turns_with_usage() == 16
