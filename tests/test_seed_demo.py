"""manage.py seed_demo: the demo played by the Runner, --if-empty, and the --scale bulk path."""

import datetime
from io import StringIO

import pytest
from agents.usage import Usage
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min
from django.utils import timezone
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from convstore import conversations, pricing, queries
from convstore.demo import bulk
from convstore.demo.bulk import History, HistoryBranch, HistoryTurn
from convstore.models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from tests.conftest import database_snapshot

# DjangoSession does its ORM work in another thread.
pytestmark = pytest.mark.django_db(transaction=True)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


# --- the demo ---------------------------------------------------------------------------


def test_demo_seeds_believable_conversations_once():
    output = seed("--if-empty")

    conversations_made = AgentSession.objects.count()
    assert 25 <= conversations_made <= 35
    assert "Seeded 30 demo conversations" in output
    _assert_turns_and_usage()
    _assert_branches_active_and_trash()
    _assert_models_and_kinds()
    _assert_spread_over_two_months()

    counts = {model: model.objects.count() for model in (AgentSession, AgentMessage, TurnUsage)}
    assert "nothing seeded" in seed("--if-empty")
    assert {model: model.objects.count() for model in counts} == counts
    with pytest.raises(CommandError, match="already there"):
        seed()


def _assert_turns_and_usage():
    turns = MessageStructure.objects.filter(branch_id=MAIN_BRANCH).values("session_id")
    per_conversation = turns.annotate(turns=Max("user_turn_number")).values_list("turns", flat=True)
    assert min(per_conversation) == 2 and max(per_conversation) == 12
    usage_turns = TurnUsage.objects.filter(branch_id=MAIN_BRANCH).count()
    assert usage_turns == sum(per_conversation)  # store_run_usage after every run


def _assert_branches_active_and_trash():
    branched = Branch.objects.values("session_id").distinct().count()
    assert Branch.objects.count() >= 5 and branched >= 4
    for branch in Branch.objects.all():
        # Continued on the branch: it holds turns beyond the copied ones.
        rows = MessageStructure.objects.filter(
            session_id=branch.session_id, branch_id=branch.branch_id
        )
        newest = rows.aggregate(turn=Max("user_turn_number"))["turn"]
        assert newest >= branch.forked_from_turn
    active = AgentSession.objects.exclude(active_branch_id=MAIN_BRANCH)
    assert active.count() == 1
    assert Branch.objects.filter(
        session_id=active.get().pk, branch_id=active.get().active_branch_id
    ).exists()
    trashed = AgentSession.objects.filter(deleted_at__isnull=False)
    assert trashed.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TRASH).count() == 1


def _assert_models_and_kinds():
    models = set(TurnUsage.objects.values_list("model_name", flat=True))
    priced = {name for name in models if name in pricing.DEFAULT_PRICES}
    assert len(priced) >= 5
    unknown = TurnUsage.objects.exclude(model_name__in=pricing.DEFAULT_PRICES)
    assert unknown.exists() and not unknown.filter(cost__isnull=False).exists()
    assert not TurnUsage.objects.filter(model_name__in=priced, cost__isnull=True).exists()
    kinds = set(MessageStructure.objects.values_list("message_type", flat=True))
    assert {"user", "assistant", "function_call", "function_call_output", "reasoning"} <= kinds
    tools = set(MessageStructure.objects.values_list("tool_name", flat=True))
    assert {"lookup_order", "issue_refund", "get_weather", "search_docs", "calculator"} <= tools
    assert AgentSession.objects.filter(title__isnull=False).count() >= 20


def _assert_spread_over_two_months():
    now = timezone.now()
    for model, column in (
        (AgentSession, "created_at"),
        (AgentSession, "updated_at"),
        (AgentMessage, "created_at"),
        (MessageStructure, "created_at"),
        (TurnUsage, "created_at"),
        (Branch, "created_at"),
    ):
        span = model.objects.aggregate(first=Min(column), last=Max(column))
        assert span["first"] >= now - datetime.timedelta(days=61), (model, column)
        assert span["last"] <= now, (model, column)
    first = AgentSession.objects.aggregate(first=Min("created_at"))["first"]
    assert first < now - datetime.timedelta(days=20)
    days = AgentMessage.objects.dates("created_at", "day").count()
    assert days >= 15


def test_if_empty_does_nothing_when_a_conversation_exists():
    conversations.append_items(session_id="someone", items=[{"role": "user", "content": "hi"}])

    assert "nothing seeded" in seed("--if-empty")
    assert list(AgentSession.objects.values_list("pk", flat=True)) == ["someone"]


# --- the scale data set -------------------------------------------------------------------


def test_small_scale_run_writes_exactly_the_counts_asked():
    output = seed("--scale", "--conversations", "20", "--messages", "2000", "--chunk", "7")

    assert AgentSession.objects.count() == 20
    assert AgentMessage.objects.count() == 2000
    assert "Seeded 20 conversations" in output and "rows/s" in output
    main = MessageStructure.objects.filter(branch_id=MAIN_BRANCH)
    turns = main.values("session_id").annotate(turns=Max("user_turn_number"), items=Count("id"))
    assert all(row["turns"] >= 2 for row in turns)
    # Every message is in a branch, and every turn of every branch has its usage row.
    assert MessageStructure.objects.values("message_id").distinct().count() == 2000
    usage_rows = TurnUsage.objects.count()
    new_turns = MessageStructure.objects.filter(message_type="user").values("message_id")
    assert usage_rows == new_turns.distinct().count()
    assert (
        TurnUsage.objects.exclude(model_name__in=pricing.DEFAULT_PRICES)
        .filter(cost__isnull=False)
        .count()
        == 0
    )
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).count() == 20
    assert AgentMessage.objects.aggregate(last=Max("created_at"))["last"] <= timezone.now()


