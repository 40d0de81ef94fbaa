"""One-time login links, so a fresh install needs no fixed, published password.

A link carries a token like Django's password-reset tokens: it is bound to the
user's last login, so it stops working once used, and it expires after
PASSWORD_RESET_TIMEOUT.
"""

from django.contrib.auth import get_user_model, login
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.cache import never_cache


class LoginLinkTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "convstore.login_links.LoginLinkTokenGenerator"


login_link_tokens = LoginLinkTokenGenerator()


def login_link_path(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("login-link", args=[uid, login_link_tokens.make_token(user)])


@never_cache
def login_with_link(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, user_model.DoesNotExist):
        user = None
    if user is None or not user.is_active or not login_link_tokens.check_token(user, token):
        return HttpResponse(
            "This login link is invalid, used or expired. Run `make run` or "
            "`manage.py login_link` for a new one.",
            status=403,
            content_type="text/plain",
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("analytics:overview")
