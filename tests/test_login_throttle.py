"""Throttled logins: after LOGIN_FAILURE_LIMIT failures for one username or from one
address, logins are refused for the cool-off time, and the lockout is audited once."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from convstore.login_links import login_link_path
from convstore.models import AuditEntry
from tests.test_serve import STRONG_KEY, clean_environment, manage

PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(viewer):
    viewer.set_password(PASSWORD)
    viewer.save()
    return viewer


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, username: str, times: int, address: str = "10.0.0.1") -> list[int]:
    return [log_in(client, username, "wrong", address).status_code for _ in range(times)]


def lockouts() -> list[tuple[str, str, dict]]:
    return list(
        AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_LOCKED).values_list(
            "actor_label", "session_id", "detail"
        )
    )


def test_four_failures_still_let_the_right_password_in(client, staff):
    assert fail(client, "viewer", 4) == [200, 200, 200, 200]
    response = log_in(client, "viewer", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert lockouts() == []


def test_the_fifth_failure_locks_the_user_out_with_a_clear_message(client, staff):
    assert fail(client, "viewer", 5) == [200, 200, 200, 200, 429]
    response = log_in(client, "viewer", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed logins for this account or from this address" in page
    assert "logins are refused for 15 minutes" in page
    assert 'class="card login"' in page  # the styled login page, with its form
    assert 'name="username"' in page


def test_the_lockout_is_audited_once_with_the_username_and_address_and_no_password(client, staff):
    fail(client, "viewer", 5)
    log_in(client, "viewer", PASSWORD)
    fail(client, "viewer", 3)
    assert lockouts() == [("viewer", "", {"ip_address": "10.0.0.1"})]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_LOCKED)
    assert entry.actor is None
    assert entry.get_action_display() == "Login locked out"
    assert "wrong" not in str(entry.detail) and PASSWORD not in str(entry.detail)


def test_one_address_trying_many_usernames_is_locked_out(client, staff):
    for name in ["alice", "bob", "carol", "dave"]:
        assert fail(client, name, 1) == [200]
    assert fail(client, "erin", 1) == [429]
    # The right password for another user, from that address, is refused too.
    assert log_in(client, "viewer", PASSWORD).status_code == 429
    # From another address, that user logs in.
    assert log_in(Client(), "viewer", PASSWORD, address="10.0.0.2").status_code == 302


def test_one_username_tried_from_many_addresses_is_locked_out(client, staff):
    for number in range(5):
        fail(Client(), "viewer", 1, address=f"10.0.1.{number}")
    assert log_in(client, "viewer", PASSWORD, address="10.0.2.1").status_code == 429


def test_after_the_cool_off_the_user_logs_in(client, staff):
    fail(client, "viewer", 5)
    # Fifteen minutes pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "viewer", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, staff):
    for _ in range(5):
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": "viewer", "password": "wrong", "next": "/admin/"},
            REMOTE_ADDR="10.0.0.9",
        )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


def test_a_one_time_login_link_still_works(client, staff):
    response = client.get(login_link_path(staff))
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_one_time_login_link_works_while_password_logins_are_locked(client, staff):
    """The link is a credential of its own, made by an administrator: the way back in."""
    fail(client, "viewer", 5)
    response = Client().get(login_link_path(staff), REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("variable", ["LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES"])
def test_the_limits_come_from_the_environment(variable):
    env = clean_environment(SECRET_KEY=STRONG_KEY, **{variable: "0"})
    result = manage("check", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Configuration error: {variable} must be a whole number of at least 1, not '0'"
    )


def test_tries_during_the_lockout_do_not_extend_it(client, staff):
    fail(client, "viewer", 5)
    started = sorted(AccessAttempt.objects.values_list("attempt_time", flat=True))
    assert fail(client, "viewer", 2) == [429, 429]
    assert sorted(AccessAttempt.objects.values_list("attempt_time", flat=True)) == started
