"""Rows that follow from others (structure, usage, branches, audit): read-only."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from ..models import (
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from .common import (
    PREVIEW_LENGTH,
    BranchFilter,
    ConversationFilter,
    DeletedAtFilter,
    MessageTypeFilter,
    ReadOnlyAdmin,
    conversation_link,
    message_link,
    preview,
    reads_text,
    record_list_reads,
    without_text_column,
)


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
        return preview(obj.session_id, obj.message.message_data)

    def get_list_display(self, request):
        return without_text_column(request, super().get_list_display(request))

    def get_list_select_related(self, request):
        # The message is joined only for its text.
        return super().get_list_select_related(request) if reads_text(request) else ()

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        record_list_reads(request, response, lambda row: (row.session_id, row.branch_id))
        return response


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


class BranchStatusFilter(DeletedAtFilter):
    deleted = ("deleted", "Deleted (name reserved)")


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

    def get_list_display(self, request):
        return self._swap_detail(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._swap_detail(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return self._swap_detail(request, super().get_readonly_fields(request, obj))

    @staticmethod
    def _swap_detail(request, names) -> tuple[str, ...]:
        """For a user who may not read text, the detail columns that leave it out."""
        if reads_text(request):
            return tuple(names)
        swapped = {
            "short_detail": "short_detail_without_text",
            "pretty_detail": "pretty_detail_without_text",
        }
        return tuple(swapped.get(name, name) for name in names)

    @admin.display(description="Detail")
    def short_detail(self, obj: AuditEntry) -> str:
        return _short(obj.detail)

    @admin.display(description="Detail")
    def short_detail_without_text(self, obj: AuditEntry) -> str:
        return _short(obj.detail_without_text())

    @admin.display(description="Detail")
    def pretty_detail(self, obj: AuditEntry) -> str:
        return _pretty(obj.detail)

    @admin.display(description="Detail")
    def pretty_detail_without_text(self, obj: AuditEntry) -> str:
        return _pretty(obj.detail_without_text())


def _short(detail) -> str:
    return Truncator(json.dumps(detail, ensure_ascii=False)).chars(PREVIEW_LENGTH)


def _pretty(detail) -> str:
    text = json.dumps(detail, indent=2, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)