def test_scale_with_long_conversations():
    seed("--scale", "--conversations", "4", "--messages", "4000", "--long", "1")

    assert AgentMessage.objects.count() == 4000
    longest = MessageStructure.objects.aggregate(turn=Max("user_turn_number"))["turn"]
    assert longest == 500


# --- write_histories, the bulk path -------------------------------------------------------

AT = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)


def usage(input_tokens: int, cached: int, output: int) -> Usage:
    return Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output,
        total_tokens=input_tokens + output,
        input_tokens_details=InputTokensDetails(cached_tokens=cached, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
    )


def turn_items(number: int) -> list[dict]:
    return [
        {"role": "user", "content": f"question {number}"},
        {
            "type": "function_call",
            "name": "calculator",
            "call_id": f"c{number}",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": f"c{number}", "output": str(number)},
        {"role": "assistant", "content": f"answer {number}"},
    ]


def test_write_histories_leaves_what_the_turn_by_turn_writes_leave():
    """The same conversation, once through append_items/record_usage/fork, once in bulk."""
    turns = [
        HistoryTurn(turn_items(n), AT + minutes(n), usage(1000 * n, 128, 50 * n), "gpt-4.1")
        for n in (1, 2, 3)
    ]
    branch_turns = [HistoryTurn(turn_items(9), AT + minutes(60), usage(5000, 0, 10), "mystery")]
    for turn in turns:
        conversations.append_items(session_id="stepwise", items=turn.items)
        conversations.record_usage(session_id="stepwise", usage=turn.usage, model_name="gpt-4.1")
    _, position, _ = conversations.fork(session_id="stepwise", turn_number=2, branch_name="b")
    conversations.append_items(
        session_id="stepwise", items=branch_turns[0].items, position=position
    )
    conversations.record_usage(
        session_id="stepwise",
        usage=branch_turns[0].usage,
        model_name="mystery",
        position=position,
    )

    written = bulk.write_histories(
        [History("bulk", turns, title="Bulk", branches=[HistoryBranch("b", 2, branch_turns)])]
    )

    assert written == {
        "conversations": 1,
        "messages": 16,
        "structure_rows": 20,
        "usage_rows": 4,
        "branches": 1,
    }
    for branch in (MAIN_BRANCH, "b"):
        assert queries.branch_items("bulk", branch) == queries.branch_items("stepwise", branch)
        assert queries.conversation_by_turns("bulk", branch) == queries.conversation_by_turns(
            "stepwise", branch
        )
        assert queries.tool_usage("bulk", branch) == queries.tool_usage("stepwise", branch)
        assert _usage("bulk", branch) == _usage("stepwise", branch)
    assert _structure("bulk") == _structure("stepwise")
    assert [b["branch_id"] for b in queries.branches("bulk", MAIN_BRANCH)] == [MAIN_BRANCH, "b"]
    conversation = AgentSession.objects.get(pk="bulk")
    assert conversation.title == "Bulk"
    assert (conversation.created_at, conversation.updated_at) == (AT + minutes(1), AT + minutes(60))
    copied = MessageStructure.objects.filter(session_id="bulk", branch_id="b", user_turn_number=1)
    assert set(copied.values_list("created_at", flat=True)) == {AT + minutes(60)}
    assert set(
        AgentMessage.objects.filter(session_id="bulk").values_list("created_at", flat=True)
    ) == {AT + minutes(n) for n in (1, 2, 3, 60)}


def minutes(count: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=count)


def _usage(session_id: str, branch_id: str) -> list[tuple]:
    return list(
        TurnUsage.objects.filter(session_id=session_id, branch_id=branch_id)
        .order_by("user_turn_number")
        .values_list(
            "user_turn_number",
            "requests",
            "input_tokens",
            "output_tokens",
            "input_tokens_details",
            "model_name",
            "cost",
        )
    )


def _structure(session_id: str) -> list[tuple]:
    return list(
        MessageStructure.objects.filter(session_id=session_id)
        .order_by("sequence_number")
        .values_list(
            "branch_id",
            "message_type",
            "sequence_number",
            "user_turn_number",
            "branch_turn_number",
            "tool_name",
        )
    )


@pytest.mark.parametrize(
    "history",
    [
        History("new", [HistoryTurn([{"role": "assistant", "content": "no question"}], AT)]),
        History("new", [HistoryTurn(turn_items(1), AT)], branches=[HistoryBranch("b", 2, [])]),
        History("new", [HistoryTurn(turn_items(1), AT)], active_branch_id="nowhere"),
        History("existing", [HistoryTurn(turn_items(1), AT)]),
    ],
    ids=["turn-without-user-message", "fork-past-the-end", "unknown-active-branch", "exists"],
)
def test_write_histories_refuses_bad_histories_and_writes_nothing(history):
    conversations.append_items(session_id="existing", items=turn_items(1))
    before = database_snapshot()
    good = History("good", [HistoryTurn(turn_items(1), AT)])

    with pytest.raises(conversations.ConversationError):
        bulk.write_histories([good, history])

    assert database_snapshot() == before
