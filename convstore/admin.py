"""Django admin for whoever fixes data.

Every change goes through convstore.conversations, so it is one transaction,
takes the conversation's lock and lands in the audit log with the admin user.
The tables that only follow from others (structure, usage, branches, audit)
are read-only here. Lists stay cheap at 100,000 conversations: no per-row
queries, no full counts, an estimated count for unfiltered huge tables.
"""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from . import conversations, queries, transfer
from . import items as sdk_items
from .models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    ModelPrice,
    TurnUsage,
)

PREVIEW_LENGTH = 100
SECTION_PAGE_SIZE = 50


# --- cheap lists -------------------------------------------------------------


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
    url = reverse("admin:convstore_agentsession_change", args=[session_id])
    return format_html('<a href="{}">{}</a>', url, session_id)


def message_link(message_id: int) -> str:
    url = reverse("admin:convstore_agentmessage_change", args=[message_id])
    return format_html('<a href="{}">{}</a>', url, message_id)


def preview(message_data: str | None) -> str:
    item = sdk_items.decode_item(message_data) if message_data is not None else None
    if item is None:
        return "(not JSON)"
    return Truncator(sdk_items.item_text(item)).chars(PREVIEW_LENGTH)


def changelist_url(model, **filters: Any) -> str:
    url = reverse(f"admin:convstore_{model._meta.model_name}_changelist")
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return f"{url}?{query}" if query else url


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


# --- conversations -----------------------------------------------------------


class TrashFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("trash", "In the trash")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "trash":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


def _run_for_each(modeladmin, request, queryset, write, done: str) -> None:
    """Apply a write-layer function to each selected conversation, reporting failures."""
    succeeded = 0
    for session_id in queryset.values_list("pk", flat=True):
        try:
            write(session_id=session_id, actor=request.user)
        except (conversations.ConversationError, PermissionError) as exc:
            modeladmin.message_user(request, f"Not done for {session_id!r}: {exc}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded} conversation(s).", messages.SUCCESS)


