"""The dashboard's reads (analytics.selectors, convstore.queries) and the re-price write."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from analytics import selectors
from analytics.selectors.listing import messages_matching
from analytics.templatetags.dashboard import total_cost, turn_cost, usd
from convstore import conversations, queries
from convstore.models import AgentSession, AuditEntry, ModelPrice, TurnUsage
from tests import dashboard_data as data

pytestmark = pytest.mark.django_db


def forked(session_id: str, turn: int, name: str, *, source: str = "main"):
    position = conversations.check_branch(session_id=session_id, branch_id=source)
    _, position, _ = conversations.fork(
        session_id=session_id, turn_number=turn, branch_name=name, position=position
    )
    return position


def age(session_id: str, days: int) -> None:
    """Move a conversation's activity and usage into the past (test set-up only)."""
    then = timezone.now() - datetime.timedelta(days=days)
    TurnUsage.objects.filter(session_id=session_id).update(created_at=then)
    AgentSession.objects.filter(pk=session_id).update(updated_at=then)


# --- overview ----------------------------------------------------------------------


def test_overview_totals_split_cached_and_reasoning_tokens_and_skip_the_trash():
    data.conversation("a", turns=2)  # each turn: 1000 in (200 cached), 300 out (50 reasoning)
    data.conversation("b", turns=1)
    data.conversation("binned", turns=5)
    conversations.trash(session_id="binned")
    totals = selectors.overview_totals_get(since=selectors.period_start(period="7"))
    assert totals["conversations"] == 2
    assert totals["turns"] == 3 and totals["requests"] == 3
    assert totals["input_tokens"] == 3000 and totals["cached_tokens"] == 600
    assert totals["output_tokens"] == 900 and totals["reasoning_tokens"] == 150
    assert totals["total_tokens"] == 3900
    # gpt-4.1-mini: 800 * 0.40 + 200 * 0.10 + 300 * 1.60 per 1M, per turn
    assert totals["cost"] == Decimal("0.00082") * 3
    assert totals["cost_complete"]


def test_a_fork_copies_messages_but_its_turns_count_once():
    data.conversation("a", turns=3)
    data.add_turn("a", "again", position=forked("a", 3, "retry"))
    totals = selectors.overview_totals_get(since=None)
    assert totals["turns"] == 4
    tools = selectors.most_called_tool_list(since=None)
    assert tools == [{"tool_name": "lookup_order", "calls": 4, "conversations": 1}]


def test_cost_is_unknown_without_a_model_and_missing_without_a_price():
    data.conversation("known", turns=1)
    data.conversation("nameless", turns=1, model=None)
    data.conversation("unpriced", turns=2, model="house-model-7")
    totals = selectors.overview_totals_get(since=None)
    assert totals["turns"] == 4
    assert totals["cost"] == Decimal("0.00082")
    assert totals["unpriced_turns"] == 3
    assert totals["unknown_model_turns"] == 1 and totals["no_price_turns"] == 2
    assert not totals["cost_complete"]
    assert "+ 3 turns unpriced" in total_cost(totals)
    mix = {row["model_name"]: row for row in selectors.model_mix_list(since=None)}
    assert mix["house-model-7"]["share"] == pytest.approx(0.5)
    assert "no price" in total_cost(mix["house-model-7"])
    assert "unknown model" in total_cost(mix[None])
    assert mix["gpt-4.1-mini"]["cost"] == Decimal("0.00082")


def test_turn_cost_never_makes_a_number_up():
    assert turn_cost(None) == '<span class="muted">no usage recorded</span>'
    assert "unknown model" in turn_cost({"cost": None, "model_name": None})
    assert "no price for x&lt;y" in turn_cost({"cost": None, "model_name": "x<y"})
    assert turn_cost({"cost": Decimal("0.00082"), "model_name": "m"}) == "$0.00082"
    assert usd(Decimal("12.346")) == "$12.35" and usd(Decimal("1.5")) == "$1.5000"


def test_usage_per_day_has_every_day_of_the_period():
    data.conversation("a", turns=2)
    data.conversation("old", turns=1)
    age("old", days=3)
    week = selectors.daily_usage_get(since=selectors.period_start(period="7"))
    assert len(week["labels"]) == 7
    assert week["labels"][-1] == timezone.localdate().isoformat()
    totals = [
        sum(week[key][i] for key in ("uncached_input", "cached", "output", "reasoning"))
        for i in range(7)
    ]
    assert totals[-1] == 2 * 1300 and totals[-4] == 1300 and sum(totals) == 3 * 1300
    assert week["cost"][-2] == 0.0  # no usage that day: nothing spent
    data.conversation("nameless", turns=1, model=None)
    age("nameless", days=1)
    assert selectors.daily_usage_get(since=None)["cost"][-2] is None  # usage, but no price
    everything = selectors.daily_usage_get(since=None)
    assert len(everything["labels"]) == 4  # from the first day with usage to today


