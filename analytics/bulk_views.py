"""Bulk actions of the conversation list and the Trash: a confirm step, then the action.

A bulk POST names its action, its scope (the rows "selected" on the page, or
every conversation "matching" the filter the page shows) and the page's filter.
Without confirmed=1 it answers with the confirm step, which shows how many
conversations the action is about; with it, it acts and goes back to the page.

| action                         | needs, on top of the dashboard's view permission |
| ------------------------------ | ------------------------------------------------ |
| any bulk action                | convstore.change_agentsession                    |
| move to trash, restore         | (that)                                           |
| purge                          | convstore.purge_agentsession                     |
| export (JSON lines, SDK file)  | convstore.view_content                           |
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from convstore import conversations, transfer

from . import forms, selectors
from .views import (
    CHANGE_PERMISSION,
    CONTENT_PERMISSION,
    PURGE_PERMISSION,
    _form_errors,
    _page_template,
    _reads_text,
    _require,
    staff_member,
)

BULK_PERMISSIONS = {
    "trash": CHANGE_PERMISSION,
    "restore": CHANGE_PERMISSION,
    "purge": PURGE_PERMISSION,
    "export_jsonl": CONTENT_PERMISSION,
    "export_sqlite": CONTENT_PERMISSION,
}
EXPORTS = {
    "export_jsonl": ("jsonl", "application/x-ndjson; charset=utf-8"),
    "export_sqlite": ("sqlite3", "application/vnd.sqlite3"),
}
DONE = {"trash": "Moved to the trash", "restore": "Restored", "purge": "Purged for good"}
# The list's filter fields a bulk form carries, and those that also place the page.
FILTER_FIELDS = ("q", "period", "branched", "model")
PAGE_FIELDS = ("sort", "page")
# Conversations named on the confirm step and in a message of skipped ones.
SHOWN_IDS = 10


def _list_filter(request: HttpRequest) -> tuple[dict, dict] | None:
    """The list's filter the form carries: (what it names, the selector's filters); None if bad."""
    form = forms.ConversationFilterForm(request.POST, model_names=selectors.model_name_list())
    if not form.is_valid():
        _form_errors(request, form)
        return None
    named = {name: form.cleaned_data[name] for name in FILTER_FIELDS if form.cleaned_data[name]}
    filters = {k: v for k, v in form.filters().items() if k not in PAGE_FIELDS}
    return named, filters


def _targets(request: HttpRequest, place: str, scope: str, ids: list[str]):
    """(the filter to record, the conversations' ids); None when the filter is refused."""
    in_trash = place == "trash"
    if in_trash:
        named, filters = {"in_trash": True}, None
    else:
        found = _list_filter(request)
        if found is None:
            return None
        named, filters = found
    if scope == "selected":
        return named, selectors.chosen_conversation_ids(ids=ids, in_trash=in_trash)
    if in_trash:
        return named, selectors.trash_ids()
    return named, selectors.matching_conversation_ids(**filters, search_text=_reads_text(request))


def _back_url(request: HttpRequest, place: str) -> str:
    if place == "trash":
        return reverse("analytics:trash")
    kept = [(name, request.POST.get(name, "")) for name in FILTER_FIELDS + PAGE_FIELDS]
    query = urlencode([(name, value) for name, value in kept if value])
    url = reverse("analytics:conversations")
    return f"{url}?{query}" if query else url


def _back(request: HttpRequest, place: str) -> HttpResponse:
    url = _back_url(request, place)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _report(request: HttpRequest, outcome: conversations.BulkOutcome) -> None:
    done = len(outcome.done)
    noun = "conversation" if done == 1 else "conversations"
    messages.success(request, f"{DONE[outcome.action]}: {done:,} {noun}.")
    if outcome.skipped:
        shown = "; ".join(why for _id, why in outcome.skipped[:SHOWN_IDS])
        more = len(outcome.skipped) - SHOWN_IDS
        tail = f"; and {more:,} more" if more > 0 else ""
        messages.warning(request, f"Skipped {len(outcome.skipped):,}: {shown}{tail}.")


def _export(request: HttpRequest, place: str, bulk: dict, ids: list[str]) -> HttpResponse:
    action = bulk["action"]
    if action == "export_jsonl":
        content = "".join(transfer.export_jsonl_lines(ids)).encode()
    else:
        try:
            content = transfer.export_sqlite_bytes(ids)
        except transfer.TransferError as exc:
            messages.error(request, str(exc))
            return _back(request, place)
    conversations.record_bulk_export(bulk=bulk, session_ids=ids, actor=request.user, kind=action)
    suffix, content_type = EXPORTS[action]
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="conversations.{suffix}"'
    return response


def _confirm(
    request: HttpRequest, place: str, form: forms.BulkForm, bulk: dict, ids: list[str]
) -> HttpResponse:
    context = {
        "place": place,
        "action": bulk["action"],
        "action_label": form.action_label(),
        "scope": bulk["scope"],
        "count": len(ids),
        "shown_ids": ids[:SHOWN_IDS],
        "more": max(0, len(ids) - SHOWN_IDS),
        "chosen_ids": ids if bulk["scope"] == "selected" else [],
        "filter_fields": [
            (name, request.POST[name])
            for name in FILTER_FIELDS + PAGE_FIELDS
            if request.POST.get(name)
        ],
        "back_url": _back_url(request, place),
        "post_url": reverse(f"analytics:bulk_{place}"),
        "target": "trash" if place == "trash" else "results",
        "is_export": bulk["action"] in EXPORTS,
    }
    template = _page_template(request, "analytics/bulk_confirm.html", "confirm")
    return render(request, template, context)


@require_POST
@staff_member
def bulk(request: HttpRequest, place: str) -> HttpResponse:
    _require(request, CHANGE_PERMISSION)
    form = forms.BulkForm(request.POST, place=place)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, place)
    action, scope = form.cleaned_data["action"], form.cleaned_data["scope"]
    _require(request, BULK_PERMISSIONS[action])
    targets = _targets(request, place, scope, form.cleaned_data["ids"])
    if targets is None:
        return _back(request, place)
    named_filter, ids = targets
    if not ids:
        messages.error(request, "No conversation chosen: tick some rows, or choose all matching.")
        return _back(request, place)
    bulk = conversations.new_bulk(action=action, scope=scope, filter=named_filter)
    if not form.cleaned_data["confirmed"]:
        return _confirm(request, place, form, bulk, ids)
    if action in EXPORTS:
        return _export(request, place, bulk, ids)
    outcome = conversations.bulk_apply(bulk=bulk, session_ids=ids, actor=request.user)
    _report(request, outcome)
    return _back(request, place)
