"""The data lifecycle's views: legal holds and the storage page.

Placing and lifting a hold needs convstore.hold_agentsession and a reason;
the storage page needs what every page needs (views.staff_member).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from convstore import conversations

from . import forms, selectors
from .views import _after_change, _attempt, _conversation_for, _form_errors, staff_member


def _hold_action(request: HttpRequest, session_id: str, write, done: str) -> HttpResponse:
    _conversation_for(request, session_id, conversations.HOLD_PERMISSION)
    branch_id = request.POST.get("branch")
    form = forms.HoldForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after_change(request, session_id, branch_id)
    succeeded, _ = _attempt(
        request, write, session_id=session_id, reason=form.cleaned_data["reason"]
    )
    if succeeded:
        messages.success(request, done)
    return _after_change(request, session_id, branch_id)


@require_POST
@staff_member
def place_hold(request: HttpRequest, session_id: str) -> HttpResponse:
    return _hold_action(
        request,
        session_id,
        conversations.place_hold,
        "On legal hold: it will not be purged, trashed by a policy or trimmed.",
    )


@require_POST
@staff_member
def lift_hold(request: HttpRequest, session_id: str) -> HttpResponse:
    return _hold_action(
        request,
        session_id,
        conversations.lift_hold,
        "Legal hold lifted: the retention policies apply again.",
    )


@require_GET
@staff_member
def storage(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/storage.html", selectors.storage_get())