def test_top_conversations_by_cost_put_unknown_costs_last():
    data.conversation("cheap", turns=1)
    data.conversation("dear", turns=3)
    data.conversation("nameless", turns=5, model=None)
    top = selectors.costliest_conversation_list(since=None)
    assert [row["session_id"] for row in top] == ["dear", "cheap", "nameless"]
    assert top[2]["cost"] is None and top[2]["turns"] == 5


# --- the conversation list ------------------------------------------------------------


@pytest.fixture
def listing():
    data.conversation("order-1", turns=3, title="Refund for order 1")
    data.conversation("order-2", turns=1, model="gpt-4o")
    data.add_turn("order-2", 'Où est mon "colis"? café', position=None, model="gpt-4o")
    data.conversation("order-3", turns=2, model=None)
    forked("order-1", 2, "retry")
    data.conversation("binned", turns=1, title="Refund binned")
    conversations.trash(session_id="binned")
    data.conversation("stale", turns=1)
    age("stale", days=40)


def ids(page) -> list[str]:
    return [session.pk for session in page.rows]


def test_search_finds_ids_titles_and_message_text(listing):
    assert ids(selectors.conversation_list(q="ORDER-3")) == ["order-3"]
    assert ids(selectors.conversation_list(q="refund")) == ["order-1"]
    assert ids(selectors.conversation_list(q="café")) == ["order-2"]
    assert ids(selectors.conversation_list(q='"colis"')) == ["order-2"]
    assert ids(selectors.conversation_list(q="Question 2 of order-1")) == ["order-1"]
    assert ids(selectors.conversation_list(q="nothing like this")) == []


@pytest.fixture
def searchable():
    """Words only in an assistant message, only in a tool output, only in a title or an id."""
    data.conversation("plain", turns=1)
    data.add_turn(
        "kestrel-talk", "Where is it?", answer="The Kestrel shipment left Tuesday.\nZürich next."
    )
    tool_output = {"type": "function_call_output", "call_id": "call_9", "output": "{}"}
    tool_output["output"] = json.dumps({"status": "refunded", "carrier": "Albatross Freight"})
    conversations.append_items(
        session_id="tool-talk", items=[{"role": "user", "content": "Status?"}, tool_output]
    )
    data.conversation("titled", turns=1, title="Pelican invoice dispute")
    data.conversation("case-7781", turns=1)


def test_search_finds_words_in_every_kind_of_message_titles_and_ids(searchable):
    assert ids(selectors.conversation_list(q="kestrel")) == ["kestrel-talk"]  # and its id
    assert ids(selectors.conversation_list(q="TUESDAY")) == ["kestrel-talk"]  # assistant text
    assert ids(selectors.conversation_list(q="zürich")) == ["kestrel-talk"]  # after a line break
    assert ids(selectors.conversation_list(q="albatross")) == ["tool-talk"]  # tool output
    assert ids(selectors.conversation_list(q="pelican")) == ["titled"]  # title
    assert ids(selectors.conversation_list(q="CASE-7781")) == ["case-7781"]  # id
    assert ids(selectors.conversation_list(q="7781")) == ["case-7781"]  # part of an id
    assert ids(selectors.conversation_list(q="refu")) == ["tool-talk"]  # the start of a word
    assert ids(selectors.conversation_list(q="Kestr")) == ["kestrel-talk"]
    page = selectors.conversation_list(q="albatross")
    assert page.count == 1 and page.extra["totals"]["conversations"] == 1


def test_search_reads_messages_that_are_not_plain_json(searchable):
    """A NUL character (jsonb refuses it) or more words than a tsvector holds never fail a write."""
    data.add_turn("nul-talk", "Nul\u0000byte and a wombat", tool=None)
    many_words = "platypus " + " ".join(f"{n:x}{n * 7919:x}" for n in range(120_000))
    data.add_turn("long-talk", many_words, tool=None)
    assert ids(selectors.conversation_list(q="wombat")) == ["nul-talk"]
    assert ids(selectors.conversation_list(q="platypus")) == ["long-talk"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="word search is PostgreSQL's")
