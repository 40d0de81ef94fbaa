"""Reads for the dashboard: across conversations here, one conversation through convstore.queries.

Every function is keyword-only and runs a fixed number of queries whatever the
number of rows: per-row figures come from annotations or one query per page.
Trashed conversations are left out everywhere but trash_list.
"""

import datetime
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from convstore import queries
from convstore.models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
)

from .models import ToolDay, UsageDay

PERIODS = {"7": 7, "30": 30, "90": 90, "all": None}
DEFAULT_PERIOD = "30"
CONVERSATIONS_PER_PAGE = 25
TURNS_PER_PAGE = 50
TRASH_PER_PAGE = 25
AUDIT_PER_PAGE = 50
SORTS = ("recent", "turns", "tokens", "cost")


@dataclass
class Page:
    """One page of rows. count is None where counting every row would cost too much."""

    rows: list
    number: int
    per_page: int
    has_next: bool
    count: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def num_pages(self) -> int | None:
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)


def _page_of(queryset: QuerySet, *, number: int, per_page: int, count: int | None = None) -> Page:
    """A page fetched with one row more than shown, which tells whether a next page exists."""
    if count is not None:
        number = min(number, max(1, math.ceil(count / per_page)))
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(
        rows=rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(rows) > per_page,
        count=count,
    )


# --- periods -----------------------------------------------------------------


