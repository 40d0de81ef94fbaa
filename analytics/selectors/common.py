"""What the dashboard's reads share: pages, periods, rollup sums."""

import datetime
import math
from dataclasses import dataclass, field

from django.db.models import (
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

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


def page_of(queryset: QuerySet, *, number: int, per_page: int, count: int | None = None) -> Page:
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


def live_rollup_days(model, since: datetime.datetime | None) -> QuerySet:
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


def rollup_totals(row: dict | None) -> dict:
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