def test_postgresql_matches_words_in_any_order_through_the_index(searchable):
    assert ids(selectors.conversation_list(q="tuesday kestrel")) == ["kestrel-talk"]
    assert ids(selectors.conversation_list(q="tuesday albatross")) == []  # one message holds all
    assert ids(selectors.conversation_list(q="uesday")) == []  # words, not substrings of them
    assert ids(selectors.conversation_list(q="it's \\ 'a' & | !:*")) == []  # no tsquery syntax
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: show the index can serve
    assert "agent_messages_words" in messages_matching("refu").explain()


def test_filters_by_period_branches_and_model(listing):
    assert set(ids(selectors.conversation_list(period="30"))) == {"order-1", "order-2", "order-3"}
    assert ids(selectors.conversation_list(branched=True)) == ["order-1"]
    assert "order-1" not in ids(selectors.conversation_list(branched=False))
    assert ids(selectors.conversation_list(model="gpt-4o")) == ["order-2"]
    assert selectors.model_name_list() == ["gpt-4.1-mini", "gpt-4o"]


def test_sorts_and_per_row_figures(listing):
    by_cost = selectors.conversation_list(sort="cost")
    assert ids(by_cost)[:2] == ["order-2", "order-1"]  # 2 gpt-4o turns cost more than 3 mini
    assert ids(by_cost)[-1] == "order-3"  # no model, no cost: last
    first = by_cost.rows[1]
    assert (first.turns, first.tokens, first.branch_count) == (3, 3900, 1)
    assert first.models == ["gpt-4.1-mini"]
    assert ids(selectors.conversation_list(sort="turns"))[0] == "order-1"
    assert ids(selectors.conversation_list(sort="recent"))[-1] == "stale"
    assert selectors.conversation_list(sort="tokens").rows[-1].tokens == 1300


def test_pages_and_the_totals_line(listing):
    first = selectors.conversation_list(per_page=2)
    assert first.count == 4 and first.num_pages == 2 and first.has_next
    second = selectors.conversation_list(per_page=2, page=2)
    assert not second.has_next and second.has_previous
    assert set(ids(first) + ids(second)) == {"order-1", "order-2", "order-3", "stale"}
    beyond = selectors.conversation_list(per_page=2, page=99)
    assert beyond.number == 2
    totals = first.extra["totals"]
    assert totals["conversations"] == 4
    assert totals["total_tokens"] == 1300 * 8
    assert totals["unpriced_turns"] == 2


# --- one conversation -------------------------------------------------------------------


def test_the_transcript_groups_items_by_turn_with_their_kind_and_usage():
    data.conversation("c", turns=2)
    data.add_turn("c", "<script>alert(1)</script>", position=None, tool=None)
    turns = queries.branch_transcript("c", "main")
    assert [turn["number"] for turn in turns] == [1, 2, 3]
    kinds = [item["kind"] for item in turns[0]["items"]]
    assert kinds == ["user", "tool_call", "tool_output", "reasoning", "assistant"]
    call = turns[0]["items"][1]
    assert call["tool_name"] == "lookup_order" and '"query": "Question 1 of c"' in call["detail"]
    assert '"status": "ok"' in turns[0]["items"][2]["detail"]
    assert turns[2]["items"][0]["text"] == "<script>alert(1)</script>"
    assert turns[1]["usage"]["cached_tokens"] == 200
    assert turns[1]["usage"]["plain_output_tokens"] == 250
    assert turns[2]["fork_turn"] == 3
    assert [t["number"] for t in queries.branch_transcript("c", "main", first_turn=2)] == [2, 3]


def test_branch_summaries_make_a_tree_with_usage_per_branch():
    data.conversation("c", turns=3)
    data.add_turn("c", "retry", position=forked("c", 2, "a"))
    data.add_turn("c", "retry again", position=forked("c", 2, "a1", source="a"))
    forked("c", 3, "b")
    detail = selectors.conversation_detail_get(
        session=AgentSession.objects.get(pk="c"), branch_id="a"
    )
    tree = [(b["branch_id"], b["depth"]) for b in detail["branches"]]
    assert tree == [("main", 0), ("a", 1), ("a1", 2), ("b", 1)]
    by_name = {b["branch_id"]: b for b in detail["branches"]}
    assert by_name["a1"]["parent_branch_id"] == "a" and by_name["a1"]["forked_from_turn"] == 2
    assert by_name["a"]["usage"]["turns"] == 1 and by_name["main"]["usage"]["turns"] == 3
    assert by_name["b"]["usage"]["turns"] == 0 and by_name["b"]["turns"] == 2
    assert detail["conversation_usage"]["turns"] == 5
    assert detail["chart"]["labels"] == ["Turn 1", "Turn 2"]
    assert detail["chart"]["uncached_input"] == [0, 800]  # turn 1 ran on main
    assert detail["compare_with"] == "main"


