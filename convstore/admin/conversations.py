"""Conversations: list, trash actions, and a change page that pages through its rows."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from .. import conversations, queries, transfer
from ..models import (
    MAIN_BRANCH,
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    TurnUsage,
)
from .common import (
    SECTION_PAGE_SIZE,
    BigTableAdmin,
    DeletedAtFilter,
    changelist_url,
    preview,
    reads_text,
)


class TrashFilter(DeletedAtFilter):
    deleted = ("trash", "In the trash")


class HoldFilter(admin.SimpleListFilter):
    title = "legal hold"
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", "On legal hold"), ("no", "Not held")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(held_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(held_at__isnull=True)
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
        "held_at",
    )
    list_select_related = ("deleted_by",)
    list_filter = (TrashFilter, HoldFilter)
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
        "ttl_seconds",
        "held_at",
        "held_by",
        "hold_reason",
        "metadata",
        "copied_from_session_id",
        "copied_from_branch_id",
        "copied_up_to_turn",
        "lists",
    )
    # Only the title is edited here; every other change is a conversations write.
    readonly_fields = tuple(name for name in fields if name != "title")
    actions = (
        "move_to_trash",
        "restore",
        "recompute_structure",
        "export_sqlite",
        "purge",
        "place_hold",
        "lift_hold",
    )
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

    def has_hold_permission(self, request) -> bool:
        return request.user.has_perm(conversations.HOLD_PERMISSION)

    def has_read_content_permission(self, request) -> bool:
        return self.has_view_permission(request) and reads_text(request)

    def changelist_view(self, request, extra_context=None):
        # The export action is left out of the menu without the permission; a
        # POST naming it anyway is refused, not answered with "No action selected".
        exporting = request.method == "POST" and request.POST.get("action") == "export_sqlite"
        if exporting and not self.has_read_content_permission(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

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
        # object_id comes admin-quoted; the sections are built only for a user
        # who may see the conversation, and read without writing anything.
        session = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if session is not None and self.has_view_or_change_permission(request, session):
            context.update(conversation_sections(request, session.pk))
        response = super().change_view(request, object_id, form_url, extra_context=context)
        if context.get("with_text") and response.status_code == 200:
            conversations.record_content_read(
                session_id=session.pk,
                branch_id=context["chosen_branch"],
                actor=request.user,
                kind="admin_conversation",
            )
        return response

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

    @admin.action(description="Download as an Agents SDK SQLite file", permissions=["read_content"])
    def export_sqlite(self, request, queryset) -> HttpResponse | None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            content = transfer.export_sqlite_bytes(ids)
        except transfer.TransferError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        conversations.record_content_reads(
            reads=[(session_id, None) for session_id in ids],
            actor=request.user,
            kind="export_sqlite",
        )
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

    @admin.action(description="Place on legal hold", permissions=["hold"])
    def place_hold(self, request, queryset) -> TemplateResponse | None:
        return self._hold_step(request, queryset, conversations.place_hold, "place_hold")

    @admin.action(description="Lift legal hold", permissions=["hold"])
    def lift_hold(self, request, queryset) -> TemplateResponse | None:
        return self._hold_step(request, queryset, conversations.lift_hold, "lift_hold")

    def _hold_step(self, request, queryset, write, action: str) -> TemplateResponse | None:
        """Ask for the reason; with it, apply the write to each conversation."""
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("confirmed") == "yes" and reason:

            def with_reason(**arguments):
                return write(reason=reason, **arguments)

            done = "Placed on legal hold" if action == "place_hold" else "Legal hold lifted"
            _run_for_each(self, request, queryset, with_reason, done)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Place on legal hold" if action == "place_hold" else "Lift legal hold",
            "action": action,
            "missing_reason": request.POST.get("confirmed") == "yes",
            "opts": self.model._meta,
            "conversations": list(queryset.values("session_id", "title", "held_at")),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/convstore/agentsession/hold_reason.html", context)


def _page(request: HttpRequest, queryset, parameter: str):
    return Paginator(queryset, SECTION_PAGE_SIZE).get_page(request.GET.get(parameter))


def conversation_sections(request: HttpRequest, session_id: str) -> dict:
    """The branches, and one branch's messages and usage a page at a time.

    The items' text previews only for a user who may read message text.
    """
    with_text = reads_text(request)
    item_fields = ["sequence_number", "user_turn_number", "message_type", "tool_name", "message_id"]
    if with_text:
        item_fields.append("message__message_data")
    state = queries.session_state(session_id)
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
        .values(*item_fields),
        "page",
    )
    if with_text:
        for row in items:
            row["preview"] = preview(session_id, row.pop("message__message_data"))
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
        "with_text": with_text,
        "needs_adoption": state["needs_adoption"],
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
