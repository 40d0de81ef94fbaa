"""Throttled logins (django-axes): what a locked-out user sees, and the audit entry."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from convstore import conversations


def cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """The login page again, saying why and for how long; 429 Too Many Requests."""
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "locked_out_minutes": cool_off_minutes(),
    }
    return render(request, "registration/login.html", context, status=429)


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs) -> None:
    conversations.record_login_lockout(
        username=username or "", ip_address=ip_address, cool_off=settings.AXES_COOLOFF_TIME
    )
