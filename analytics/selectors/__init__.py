"""Reads for the dashboard: across conversations here, one conversation through convstore.queries.

Every function is keyword-only and runs a fixed number of queries whatever the
number of rows: per-row figures come from annotations or one query per page.
Trashed conversations are left out everywhere but trash_list. Named
<thing>_list (rows, or a Page of them) or <thing>_get (one dict, None where
there is no such thing); period_start only turns a period into a date.
"""

from .bulk import chosen_conversation_ids, matching_conversation_ids, trash_count, trash_ids
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
from .conversation import branch_comparison_get, conversation_detail_get
from .listing import agent_name_list, conversation_list, model_name_list
from .overview import (
    agent_mix_list,
    costliest_conversation_list,
    daily_usage_get,
    model_mix_list,
    most_called_tool_list,
    overview_totals_get,
)
from .records import audit_list, last_backup_get, trash_list
from .storage import storage_get

__all__ = [
    "AUDIT_PER_PAGE",
    "CONVERSATIONS_PER_PAGE",
    "DEFAULT_PERIOD",
    "PERIODS",
    "SORTS",
    "TRASH_PER_PAGE",
    "TURNS_PER_PAGE",
    "Page",
    "agent_mix_list",
    "agent_name_list",
    "audit_list",
    "branch_comparison_get",
    "chosen_conversation_ids",
    "conversation_detail_get",
    "conversation_list",
    "costliest_conversation_list",
    "daily_usage_get",
    "last_backup_get",
    "matching_conversation_ids",
    "model_mix_list",
    "model_name_list",
    "most_called_tool_list",
    "overview_totals_get",
    "period_start",
    "storage_get",
    "trash_count",
    "trash_ids",
    "trash_list",
]
