import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


def printed_link_path(username: str = "admin") -> str:
    out = StringIO()
    call_command("login_link", username=username, stdout=out)
    return re.search(r"http://127\.0\.0\.1:8000(/login/link/\S+/)", out.getvalue()).group(1)


@pytest.mark.django_db
def test_login_link_creates_a_superuser_without_a_usable_password():
    printed_link_path("ops")
    user = get_user_model().objects.get(username="ops")
    assert user.is_staff and user.is_superuser
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_login_link_logs_in_once(client):
    path = printed_link_path()
    response = client.get(path)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get().pk)

    client.logout()
    assert client.get(path).status_code == 403


@pytest.mark.django_db
def test_a_forged_login_link_is_refused(client):
    path = printed_link_path()
    forged = path.rstrip("/")[:-3] + "abc/"
    assert client.get(forged).status_code == 403
    assert "_auth_user_id" not in client.session
