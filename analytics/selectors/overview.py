"""The overview: totals, usage per day, top conversations, tools and models."""

import datetime

from django.db.models import (
    Count,
    F,
    Q,
    Sum,
)
from django.utils import timezone

from convstore.models import (
    AgentSession,
    TurnUsage,
)

from ..models import ToolDay, UsageDay
from .common import (
    ROLLUP_SUMS,
    live_rollup_days,
    rollup_totals,
)

# --- overview ------------------------------------------------------------------


def overview_totals_get(*, since: datetime.datetime | None) -> dict:
    """Conversations active in the period, and the usage recorded in it.

    A user turn counts once, on the branch that ran it: forks copy messages,
    never usage rows.
    """
    conversations = AgentSession.objects.filter(deleted_at__isnull=True)
    if since is not None:
        conversations = conversations.filter(updated_at__gte=since)
    usage = live_rollup_days(UsageDay, since).aggregate(**ROLLUP_SUMS)
    return {"conversations": conversations.count(), **rollup_totals(usage)}


def daily_usage_get(*, since: datetime.datetime | None) -> dict:
    """Tokens by kind and known cost per day, every day of the period (chart data)."""
    rows = {
        row["day"]: rollup_totals(row)
        for row in live_rollup_days(UsageDay, since)
        .values("day")
        .annotate(**ROLLUP_SUMS)
        .order_by("day")
    }
    today = timezone.localdate()
    first = since.date() if since is not None else min(rows, default=today)
    days = [first + datetime.timedelta(days=n) for n in range((today - first).days + 1)]
    empty = rollup_totals(None)
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


def costliest_conversation_list(*, since: datetime.datetime | None, limit: int = 10) -> list[dict]:
    """Live conversations by their cost in the period, then by tokens."""
    rows = (
        live_rollup_days(UsageDay, since)
        .values("session_id", "session__title")
        .annotate(**ROLLUP_SUMS)
        .order_by(F("sum_cost").desc(nulls_last=True), "-sum_total", "session_id")[:limit]
    )
    return [
        {"session_id": row["session_id"], "title": row["session__title"], **rollup_totals(row)}
        for row in rows
    ]


def most_called_tool_list(*, since: datetime.datetime | None, limit: int = 10) -> list[dict]:
    """Tools by calls; a call copied into a branch by a fork counts once."""
    return list(
        live_rollup_days(ToolDay, since)
        .values("tool_name")
        .annotate(calls=Sum("calls"), conversations=Count("session_id", distinct=True))
        .order_by("-calls", "tool_name")[:limit]
    )


def model_mix_list(*, since: datetime.datetime | None) -> list[dict]:
    """Usage per model, largest first; usage recorded without a model comes as model None."""
    rows = list(
        live_rollup_days(UsageDay, since)
        .values("model_name")
        .annotate(**ROLLUP_SUMS)
        .order_by("-sum_total", "model_name")
    )
    all_tokens = sum(row["sum_total"] or 0 for row in rows)
    return [
        {
            "model_name": row["model_name"] or None,
            "share": (row["sum_total"] or 0) / all_tokens if all_tokens else 0,
            **rollup_totals(row),
        }
        for row in rows
    ]


def agent_mix_list(*, since: datetime.datetime | None) -> list[dict]:
    """Usage per agent that answered, largest first, from the usage rows of the period
    (turn_usage_created); usage recorded without an agent comes as agent None.

    A turn counts for the agent that answered it, the run's last agent, also
    when others took part through handoffs.
    """
    rows = TurnUsage.objects.filter(session__deleted_at__isnull=True)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    summed = (
        rows.values("agent_name")
        .annotate(
            sum_turns=Count("id"),
            sum_requests=Sum("requests"),
            sum_input=Sum("input_tokens"),
            sum_output=Sum("output_tokens"),
            sum_total=Sum("total_tokens"),
            sum_cost=Sum("cost"),
            sum_unpriced=Count("id", filter=Q(cost__isnull=True)),
            sum_unknown_model=Count("id", filter=Q(model_name__isnull=True) | Q(model_name="")),
        )
        .order_by(F("sum_total").desc(nulls_last=True), "agent_name")
    )
    return [{"agent_name": row["agent_name"], **rollup_totals(row)} for row in summed]
