"""The dashboard's views: parse the request, call a selector or a write, pick a template.

Who may do what (checked here, never only in a template):

| action                                          | needs                                   |
| ----------------------------------------------- | --------------------------------------- |
| every page, export, the live "changed" check    | is_staff and convstore.view_agentsession |
|                                                 | (or convstore.change_agentsession)      |
| branch from a turn, make active, delete branch, | convstore.change_agentsession           |
| move to trash, restore, re-price usage          |                                         |
| purge                                           | convstore.purge_agentsession            |
| place and lift a legal hold (retention_views)   | convstore.hold_agentsession             |
| message text: in the transcript, the compare    | convstore.view_content                  |
| page, the search, the audit details; exports    |                                         |

Without view_content a page shows every figure and no text: the selectors are
asked for none, and an export is refused (403). Anonymous users are sent to the
login page; logged-in users without these permissions get 403, and so does a
POST that lacks the action's permission. Every read of text is audited
(conversations.record_content_read).
"""

import csv
import io
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url, trigger_client_event

from convstore import conversations, encryption, queries
from convstore.models import AgentSession

from . import forms, selectors

VIEW_PERMISSIONS = ("convstore.view_agentsession", "convstore.change_agentsession")
CHANGE_PERMISSION = "convstore.change_agentsession"
PURGE_PERMISSION = conversations.PURGE_PERMISSION
CONTENT_PERMISSION = conversations.CONTENT_PERMISSION
BULK_FILTER_FIELDS = ("q", "period", "branched", "model", "held", "agent", "meta", "sort")


def staff_member(view: Callable) -> Callable:
    """Logged in (else to the login page), staff and allowed to view conversations (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_staff or not any(user.has_perm(perm) for perm in VIEW_PERMISSIONS):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _partial(request: HttpRequest) -> bool:
    """An htmx swap wants the fragment; htmx restoring history wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _page_template(request: HttpRequest, template: str, fragment: str) -> str:
    return f"{template}#{fragment}" if _partial(request) else template


def _reads_text(request: HttpRequest) -> bool:
    return request.user.has_perm(CONTENT_PERMISSION)


def _abilities(request: HttpRequest) -> dict:
    return {
        "can_edit": request.user.has_perm(CHANGE_PERMISSION),
        "can_purge": request.user.has_perm(PURGE_PERMISSION),
        "can_hold": request.user.has_perm(conversations.HOLD_PERMISSION),
        "can_export": request.user.has_perm(CONTENT_PERMISSION),
    }


def _record_read(request: HttpRequest, session_id: str, branch_id: str | None, kind: str) -> None:
    conversations.record_content_read(
        session_id=session_id, branch_id=branch_id, actor=request.user, kind=kind
    )


# --- overview and list -----------------------------------------------------------


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def overview(request: HttpRequest) -> HttpResponse:
    period = forms.PeriodForm(request.GET).values()["period"]
    since = selectors.period_start(period=period)
    context = {
        "period": period,
        "periods": forms.PERIOD_CHOICES,
        "totals": selectors.overview_totals_get(since=since),
        "daily": selectors.daily_usage_get(since=since),
        "top_conversations": selectors.costliest_conversation_list(since=since),
        "top_tools": selectors.most_called_tool_list(since=since),
        "models": selectors.model_mix_list(since=since),
        "agents": selectors.agent_mix_list(since=since),
    }
    return render(request, _page_template(request, "analytics/overview.html", "content"), context)


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def conversation_list(request: HttpRequest) -> HttpResponse:
    form = forms.ConversationFilterForm(
        request.GET,
        model_names=selectors.model_name_list(),
        agent_names=selectors.agent_name_list(),
    )
    search_text = _reads_text(request)
    page = None
    if form.is_valid():
        page = selectors.conversation_list(**form.filters(), search_text=search_text)
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    context = {
        "form": form,
        "page": page,
        "totals": page and page.extra["totals"],
        "query": query,
        "search_text": search_text,
        "encrypted": encryption.enabled(),
        # What a bulk action's form carries along: the filter that "all matching" means.
        "bulk_filter": {k: v for k, v in query.items() if k in BULK_FILTER_FIELDS},
        **_abilities(request),
    }
    return render(
        request, _page_template(request, "analytics/conversations.html", "results"), context
    )


# --- one conversation ----------------------------------------------------------------


def conversation_url(session_id: str, branch_id: str | None = None, page: int | None = None) -> str:
    url = reverse("analytics:conversation", args=[session_id])
    query = {key: value for key, value in (("branch", branch_id), ("page", page)) if value}
    return f"{url}?{urlencode(query)}" if query else url