@admin.register(AgentSession)
class AgentSessionAdmin(BigTableAdmin):
    list_display = (
        "session_id",
        "title",
        "updated_at",
        "created_at",
        "active_branch_id",
        "deleted_at",
        "deleted_by",
    )
    list_select_related = ("deleted_by",)
    list_filter = (TrashFilter,)
    search_fields = ("^session_id", "title")
    ordering = ("-updated_at", "session_id")
    fields = (
        "session_id",
        "title",
        "created_at",
        "updated_at",
        "active_branch_id",
        "clear_generation",
        "deleted_at",
        "deleted_by",
        "lists",
    )
    readonly_fields = (
        "session_id",
        "created_at",
        "updated_at",
        "active_branch_id",
        "clear_generation",
        "deleted_at",
        "deleted_by",
        "lists",
    )
    actions = ("move_to_trash", "restore", "recompute_structure", "export_sqlite", "purge")
    formfield_overrides = {models.TextField: {"widget": forms.TextInput(attrs={"size": 80})}}
    change_form_template = "admin/convstore/agentsession/change_form.html"

    def has_add_permission(self, request, obj=None) -> bool:
        # Conversations come from agents and imports, not from a form.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting is the trash, then purge: both are actions.
        return False

    def has_purge_permission(self, request) -> bool:
        return request.user.has_perm(conversations.PURGE_PERMISSION)

    @admin.display(description="All rows")
    def lists(self, obj: AgentSession) -> str:
        links = [
            ("Messages", changelist_url(AgentMessage, session_id=obj.pk)),
            ("Structure", changelist_url(MessageStructure, session_id=obj.pk)),
            ("Usage per turn", changelist_url(TurnUsage, session_id=obj.pk)),
            ("Branches", changelist_url(Branch, session_id=obj.pk)),
            ("Audit log", changelist_url(AuditEntry, session_id=obj.pk)),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', ((url, text) for text, url in links))

    def save_model(self, request, obj, form, change) -> None:
        if "title" in form.changed_data:
            conversations.set_title(session_id=obj.pk, title=obj.title, actor=request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {**(extra_context or {}), **conversation_sections(request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.action(description="Move to trash", permissions=["change"])
    def move_to_trash(self, request, queryset) -> None:
        _run_for_each(self, request, queryset, conversations.trash, "Moved to the trash")

    @admin.action(description="Restore from trash", permissions=["change"])
    def restore(self, request, queryset) -> None:
        _run_for_each(self, request, queryset, conversations.restore, "Restored")

    @admin.action(description="Recompute structure from messages", permissions=["change"])
    def recompute_structure(self, request, queryset) -> None:
        _run_for_each(
            self, request, queryset, conversations.recompute_structure, "Structure recomputed"
        )

    @admin.action(description="Download as an Agents SDK SQLite file", permissions=["view"])
    def export_sqlite(self, request, queryset) -> HttpResponse | None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            content = transfer.export_sqlite_bytes(ids)
        except transfer.TransferError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        name = f"{ids[0]}.sqlite3" if len(ids) == 1 else "conversations.sqlite3"
        response = HttpResponse(content, content_type="application/vnd.sqlite3")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Purge for good (conversations in the trash)", permissions=["purge"])
    def purge(self, request, queryset) -> TemplateResponse | None:
        if request.POST.get("confirmed") == "yes":
            _run_for_each(self, request, queryset, conversations.purge, "Purged")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Purge conversations for good?",
            "opts": self.model._meta,
            "conversations": list(queryset.values("session_id", "title", "deleted_at")),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/convstore/agentsession/purge_confirmation.html", context
        )


def _page(request: HttpRequest, queryset, parameter: str):
    return Paginator(queryset, SECTION_PAGE_SIZE).get_page(request.GET.get(parameter))


def conversation_sections(request: HttpRequest, session_id: str) -> dict:
    """The branches, and one branch's messages and usage a page at a time."""
    if not AgentSession.objects.filter(pk=session_id).exists():
        return {}
    state = queries.session_state(session_id)
    if state["needs_adoption"]:
        # As DjangoSession does on first use: messages an SDK writer added
        # without structure rows (SQLAlchemySession) take their place on main.
        conversations.adopt_unstructured_messages(session_id=session_id)
    active = state["active_branch_id"]
    branches = queries.branches(session_id, active)
    names = [branch["branch_id"] for branch in branches] or [MAIN_BRANCH]
    chosen = request.GET.get("branch")
    chosen = chosen if chosen in names else active if active in names else names[0]
    records = {
        row["branch_id"]: row
        for row in Branch.objects.filter(session_id=session_id).values(
            "branch_id", "parent_branch_id", "forked_from_turn", "deleted_at"
        )
    }
    for branch in branches:
        record = records.get(branch["branch_id"], {})
        branch["parent_branch_id"] = record.get("parent_branch_id")
        branch["forked_from_turn"] = record.get("forked_from_turn")
    items = _page(
        request,
        MessageStructure.objects.filter(session_id=session_id, branch_id=chosen)
        .order_by("sequence_number")
        .values(
            "sequence_number",
            "user_turn_number",
            "message_type",
            "tool_name",
            "message_id",
            "message__message_data",
        ),
        "page",
    )
    for row in items:
        row["preview"] = preview(row.pop("message__message_data"))
    usage = _page(
        request,
        TurnUsage.objects.filter(session_id=session_id, branch_id=chosen)
        .order_by("user_turn_number")
        .values(
            "user_turn_number",
            "model_name",
            "requests",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost",
        ),
        "usage_page",
    )
    return {
        "conversation_sections": True,
        "branches": branches,
        "reserved_names": sorted(
            name for name, row in records.items() if row["deleted_at"] is not None
        ),
        "chosen_branch": chosen,
        "items_page": items,
        "usage_page": usage,
        "structure_list_url": changelist_url(
            MessageStructure, session_id=session_id, branch_id=chosen
        ),
        "usage_list_url": changelist_url(TurnUsage, session_id=session_id, branch_id=chosen),
    }


# --- messages ----------------------------------------------------------------


class SdkItemField(forms.CharField):
    """An SDK item as indented JSON text; unchanged when it parses to the same item."""

    widget = forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"})

    def prepare_value(self, value):
        try:
            pretty = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
            # A lone surrogate escaped in the text cannot be shown unescaped.
            pretty.encode("utf-8")
        except (TypeError, ValueError):
            return value
        return pretty

    def has_changed(self, initial, data) -> bool:
        try:
            return json.loads(initial) != json.loads(data)
        except (TypeError, ValueError):
            return super().has_changed(initial, data)


class AgentMessageForm(forms.ModelForm):
    message_data = SdkItemField(
        label="Item (JSON)",
        strip=False,
        help_text='A JSON object with a "role" (messages) or a "type" (every other item).',
    )

    class Meta:
        model = AgentMessage
        fields = ("message_data",)

    def clean_message_data(self) -> str:
        text = self.cleaned_data["message_data"]
        try:
            self.item = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON: {exc}") from exc
        try:
            return conversations.check_sdk_item(self.item)
        except sdk_items.InvalidItem as exc:
            raise ValidationError(str(exc)) from exc

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.instance.session.deleted_at is not None:
            raise ValidationError("This conversation is in the trash; restore it first.")
        return cleaned


@admin.register(AgentMessage)
class AgentMessageAdmin(SessionSearchAdmin):
    form = AgentMessageForm
    list_display = ("id", "conversation", "kind", "text", "created_at")
    list_filter = (ConversationFilter,)
    ordering = ("-id",)
    fields = ("conversation", "created_at", "kind", "tool", "places", "message_data")
    readonly_fields = ("conversation", "created_at", "kind", "tool", "places")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("session")

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: AgentMessage) -> str:
        return conversation_link(obj.session_id)

    @admin.display(description="Kind")
    def kind(self, obj: AgentMessage) -> str:
        return sdk_items.message_type(sdk_items.decode_item(obj.message_data))

    @admin.display(description="Tool")
    def tool(self, obj: AgentMessage) -> str:
        return sdk_items.tool_name(sdk_items.decode_item(obj.message_data)) or "—"

    @admin.display(description="Text")
    def text(self, obj: AgentMessage) -> str:
        return preview(obj.message_data)

    @admin.display(description="Place in branches")
    def places(self, obj: AgentMessage) -> str:
        rows = obj.structure.order_by("sequence_number").values_list(
            "branch_id", "sequence_number", "user_turn_number", "message_type", "tool_name"
        )
        return (
            format_html_join(
                "",
                "<div>{} #{} · turn {} · {} {}</div>",
                ((branch, seq, turn, kind, tool or "") for branch, seq, turn, kind, tool in rows),
            )
            or "—"
        )

    def save_model(self, request, obj, form, change) -> None:
        if "message_data" not in form.changed_data:
            return
        try:
            conversations.edit_message(message_id=obj.pk, item=form.item, actor=request.user)
        except (conversations.ConversationError, sdk_items.InvalidItem) as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)


# --- rows that follow from others: read-only ---------------------------------


@admin.register(MessageStructure)
class MessageStructureAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "conversation",
        "branch_id",
        "sequence_number",
        "user_turn_number",
        "branch_turn_number",
        "message_type",
        "tool_name",
        "item",
        "text",
    )
    list_select_related = ("message",)
    list_filter = (ConversationFilter, BranchFilter, MessageTypeFilter)
    # idx_structure_branch_seq serves this order.
    ordering = ("session_id", "branch_id", "sequence_number")

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: MessageStructure) -> str:
        return conversation_link(obj.session_id)

    @admin.display(description="Message")
    def item(self, obj: MessageStructure) -> str:
        return message_link(obj.message_id)

    @admin.display(description="Text")
    def text(self, obj: MessageStructure) -> str:
        return preview(obj.message.message_data)


