"""Shared pieces: cheap paginators and lists for big tables, links, filters."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.paginator import Paginator
from django.db import connections
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator

from .. import conversations, queries
from .. import items as sdk_items
from ..models import (
    MessageStructure,
)

PREVIEW_LENGTH = 100
SECTION_PAGE_SIZE = 50


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered big table from PostgreSQL's statistics, not COUNT(*).

    COUNT(*) reads the whole table on PostgreSQL; the planner's estimate is
    free and good enough for a page count. Filtered lists, small tables and
    SQLite get the exact count.
    """

    ESTIMATE_FROM = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            # -1 means never analysed.
            if row and row[0] >= self.ESTIMATE_FROM:
                return row[0]
        return super().count


class BigTableAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts run a COUNT per filter choice over the table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100


class SessionSearchAdmin(BigTableAdmin):
    """Search by conversation id, exactly: the one search the session_id indexes serve."""

    search_fields = ("session_id",)
    search_help_text = "A conversation id, exactly."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(session_id=term) if term else queryset), False


class ReadOnlyAdmin(SessionSearchAdmin):
    """Rows that follow from others: changed only through the write layer."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def conversation_link(session_id: str | None) -> str:
    if not session_id:
        return "—"
    url = reverse("admin:convstore_agentsession_change", args=[quote(session_id)])
    return format_html('<a href="{}">{}</a>', url, session_id)


def message_link(message_id: int) -> str:
    url = reverse("admin:convstore_agentmessage_change", args=[message_id])
    return format_html('<a href="{}">{}</a>', url, message_id)


def reads_text(request) -> bool:
    """May this admin user see message text (message_data and its previews)?"""
    return request.user.has_perm(conversations.CONTENT_PERMISSION)


def without_text_column(request, columns: tuple[str, ...]) -> tuple[str, ...]:
    """A list's columns, without its "text" previews for a user who may not read text."""
    return columns if reads_text(request) else tuple(c for c in columns if c != "text")


def record_list_reads(request, response, place, *, kind: str = "admin_list") -> None:
    """Audit the previews of a list page as a read of each (conversation, branch) it showed.

    place: a row's (session_id, branch_id or None).
    """
    changelist = getattr(response, "context_data", None) or {}
    if "cl" not in changelist or not reads_text(request):
        return
    conversations.record_content_reads(
        reads=[place(row) for row in changelist["cl"].result_list],
        actor=request.user,
        kind=kind,
    )


def preview(session_id: str, message_data: str | None) -> str:
    item = queries.shown_item(session_id, message_data)
    if item is queries.UNREADABLE:
        return queries.UNREADABLE_TEXT
    if item is None:
        return "(not JSON)"
    return Truncator(sdk_items.item_text(item)).chars(PREVIEW_LENGTH)


def changelist_url(model, **filters: Any) -> str:
    url = reverse(f"admin:convstore_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


class ConversationFilter(admin.SimpleListFilter):
    """Rows of one conversation, chosen by a link (listing 100,000 choices would not do)."""

    title = "conversation"
    parameter_name = "session_id"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        return queryset.filter(session_id=self.value()) if self.value() else queryset


class BranchFilter(admin.SimpleListFilter):
    """The branches of the chosen conversation."""

    title = "branch"
    parameter_name = "branch_id"

    def lookups(self, request, model_admin):
        session_id = request.GET.get(ConversationFilter.parameter_name)
        if session_id:
            names = (
                MessageStructure.objects.filter(session_id=session_id)
                .order_by("branch_id")
                .values_list("branch_id", flat=True)
                .distinct()
            )
            return [(name, name) for name in names]
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        return queryset.filter(branch_id=self.value()) if self.value() else queryset


class MessageTypeFilter(admin.SimpleListFilter):
    """Common item kinds, listed without scanning the table for its distinct values."""

    title = "kind"
    parameter_name = "message_type"
    KINDS = (
        "user",
        "assistant",
        "function_call",
        "function_call_output",
        "reasoning",
        *sorted(set(sdk_items.TOOL_CALL_TYPES) - {"function_call"}),
    )

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in self.KINDS]

    def queryset(self, request, queryset):
        return queryset.filter(message_type=self.value()) if self.value() else queryset


class DeletedAtFilter(admin.SimpleListFilter):
    """Live rows (no deleted_at) or the others, which `deleted` names as (value, label)."""

    title = "status"
    parameter_name = "status"
    deleted = ("deleted", "Deleted")

    def lookups(self, request, model_admin):
        return [("live", "Live"), self.deleted]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == self.deleted[0]:
            return queryset.filter(deleted_at__isnull=False)
        return queryset