def _render_conversation(
    request: HttpRequest, session_id: str, branch_id: str | None, page: int | None
) -> HttpResponse:
    session = get_object_or_404(AgentSession, pk=session_id)
    with_text = _reads_text(request)
    detail = selectors.conversation_detail_get(
        session=session,
        branch_id=branch_id or session.active_branch_id,
        page=page,
        with_text=with_text,
    )
    if detail is None:
        raise Http404("This conversation has no such branch")
    if with_text:
        _record_read(request, session.pk, detail["branch_id"], "transcript")
    context = {
        **detail,
        **_abilities(request),
        "self_url": conversation_url(session.pk, branch_id, page),
    }
    return render(request, _page_template(request, "analytics/conversation.html", "body"), context)


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def conversation(request: HttpRequest, session_id: str) -> HttpResponse:
    page = forms.PageForm(request.GET).values()["page"]
    return _render_conversation(request, session_id, request.GET.get("branch"), page)


@require_GET
@staff_member
def conversation_changed(request: HttpRequest, session_id: str) -> HttpResponse:
    """The live check the conversation page polls: 204, with an event when anything changed."""
    version = queries.conversation_version(session_id)
    if version is None:
        return HttpResponseStopPolling()
    response = HttpResponse(status=204)
    if version != request.GET.get("version"):
        trigger_client_event(response, "conversation-changed")
    return response


def _after_change(request: HttpRequest, session_id: str, branch_id: str | None) -> HttpResponse:
    """The conversation as it now is: swapped in for htmx, a redirect (PRG) otherwise.

    A branch that is not there (deleted, or never was) gives way to the active
    one, so an action's message is shown where the user is, not on a 404.
    """
    if branch_id and not queries.branch_exists(session_id, branch_id):
        branch_id = None
    url = conversation_url(session_id, branch_id)
    if not request.htmx:
        return redirect(url)
    return push_url(_render_conversation(request, session_id, branch_id, None), url)


def _conversation_for(request: HttpRequest, session_id: str, permission: str) -> AgentSession:
    """The conversation an action is about: 403 without the permission, 404 if it is not there."""
    _require(request, permission)
    return get_object_or_404(AgentSession, pk=session_id)


def _attempt(request: HttpRequest, write: Callable, **arguments) -> tuple[bool, Any]:
    """Run a conversations write as the user; (done, its result), with any refusal as a message."""
    try:
        return True, write(actor=request.user, **arguments)
    except conversations.ConversationError as exc:
        messages.error(request, str(exc))
        return False, None


def _form_errors(request: HttpRequest, form: Form) -> None:
    for name, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{form[name].label}: {error}")


