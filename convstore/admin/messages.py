"""Messages: editing message_data keeps it an SDK item and re-derives its structure.

message_data is message text: a user without convstore.view_content gets the
list without its previews and 403 on a message's page; every page shown to a
user with it is audited.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html_join

from .. import conversations, encryption
from .. import items as sdk_items
from ..models import (
    AgentMessage,
    MessageStructure,
)
from .common import (
    ConversationFilter,
    SessionSearchAdmin,
    conversation_link,
    preview,
    reads_text,
    record_list_reads,
    without_text_column,
)


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.message_data
        if self.instance.pk and encryption.is_envelope(sdk_items.decode_item(stored)):
            # Edited as the item it holds; the write layer seals it again.
            try:
                item = encryption.open_message(self.instance.session_id, stored)
            except encryption.UnreadableItem as exc:
                self.fields["message_data"].disabled = True
                self.fields["message_data"].help_text = str(exc)
            else:
                self.initial["message_data"] = json.dumps(item)

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

    def get_list_display(self, request):
        return without_text_column(request, super().get_list_display(request))

    def get_list_display_links(self, request, list_display):
        # No links to a page that would refuse the user.
        return (
            super().get_list_display_links(request, list_display) if reads_text(request) else None
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        record_list_reads(request, response, lambda message: (message.session_id, None))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The form is message_data: refused outright rather than shown without it.
        if not reads_text(request):
            raise PermissionDenied
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and "original" in (response.context_data or {}):
            self._record_read(request, response.context_data["original"])
        return response

    def _record_read(self, request, message: AgentMessage) -> None:
        # The branch the message was first written to; a fork's copies share the row.
        branch_id = (
            MessageStructure.objects.filter(message_id=message.pk)
            .order_by("id")
            .values_list("branch_id", flat=True)
            .first()
        )
        conversations.record_content_read(
            session_id=message.session_id,
            branch_id=branch_id,
            actor=request.user,
            kind="admin_message",
            message_id=message.pk,
        )

    @admin.display(description="Conversation", ordering="session_id")
    def conversation(self, obj: AgentMessage) -> str:
        return conversation_link(obj.session_id)

    @admin.display(description="Kind")
    def kind(self, obj: AgentMessage) -> str:
        return sdk_items.message_type(
            encryption.item_for_structure(obj.session_id, obj.message_data)
        )

    @admin.display(description="Tool")
    def tool(self, obj: AgentMessage) -> str:
        return (
            sdk_items.tool_name(encryption.item_for_structure(obj.session_id, obj.message_data))
            or "—"
        )

    @admin.display(description="Text")
    def text(self, obj: AgentMessage) -> str:
        return preview(obj.session_id, obj.message_data)

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