@admin.register(TurnUsage)
class TurnUsageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "conversation",
        "branch_id",
        "user_turn_number",
        "model_name",
        "requests",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cost",
        "created_at",
    )
    list_filter = (ConversationFilter, BranchFilter, ("created_at", admin.DateFieldListFilter))
    ordering = ("-created_at", "-id")

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: TurnUsage) -> str:
        return conversation_link(obj.session_id)


class BranchStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted (name reserved)")]

    def queryset(self, request, queryset):
        if self.value() in ("live", "deleted"):
            return queryset.filter(deleted_at__isnull=self.value() == "live")
        return queryset


@admin.register(Branch)
class BranchAdmin(ReadOnlyAdmin):
    list_display = (
        "branch_id",
        "conversation",
        "parent_branch_id",
        "forked_from_turn",
        "created_by",
        "created_at",
        "deleted_at",
    )
    list_select_related = ("created_by",)
    list_filter = (ConversationFilter, BranchStatusFilter)
    ordering = ("-created_at", "-id")

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: Branch) -> str:
        return conversation_link(obj.session_id)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "who", "action", "conversation", "branch_id", "short_detail")
    list_select_related = ("actor",)
    list_filter = (ConversationFilter, "action", ("at", admin.DateFieldListFilter))
    ordering = ("-at", "-id")
    fields = ("at", "who", "action", "conversation", "branch_id", "pretty_detail")
    readonly_fields = fields

    @admin.display(description="Who", ordering="actor__username")
    def who(self, obj: AuditEntry) -> str:
        return obj.who

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: AuditEntry) -> str:
        return conversation_link(obj.session_id)

    @admin.display(description="Detail")
    def short_detail(self, obj: AuditEntry) -> str:
        return Truncator(json.dumps(obj.detail, ensure_ascii=False)).chars(PREVIEW_LENGTH)

    @admin.display(description="Detail")
    def pretty_detail(self, obj: AuditEntry) -> str:
        text = json.dumps(obj.detail, indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)


# --- prices ------------------------------------------------------------------


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model_name",
        "effective_from",
        "input_per_million",
        "cached_input_per_million",
        "output_per_million",
    )
    search_fields = ("model_name",)
    ordering = ("model_name", "-effective_from")

    def save_model(self, request, obj, form, change) -> None:
        conversations.save_price(price=obj, actor=request.user)

    def delete_model(self, request, obj) -> None:
        conversations.delete_price(price=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for price in queryset:
            conversations.delete_price(price=price, actor=request.user)