@require_POST
@staff_member
def fork(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    form = forms.ForkForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after_change(request, session_id, request.POST.get("branch"))
    source, turn = form.cleaned_data["branch"], form.cleaned_data["turn"]
    try:
        position = conversations.check_branch(session_id=session_id, branch_id=source)
    except conversations.ConversationError as exc:
        messages.error(request, str(exc))
        return _after_change(request, session_id, None)
    done, forked = _attempt(
        request,
        conversations.fork,
        session_id=session_id,
        turn_number=turn,
        branch_name=form.cleaned_data["name"] or None,
        position=position,
    )
    if not done:
        return _after_change(request, session_id, source)
    name = forked[0]
    messages.success(request, f"Branch “{name}” created from turn {turn}.")
    return _after_change(request, session_id, name)


@require_POST
@staff_member
def copy_conversation(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    form = forms.CopyForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after_change(request, session_id, request.POST.get("branch"))
    source, new_id = form.cleaned_data["branch"], form.cleaned_data["new_id"]
    done, _items = _attempt(
        request,
        conversations.copy_conversation,
        session_id=session_id,
        new_session_id=new_id,
        branch_id=source,
        up_to_turn=form.cleaned_data["up_to_turn"],
    )
    if not done:
        return _after_change(request, session_id, source)
    messages.success(request, f"Copied branch “{source}” as conversation “{new_id}”.")
    return _after_change(request, new_id, None)


def _posted_branch(request: HttpRequest) -> str:
    form = forms.BranchForm(request.POST)
    if not form.is_valid():
        raise BadRequest("No branch given")
    return form.cleaned_data["branch"]


@require_POST
@staff_member
def make_active(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    branch_id = _posted_branch(request)
    done, _ = _attempt(
        request, conversations.set_active_branch, session_id=session_id, branch_id=branch_id
    )
    if done:
        messages.success(
            request, f"“{branch_id}” is now the active branch: the agent continues there."
        )
    return _after_change(request, session_id, branch_id)


@require_POST
@staff_member
def delete_branch(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    branch_id = _posted_branch(request)
    done, _ = _attempt(
        request, conversations.delete_branch, session_id=session_id, branch_id=branch_id
    )
    if done:
        messages.success(request, f"Branch “{branch_id}” deleted.")
    return _after_change(request, session_id, None if done else branch_id)


@require_POST
@staff_member
def trash(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    done, _ = _attempt(request, conversations.trash, session_id=session_id)
    if done:
        messages.success(request, "Moved to the trash. Restore brings it back as it was.")
    return _after_change(request, session_id, request.POST.get("branch"))


def _back_to_trash(request: HttpRequest) -> HttpResponse:
    if not request.htmx:
        return redirect("analytics:trash")
    return push_url(_render_trash(request, page=None), reverse("analytics:trash"))


@require_POST
@staff_member
def restore(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    done, _ = _attempt(request, conversations.restore, session_id=session_id)
    if done:
        messages.success(request, f"Restored “{session_id}”.")
    if request.POST.get("from") == "trash":
        return _back_to_trash(request)
    return _after_change(request, session_id, None)


@require_POST
@staff_member
def purge(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, PURGE_PERMISSION)
    done, _ = _attempt(request, conversations.purge, session_id=session_id)
    if done:
        messages.success(request, f"Purged “{session_id}” for good.")
    return _back_to_trash(request)


@require_POST
@staff_member
def reprice(request: HttpRequest, session_id: str) -> HttpResponse:
    _conversation_for(request, session_id, CHANGE_PERMISSION)
    done, changed = _attempt(request, conversations.reprice_usage, session_id=session_id)
    if done:
        messages.success(request, f"Re-priced from the price table: {changed} turn(s) changed.")
    return _after_change(request, session_id, request.POST.get("branch"))


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def compare(request: HttpRequest, session_id: str) -> HttpResponse:
    session = get_object_or_404(AgentSession, pk=session_id)
    chosen = forms.CompareForm(request.GET).values()
    branch_a = chosen["a"] or session.active_branch_id
    branch_b = chosen["b"] or None
    with_text = _reads_text(request)
    comparison = selectors.branch_comparison_get(
        session=session, branch_a=branch_a, branch_b=branch_b, with_text=with_text
    )
    if comparison is None:
        raise Http404("This conversation has no such branch")
    if with_text:
        shown = [
            (session.pk, comparison["a"]["branch_id"]),
            (session.pk, comparison["b"]["branch_id"]),
        ]
        conversations.record_content_reads(reads=shown, actor=request.user, kind="compare")
    return render(request, _page_template(request, "analytics/compare.html", "table"), comparison)


EXPORT_COLUMNS = ["record", "turn", "sequence_number", "message_type", "tool_name", "text"]
EXPORT_USAGE_COLUMNS = [*queries.USAGE_COUNTS, "model_name", "cost"]


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str | int:
    """A cell as a spreadsheet shows it, never as a formula (OWASP's CSV injection advice)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _export_csv(data: dict) -> str:
    """Items, then one usage row per turn; "record" says which a row is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS + EXPORT_USAGE_COLUMNS)
    for row in data["items"]:
        view = queries.item_view(row["item"], row["message_type"], row["tool_name"])
        text = view["text"] or view["detail"]
        cells = [row["user_turn_number"], row["sequence_number"], row["message_type"]]
        cells += [row["tool_name"], text] + [None] * len(EXPORT_USAGE_COLUMNS)
        writer.writerow(["item", *map(_csv_cell, cells)])
    for usage in data["usage"]:
        cells = [usage["turn"], None, None, None, None] + [
            usage[key] for key in EXPORT_USAGE_COLUMNS
        ]
        writer.writerow(["usage", *map(_csv_cell, cells)])
    return out.getvalue()


@require_GET
@staff_member
def export(request: HttpRequest, session_id: str, fmt: str) -> HttpResponse:
    _require(request, CONTENT_PERMISSION)
    session = get_object_or_404(AgentSession, pk=session_id)
    branch_id = request.GET.get("branch") or session.active_branch_id
    if not queries.branch_exists(session.pk, branch_id):
        raise Http404("This conversation has no such branch")
    data = {
        "session_id": session.pk,
        "title": session.title,
        "branch_id": branch_id,
        **queries.branch_export(session.pk, branch_id),
    }
    filename = slugify(f"{session.pk}-{branch_id}") or "conversation"
    if fmt == "json":
        body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(_export_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    _record_read(request, session.pk, branch_id, f"export_{fmt}")
    return response


# --- trash and audit -------------------------------------------------------------------


def _render_trash(request: HttpRequest, page: int | None) -> HttpResponse:
    context = {"page": selectors.trash_list(page=page or 1), **_abilities(request)}
    if context["can_edit"]:
        context["trash_count"] = selectors.trash_count()
    return render(request, _page_template(request, "analytics/trash.html", "list"), context)


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def trash_list(request: HttpRequest) -> HttpResponse:
    return _render_trash(request, forms.PageForm(request.GET).values()["page"])


@require_GET
@staff_member
@vary_on_headers("HX-Request")
def audit(request: HttpRequest) -> HttpResponse:
    form = forms.AuditFilterForm(request.GET)
    with_text = _reads_text(request)
    page = selectors.audit_list(**form.values(), with_text=with_text) if form.is_valid() else None
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        _page_template(request, "analytics/audit.html", "entries"),
        {"form": form, "page": page, "query": query},
    )
