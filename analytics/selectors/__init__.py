"""Reads for the dashboard: across conversations here, one conversation through convstore.queries.

Every function is keyword-only and runs a fixed number of queries whatever the
number of rows: per-row figures come from annotations or one query per page.
Trashed conversations are left out everywhere but trash_list.
"""

from .common import (
    AUDIT_PER_PAGE,
    CONVERSATIONS_PER_PAGE,
    DEFAULT_PERIOD,
    PERIODS,
    SORTS,
    TRASH_PER_PAGE,
    TURNS_PER_PAGE,
    Page,
    period_start,
)
from .conversation import branch_comparison_get, conversation_detail
from .listing import conversation_list, model_name_list
from .overview import (
    conversation_top_by_cost,
    model_mix_list,
    overview_totals,
    tool_top_list,
    usage_per_day,
)
from .records import audit_list, trash_list

__all__ = [
    "AUDIT_PER_PAGE",
    "CONVERSATIONS_PER_PAGE",
    "DEFAULT_PERIOD",
    "PERIODS",
    "SORTS",
    "TRASH_PER_PAGE",
    "TURNS_PER_PAGE",
    "Page",
    "audit_list",
    "branch_comparison_get",
    "conversation_detail",
    "conversation_list",
    "conversation_top_by_cost",
    "model_mix_list",
    "model_name_list",
    "overview_totals",
    "period_start",
    "tool_top_list",
    "trash_list",
    "usage_per_day",
]