def period_start(*, period: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """Midnight (UTC) of the first day of the last N days, today included; None for all."""
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    if days is None:
        return None
    today = timezone.localdate(now or timezone.now())
    first = today - datetime.timedelta(days=days - 1)
    return datetime.datetime.combine(first, datetime.time.min, tzinfo=datetime.UTC)


def _live_days(model, since: datetime.datetime | None) -> QuerySet:
    """A rollup's rows of live conversations, from the period's first day."""
    rows = model.objects.filter(session__deleted_at__isnull=True)
    return rows.filter(day__gte=since.date()) if since is not None else rows


# Names unlike UsageDay's columns: Django refuses an annotation named like a field.
ROLLUP_SUMS = {
    "sum_turns": Sum("turns"),
    "sum_requests": Sum("requests"),
    "sum_input": Sum("input_tokens"),
    "sum_cached": Sum("cached_tokens"),
    "sum_output": Sum("output_tokens"),
    "sum_reasoning": Sum("reasoning_tokens"),
    "sum_total": Sum("total_tokens"),
    "sum_cost": Sum("cost"),
    "sum_unpriced": Sum("unpriced_turns"),
    "sum_unknown_model": Sum("turns", filter=Q(model_name="")),
}


def _totals(row: dict | None) -> dict:
    """ROLLUP_SUMS' result as queries.usage_totals shapes it; no cost where nothing is priced."""
    row = row or {}
    turns = row.get("sum_turns") or 0
    unpriced = row.get("sum_unpriced") or 0
    unknown_model = row.get("sum_unknown_model") or 0
    return {
        "turns": turns,
        "requests": row.get("sum_requests") or 0,
        "input_tokens": row.get("sum_input") or 0,
        "cached_tokens": row.get("sum_cached") or 0,
        "output_tokens": row.get("sum_output") or 0,
        "reasoning_tokens": row.get("sum_reasoning") or 0,
        "total_tokens": row.get("sum_total") or 0,
        "cost": row.get("sum_cost") if turns > unpriced else None,
        "unpriced_turns": unpriced,
        "unknown_model_turns": unknown_model,
        "no_price_turns": max(unpriced - unknown_model, 0),
        "cost_complete": turns > 0 and unpriced == 0,
    }


# --- overview ------------------------------------------------------------------


def overview_totals(*, since: datetime.datetime | None) -> dict:
    """Conversations active in the period, and the usage recorded in it.

    A user turn counts once, on the branch that ran it: forks copy messages,
    never usage rows.
    """
    conversations = AgentSession.objects.filter(deleted_at__isnull=True)
    if since is not None:
        conversations = conversations.filter(updated_at__gte=since)
    usage = _live_days(UsageDay, since).aggregate(**ROLLUP_SUMS)
    return {"conversations": conversations.count(), **_totals(usage)}


def usage_per_day(*, since: datetime.datetime | None) -> dict:
    """Tokens by kind and known cost per day, every day of the period (chart data)."""
    rows = {
        row["day"]: _totals(row)
        for row in _live_days(UsageDay, since).values("day").annotate(**ROLLUP_SUMS).order_by("day")
    }
    today = timezone.localdate()
    first = since.date() if since is not None else min(rows, default=today)
    days = [first + datetime.timedelta(days=n) for n in range((today - first).days + 1)]
    empty = _totals(None)
    series = [rows.get(day, empty) for day in days]
    return {
        "labels": [day.isoformat() for day in days],
        "uncached_input": [d["input_tokens"] - d["cached_tokens"] for d in series],
        "cached": [d["cached_tokens"] for d in series],
        "output": [d["output_tokens"] - d["reasoning_tokens"] for d in series],
        "reasoning": [d["reasoning_tokens"] for d in series],
        # A day without usage cost nothing; a day whose usage is all unpriced has no cost.
        "cost": [
            float(d["cost"]) if d["cost"] is not None else (0.0 if not d["turns"] else None)
            for d in series
        ],
    }


def conversation_top_by_cost(*, since: datetime.datetime | None, limit: int = 10) -> list[dict]:
    rows = (
        _live_days(UsageDay, since)
        .values("session_id", "session__title")
        .annotate(**ROLLUP_SUMS)
        .order_by(F("sum_cost").desc(nulls_last=True), "-sum_total", "session_id")[:limit]
    )
    return [
        {"session_id": row["session_id"], "title": row["session__title"], **_totals(row)}
        for row in rows
    ]


def tool_top_list(*, since: datetime.datetime | None, limit: int = 10) -> list[dict]:
    """Tools by calls; a call copied into a branch by a fork counts once."""
    return list(
        _live_days(ToolDay, since)
        .values("tool_name")
        .annotate(calls=Sum("calls"), conversations=Count("session_id", distinct=True))
        .order_by("-calls", "tool_name")[:limit]
    )


def model_mix_list(*, since: datetime.datetime | None) -> list[dict]:
    """Usage per model, largest first; usage recorded without a model comes as model None."""
    rows = list(
        _live_days(UsageDay, since)
        .values("model_name")
        .annotate(**ROLLUP_SUMS)
        .order_by("-sum_total", "model_name")
    )
    all_tokens = sum(row["sum_total"] or 0 for row in rows)
    return [
        {
            "model_name": row["model_name"] or None,
            "share": (row["sum_total"] or 0) / all_tokens if all_tokens else 0,
            **_totals(row),
        }
        for row in rows
    ]


# --- the conversation list -------------------------------------------------------


def model_name_list() -> list[str]:
    """The models that usage was recorded for, for the list's filter."""
    return list(
        UsageDay.objects.exclude(model_name="")
        .order_by("model_name")
        .values_list("model_name", flat=True)
        .distinct()
    )


def _live_branches() -> QuerySet[Branch]:
    return Branch.objects.filter(session_id=OuterRef("pk"), deleted_at__isnull=True)


def _words_query(q: str) -> str:
    """Every word of q, for to_tsquery; the last one also as a prefix ("refu" finds "refund").

    Quoted, each word goes through the same parser as the indexed text. A prefix
    of one or two letters would match most of the index, so those stay words.
    """
    words = q.split()
    terms = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    if words and len(words[-1]) >= 3:
        terms[-1] += ":*"
    return " & ".join(terms)


def _messages_matching(q: str) -> QuerySet[AgentMessage]:
    if connection.vendor == "postgresql":
        # Words, case-insensitive: served by the GIN index agent_messages_words on
        # analytics_message_words(message_data), the words of the decoded JSON's
        # strings (analytics migration 0003). The expression must stay exactly this
        # for the planner to use the index.
        words = Func(
            "message_data", function="analytics_message_words", output_field=SearchVectorField()
        )
        return AgentMessage.objects.alias(words=words).filter(
            words=SearchQuery(_words_query(q), config="simple", search_type="raw")
        )
    # SQLite: a substring scan of the text as json.dumps writes it.
    return AgentMessage.objects.filter(message_data__icontains=json.dumps(q)[1:-1])


def _conversations_matching(
    *, q: str, since: datetime.datetime | None, branched: bool | None, model: str
) -> QuerySet[AgentSession]:
    sessions = AgentSession.objects.filter(deleted_at__isnull=True)
    if since is not None:
        sessions = sessions.filter(updated_at__gte=since)
    if q:
        # Matched once here, in one query, not again by each query of the page
        # (count, totals, rows). Ids and titles match as substrings.
        by_name = AgentSession.objects.filter(Q(session_id__icontains=q) | Q(title__icontains=q))
        matched = (
            by_name.order_by()
            .values_list("pk", flat=True)
            .union(_messages_matching(q).order_by().values_list("session_id", flat=True))
        )
        sessions = sessions.filter(pk__in=list(matched))
    if branched is not None:
        has_branches = Exists(_live_branches())
        sessions = sessions.filter(has_branches if branched else ~has_branches)
    if model:
        sessions = sessions.filter(
            session_id__in=UsageDay.objects.filter(model_name=model).values("session_id")
        )
    return sessions


def _per_session(queryset: QuerySet, expression) -> Subquery:
    """An aggregate over a queryset correlated to the conversation row."""
    return Subquery(queryset.order_by().values("session_id").annotate(v=expression).values("v")[:1])


def _usage_figures() -> dict:
    """Per-conversation sums over every branch, from the rollup: a few rows per conversation."""
    usage = UsageDay.objects.filter(session_id=OuterRef("pk"))
    return {
        "turns": _per_session(usage, Sum("turns")),
        "tokens": _per_session(usage, Sum("total_tokens")),
        "cost": _per_session(usage, Sum("cost")),
        "unpriced_turns": _per_session(usage, Sum("unpriced_turns")),
        "unknown_model_turns": _per_session(usage, Sum("turns", filter=Q(model_name=""))),
    }


def _with_figures(sessions: QuerySet[AgentSession]) -> QuerySet[AgentSession]:
    """Turns run, tokens and cost over all branches, and the live branch count."""
    return sessions.annotate(
        **_usage_figures(), branch_count=_per_session(_live_branches(), Count("id"))
    )


def _conversation_page(
    matching: QuerySet[AgentSession], *, sort: str, number: int, per_page: int, count: int
) -> Page:
    """The page's ids first, ordered by the sort's one figure; then the figures of those rows.

    Figures in the first query would be computed for every row an OFFSET skips.
    """
    key = sort if sort in SORTS and sort != "recent" else None
    ordering = [F("updated_at").desc(), "session_id"]
    if key is not None:
        matching = matching.annotate(**{key: _usage_figures()[key]})
        ordering.insert(0, F(key).desc(nulls_last=True))
    page = _page_of(
        matching.order_by(*ordering).values_list("pk", flat=True),
        number=number,
        per_page=per_page,
        count=count,
    )
    rows = {row.pk: row for row in _with_figures(AgentSession.objects.filter(pk__in=page.rows))}
    page.rows = [rows[pk] for pk in page.rows]
    return page


def _models_of(session_ids: list[str]) -> dict[str, list[str]]:
    models: dict[str, list[str]] = {}
    for session_id, model in (
        UsageDay.objects.filter(session_id__in=session_ids)
        .order_by("session_id", "model_name")
        .values_list("session_id", "model_name")
        .distinct()
    ):
        models.setdefault(session_id, []).append(model or "unknown model")
    return models


def conversation_list(
    *,
    q: str = "",
    period: str = "all",
    branched: bool | None = None,
    model: str = "",
    sort: str = "recent",
    page: int = 1,
    per_page: int = CONVERSATIONS_PER_PAGE,
) -> Page:
    """Live conversations matching the filters, one page, with a totals line in page.extra."""
    matching = _conversations_matching(
        q=q, since=period_start(period=period), branched=branched, model=model
    )
    totals = UsageDay.objects.filter(session_id__in=matching.values("pk")).aggregate(**ROLLUP_SUMS)
    result = _conversation_page(
        matching, sort=sort, number=page, per_page=per_page, count=matching.count()
    )
    models = _models_of([session.pk for session in result.rows])
    for session in result.rows:
        session.models = models.get(session.pk, [])
    result.extra["totals"] = {"conversations": result.count, **_totals(totals)}
    return result


# --- one conversation ---------------------------------------------------------------


def _branch_tree(summaries: list[dict]) -> list[dict]:
    """The branches depth first from main, each with its depth; orphans (parent unknown) last."""
    names = {branch["branch_id"] for branch in summaries}
    children: dict[str | None, list[dict]] = {}
    for branch in summaries:
        if branch["branch_id"] == MAIN_BRANCH:
            continue
        parent = branch["parent_branch_id"]
        children.setdefault(parent if parent in names else None, []).append(branch)
    ordered: list[dict] = []

    def visit(branch: dict, depth: int) -> None:
        ordered.append({**branch, "depth": depth})
        for child in children.get(branch["branch_id"], []):
            visit(child, depth + 1)

    for root in [b for b in summaries if b["branch_id"] == MAIN_BRANCH] + children.get(None, []):
        visit(root, 0)
    return ordered


def _turn_chart(usage_rows: list[dict], turn_count: int) -> dict:
    """Usage per turn for the chart, every turn of the branch (zeros where none was recorded)."""
    by_turn = {row["turn"]: row for row in usage_rows}
    turns = list(range(1, turn_count + 1))
    rows = [by_turn.get(turn) for turn in turns]

    def series(key: str) -> list[int]:
        return [row[key] if row else 0 for row in rows]

    return {
        "labels": [f"Turn {turn}" for turn in turns],
        "uncached_input": series("uncached_input_tokens"),
        "cached": series("cached_tokens"),
        "output": series("plain_output_tokens"),
        "reasoning": series("reasoning_tokens"),
        "cost": [float(row["cost"]) if row and row["cost"] is not None else None for row in rows],
        "model": [row["model_name"] if row else None for row in rows],
    }


def _tool_table(session_id: str, branch_id: str) -> list[dict]:
    tools: dict[str, dict] = {}
    for name, calls, turn in queries.tool_usage(session_id, branch_id):
        tool = tools.setdefault(name or "(unnamed)", {"name": name or "(unnamed)", "calls": 0})
        tool["calls"] += calls
        tool.setdefault("turns", set()).add(turn)
    table = [{**tool, "turns": len(tool["turns"])} for tool in tools.values()]
    return sorted(table, key=lambda tool: (-tool["calls"], tool["name"]))


def conversation_detail(
    *, session: AgentSession, branch_id: str, page: int | None = None
) -> dict[str, Any] | None:
    """Everything the conversation page shows of one branch; None if there is no such branch.

    The transcript comes a page of turns at a time, the newest page unless
    another is asked for; the chart covers every turn.
    """
    all_usage = queries.branch_usage(session.pk)
    summaries = queries.branch_summaries(session.pk, usage=all_usage)
    current = next((b for b in summaries if b["branch_id"] == branch_id), None)
    if current is None:
        return None
    turn_count = queries.branch_turn_count(session.pk, branch_id)
    num_pages = max(1, math.ceil(turn_count / TURNS_PER_PAGE))
    number = min(max(page or num_pages, 1), num_pages)
    first_turn = None if number == 1 else (number - 1) * TURNS_PER_PAGE + 1
    last_turn = None if number == num_pages else number * TURNS_PER_PAGE
    usage_rows = [row for row in all_usage if row["branch_id"] == branch_id]
    return {
        "session": session,
        "branch": current,
        "branch_id": branch_id,
        "active_branch_id": session.active_branch_id or MAIN_BRANCH,
        "branches": _branch_tree(summaries),
        "compare_with": next(
            (b["branch_id"] for b in summaries if b["branch_id"] != branch_id), branch_id
        ),
        "conversation_usage": queries.usage_totals(all_usage),
        "turn_count": turn_count,
        "turn_page": {
            "number": number,
            "num_pages": num_pages,
            "first": first_turn or 1,
            "last": min(last_turn or turn_count, turn_count),
        },
        "transcript": queries.branch_transcript(
            session.pk, branch_id, first_turn=first_turn, last_turn=last_turn, usage=usage_rows
        ),
        "chart": _turn_chart(usage_rows, turn_count),
        "tools": _tool_table(session.pk, branch_id),
        "version": queries.conversation_version(session.pk),
    }


def branch_comparison_get(
    *, session: AgentSession, branch_a: str, branch_b: str | None
) -> dict | None:
    """Two branches side by side: per-turn text and usage, and each branch's totals.

    Without branch_b, branch_a is compared with the oldest other branch.
    """
    summaries = {b["branch_id"]: b for b in queries.branch_summaries(session.pk)}
    if branch_b is None:
        branch_b = next((name for name in summaries if name != branch_a), branch_a)
    if branch_a not in summaries or branch_b not in summaries:
        return None
    return {
        "session": session,
        "branch_names": list(summaries),
        "a": summaries[branch_a],
        "b": summaries[branch_b],
        "turns": queries.branch_comparison(session.pk, branch_a, branch_b),
    }


# --- trash and audit -------------------------------------------------------------------


def trash_list(*, page: int = 1, per_page: int = TRASH_PER_PAGE) -> Page:
    trashed = AgentSession.objects.filter(deleted_at__isnull=False).select_related("deleted_by")
    messages = AgentMessage.objects.filter(session_id=OuterRef("pk"))
    return _page_of(
        _with_figures(trashed)
        .annotate(message_count=_per_session(messages, Count("id")))
        .order_by(F("deleted_at").desc(), "session_id"),
        number=page,
        per_page=per_page,
    )


def audit_list(
    *,
    action: str = "",
    conversation: str = "",
    actor: str = "",
    page: int = 1,
    per_page: int = AUDIT_PER_PAGE,
) -> Page:
    entries = AuditEntry.objects.select_related("actor")
    if action:
        entries = entries.filter(action=action)
    if conversation:
        entries = entries.filter(session_id=conversation)
    if actor:
        entries = entries.filter(Q(actor__username=actor) | Q(actor_label=actor))
    return _page_of(entries.order_by("-at", "-id"), number=page, per_page=per_page)