def test_comparing_branches_marks_the_shared_turns():
    data.conversation("c", turns=3)
    data.add_turn("c", "other question", position=forked("c", 3, "x"))
    rows = queries.branch_comparison("c", "main", "x")
    assert [(row["turn"], row["shared"]) for row in rows] == [(1, True), (2, True), (3, False)]
    assert rows[2]["a"]["text"] == "Question 3 of c" and rows[2]["b"]["text"] == "other question"
    assert rows[2]["b"]["usage"]["total_tokens"] == 1300 and rows[0]["b"]["usage"] is None


def test_the_version_changes_with_every_kind_of_change():
    data.conversation("c", turns=1)
    seen = {queries.conversation_version("c")}

    def changed() -> bool:
        version = queries.conversation_version("c")
        new = version not in seen
        seen.add(version)
        return new

    conversations.append_items(session_id="c", items=[{"role": "user", "content": "hi"}])
    assert changed()
    conversations.record_usage(session_id="c", usage=data.usage(), model_name="gpt-4o")
    assert changed()
    forked("c", 1, "b")
    assert changed()
    conversations.set_active_branch(session_id="c", branch_id="b")
    assert changed()
    conversations.set_active_branch(session_id="c", branch_id="main")
    conversations.delete_branch(session_id="c", branch_id="b")
    assert changed()
    conversations.trash(session_id="c")
    assert changed()
    assert not changed()
    assert queries.conversation_version("missing") is None


def test_trash_list_shows_who_trashed_and_what_it_holds(editor):
    data.conversation("c", turns=2)
    conversations.trash(session_id="c", actor=editor)
    page = selectors.trash_list()
    assert [(s.pk, s.deleted_by, s.message_count, s.tokens) for s in page.rows] == [
        ("c", editor, 10, 2600)
    ]


def test_audit_list_filters_by_action_conversation_and_actor(editor):
    data.conversation("c", turns=2)
    forked("c", 2, "b")
    conversations.trash(session_id="c", actor=editor)
    assert [e.action for e in selectors.audit_list().rows] == ["trash", "fork"]
    assert [e.action for e in selectors.audit_list(action="fork").rows] == ["fork"]
    assert [e.action for e in selectors.audit_list(actor="editor").rows] == ["trash"]
    assert selectors.audit_list(conversation="other").rows == []


# --- re-pricing ---------------------------------------------------------------------------


def test_editing_a_price_leaves_history_until_an_explicit_reprice(editor):
    data.conversation("c", turns=2, model="gpt-4o")
    data.conversation("nameless", turns=1, model="house-model")
    before = list(TurnUsage.objects.filter(session_id="c").values_list("cost", flat=True))
    ModelPrice.objects.filter(model_name="gpt-4o").update(output_per_million=Decimal("20"))
    assert list(TurnUsage.objects.filter(session_id="c").values_list("cost", flat=True)) == before

    assert conversations.reprice_usage(session_id="c", actor=editor) == 2
    after = TurnUsage.objects.filter(session_id="c").values_list("cost", flat=True)
    # gpt-4o: 800 * 2.50 + 200 * 1.25 + 300 * 20 per 1M
    assert set(after) == {Decimal("0.00825")}
    entry = AuditEntry.objects.get(action="reprice")
    assert entry.actor == editor and entry.detail["rows"] == 2
    assert conversations.reprice_usage(session_id="c", actor=editor) == 0

    ModelPrice.objects.create(
        model_name="house-model",
        effective_from=timezone.localdate(),
        input_per_million=1,
        cached_input_per_million=1,
        output_per_million=1,
    )
    assert conversations.reprice_usage(session_id="nameless") == 1
    assert TurnUsage.objects.get(session_id="nameless").cost == Decimal("0.0013")


def test_a_reprice_uses_the_price_in_force_on_the_turns_day():
    data.conversation("c", turns=1, model="gpt-4o")
    ModelPrice.objects.create(
        model_name="gpt-4o",
        effective_from=timezone.localdate() + datetime.timedelta(days=1),
        input_per_million=100,
        cached_input_per_million=100,
        output_per_million=100,
    )
    assert conversations.reprice_usage(session_id="c") == 0
