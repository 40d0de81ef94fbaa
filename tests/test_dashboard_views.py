"""The dashboard through the test client: who may see and do what, CSRF, 404s, htmx fragments."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from convstore.models import AgentSession, AuditEntry, Branch
from tests import dashboard_data as data
from tests.dashboard_data import client_for

pytestmark = pytest.mark.django_db


def page_urls(session_id: str) -> dict[str, str]:
    conversation = reverse("analytics:conversation", args=[session_id])
    return {
        "overview": reverse("analytics:overview"),
        "conversations": reverse("analytics:conversations"),
        "conversation": conversation,
        "branch": f"{conversation}?branch=retry",
        "compare": reverse("analytics:compare", args=[session_id]) + "?a=main&b=retry",
        "trash": reverse("analytics:trash"),
        "audit": reverse("analytics:audit"),
        "export_json": reverse("analytics:export_json", args=[session_id]),
        "export_csv": reverse("analytics:export_csv", args=[session_id]),
        "changed": reverse("analytics:conversation_changed", args=[session_id]),
    }


PAGES = list(page_urls("x"))


# --- who may see -----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_log_in(chat, page):
    url = page_urls(chat)[page]
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("page", PAGES)
def test_users_who_are_not_staff_are_refused(chat, outsider, page):
    assert client_for(outsider).get(page_urls(chat)[page]).status_code == 403


def test_staff_without_the_view_permission_are_refused(chat, django_user_model):
    staff = django_user_model.objects.create_user("staff-only", is_staff=True)
    assert client_for(staff).get(reverse("analytics:overview")).status_code == 403


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", ["viewer", "editor", "purger"])
def test_every_staff_role_sees_every_page(chat, page, who, request):
    user = request.getfixturevalue(who)
    response = client_for(user).get(page_urls(chat)[page])
    assert response.status_code in (200, 204)


def test_a_view_only_user_sees_no_mutating_button(chat, viewer):
    client = client_for(viewer)
    for url in page_urls(chat).values():
        body = client.get(url).content.decode()
        assert "/actions/" not in body
        assert body.count('method="post"') <= 1  # the log-out button


def test_an_editor_sees_the_actions_but_not_purge(chat, editor):
    client = client_for(editor)
    body = client.get(reverse("analytics:conversation", args=[chat])).content.decode()
    for name in ("fork", "make_active", "trash_conversation", "reprice"):
        assert reverse(f"analytics:{name}", args=[chat]) in body
    trash = client.get(reverse("analytics:trash")).content.decode()
    assert reverse("analytics:restore", args=["binned"]) in trash
    assert reverse("analytics:purge", args=["binned"]) not in trash


def test_a_purger_sees_purge_in_the_trash(chat, purger):
    trash = client_for(purger).get(reverse("analytics:trash")).content.decode()
    assert reverse("analytics:purge", args=["binned"]) in trash


def test_the_login_page_renders_and_logs_a_staff_user_in(chat, viewer):
    viewer.set_password("a-long-test-password-9")
    viewer.save()
    client = Client()
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "viewer", "password": "a-long-test-password-9"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:overview")
    assert client.get(reverse("analytics:overview")).status_code == 200


# --- who may change ------------------------------------------------------------------


def actions(session_id: str) -> dict[str, tuple[str, dict]]:
    """Each mutation with a valid POST body, against the conversation or the trashed one."""
    return {
        "fork": (reverse("analytics:fork", args=[session_id]), {"branch": "main", "turn": 2}),
        "make_active": (
            reverse("analytics:make_active", args=[session_id]),
            {"branch": "retry"},
        ),
        "delete_branch": (
            reverse("analytics:delete_branch", args=[session_id]),
            {"branch": "retry"},
        ),
        "trash": (reverse("analytics:trash_conversation", args=[session_id]), {}),
        "reprice": (reverse("analytics:reprice", args=[session_id]), {}),
        "restore": (reverse("analytics:restore", args=["binned"]), {}),
        "purge": (reverse("analytics:purge", args=["binned"]), {}),
    }


ACTIONS = list(actions("x"))


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_posts_are_sent_to_log_in_and_change_nothing(chat, action):
    url, body = actions(chat)[action]
    response = Client().post(url, body)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AuditEntry.objects.exclude(action__in=["fork", "trash"]).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_forged_post_from_a_view_only_user_is_refused(chat, viewer, action):
    url, body = actions(chat)[action]
    audit_rows = AuditEntry.objects.count()
    assert client_for(viewer).post(url, body).status_code == 403
    assert AuditEntry.objects.count() == audit_rows


def test_an_editor_cannot_purge(chat, editor):
    url, body = actions(chat)["purge"]
    assert client_for(editor).post(url, body).status_code == 403
    assert AgentSession.objects.filter(pk="binned").exists()


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "purge"])
def test_an_editor_may_do_every_other_action(chat, editor, action):
    url, body = actions(chat)[action]
    audit_rows = AuditEntry.objects.count()
    response = client_for(editor).post(url, body)
    assert response.status_code == 302
    assert AuditEntry.objects.count() == audit_rows + 1
    assert AuditEntry.objects.first().actor == editor


def test_a_purger_purges_for_good(chat, purger):
    url, body = actions(chat)["purge"]
    response = client_for(purger).post(url, body)
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:trash")
    assert not AgentSession.objects.filter(pk="binned").exists()
    assert AuditEntry.objects.filter(action="purge", session_id="binned", actor=purger).exists()


def test_actions_refuse_get(chat, editor):
    for url, _ in actions(chat).values():
        assert client_for(editor).get(url).status_code == 405


# --- CSRF ----------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(chat, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url, body = actions(chat)["fork"]
    branches = Branch.objects.count()
    assert client.post(url, body).status_code == 403
    assert Branch.objects.count() == branches


def test_a_post_with_the_pages_csrf_token_succeeds(chat, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    client.get(reverse("analytics:conversation", args=[chat]))
    token = client.cookies["csrftoken"].value
    url, body = actions(chat)["make_active"]
    assert client.post(url, {**body, "csrfmiddlewaretoken": token}).status_code == 302
    assert AgentSession.objects.get(pk=chat).active_branch_id == "retry"


def test_an_htmx_post_carries_the_token_in_its_header(chat, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    page = client.get(reverse("analytics:conversation", args=[chat])).content.decode()
    token = client.cookies["csrftoken"].value
    assert 'hx-headers=\'{"x-csrftoken": "' in page
    url, body = actions(chat)["make_active"]
    response = client.post(url, body, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert AgentSession.objects.get(pk=chat).active_branch_id == "retry"


# --- unknown ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "page", ["conversation", "compare", "export_json", "export_csv", "changed_missing"]
)
def test_unknown_conversations_are_not_found(chat, viewer, page):
    urls = page_urls("no-such-conversation")
    if page == "changed_missing":
        # The live check tells htmx to stop polling a conversation that is gone.
        response = client_for(viewer).get(urls["changed"])
        assert response.status_code == 286
        return
    assert client_for(viewer).get(urls[page]).status_code == 404


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_on_unknown_conversations_are_not_found(chat, purger, action):
    url, body = actions("no-such-conversation")[action]
    if action in ("restore", "purge"):
        url = url.replace("binned", "no-such-conversation")
    assert client_for(purger).post(url, body).status_code == 404


def test_unknown_branches_are_not_found(chat, viewer):
    client = client_for(viewer)
    conversation = reverse("analytics:conversation", args=[chat])
    assert client.get(f"{conversation}?branch=nope").status_code == 404
    compare = reverse("analytics:compare", args=[chat])
    assert client.get(f"{compare}?a=main&b=nope").status_code == 404
    export = reverse("analytics:export_json", args=[chat])
    assert client.get(f"{export}?branch=nope").status_code == 404


def test_ids_with_slashes_and_odd_characters_reach_their_conversation(db, viewer):
    data.conversation("team/a b?c#d", turns=1)
    url = reverse("analytics:conversation", args=["team/a b?c#d"])
    response = client_for(viewer).get(url)
    assert response.status_code == 200
    assert "team/a b?c#d" in response.content.decode()


# --- htmx fragments ------------------------------------------------------------------

FRAGMENTS = {
    "overview": 'id="overview"',
    "conversations": 'id="results"',
    "conversation": 'id="conversation-body"',
    "branch": 'id="conversation-body"',
    "compare": 'id="compare"',
    "trash": 'id="trash"',
    "audit": 'id="entries"',
}


@pytest.mark.parametrize("page", list(FRAGMENTS))
def test_htmx_requests_get_the_fragment_and_others_the_page(chat, viewer, page):
    client = client_for(viewer)
    url = page_urls(chat)[page]
    full = client.get(url).content.decode()
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert full.lstrip().lower().startswith("<!doctype html>")
    assert FRAGMENTS[page] in full
    assert "<html" not in fragment and '<nav aria-label="Main">' not in fragment
    assert fragment.strip().startswith("<") and FRAGMENTS[page] in fragment


def test_the_live_search_swaps_in_the_matching_rows(chat, viewer):
    data.conversation("other", turns=1)
    url = reverse("analytics:conversations") + "?q=polit"  # "politely", typed so far
    fragment = client_for(viewer).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="results"' in fragment and "<html" not in fragment
    assert reverse("analytics:conversation", args=[chat]) in fragment
    assert reverse("analytics:conversation", args=["other"]) not in fragment
    assert reverse("analytics:conversation", args=["binned"]) not in fragment


def test_htmx_restoring_history_gets_the_whole_page(chat, viewer):
    response = client_for(viewer).get(
        reverse("analytics:conversations"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert response.content.decode().lstrip().lower().startswith("<!doctype html>")


def test_pages_vary_on_the_htmx_header(chat, viewer):
    response = client_for(viewer).get(reverse("analytics:conversations"))
    assert "HX-Request" in response["Vary"]


def test_an_htmx_fork_swaps_in_the_new_branch_and_pushes_its_url(chat, editor):
    url, _ = actions(chat)["fork"]
    response = client_for(editor).post(
        url, {"branch": "main", "turn": 2, "name": "second-try"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"].endswith("?branch=second-try")
    body = response.content.decode()
    assert 'aria-current="page" data-branch="second-try"' in body
    assert "Branch “second-try” created from turn 2." in body


def test_a_refused_write_is_reported_not_raised(chat, editor):
    url, _ = actions(chat)["delete_branch"]
    response = client_for(editor).post(url, {"branch": "main"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Cannot delete the &#x27;main&#x27; branch" in response.content.decode()
    used = client_for(editor).post(
        actions(chat)["fork"][0],
        {"branch": "main", "turn": 2, "name": "retry"},
        HTTP_HX_REQUEST="true",
    )
    assert "has already been used" in used.content.decode()


def test_a_missing_branch_field_is_a_bad_request(chat, editor):
    url, _ = actions(chat)["make_active"]
    assert client_for(editor).post(url, {}).status_code == 400


# --- the live check ------------------------------------------------------------------


def test_the_live_check_signals_only_when_the_conversation_changed(chat, viewer):
    client = client_for(viewer)
    page = client.get(reverse("analytics:conversation", args=[chat]), HTTP_HX_REQUEST="true")
    version = re.search(r'data-version="(\w+)"', page.content.decode()).group(1)
    url = reverse("analytics:conversation_changed", args=[chat])
    quiet = client.get(url, {"version": version})
    assert quiet.status_code == 204 and "HX-Trigger" not in quiet
    data.add_turn(chat, "One more question")
    changed = client.get(url, {"version": version})
    assert changed.status_code == 204
    assert "conversation-changed" in changed["HX-Trigger"]


# --- export --------------------------------------------------------------------------


def test_export_gives_the_branch_transcript_and_usage_as_json(chat, viewer):
    url = reverse("analytics:export_json", args=[chat]) + "?branch=retry"
    response = client_for(viewer).get(url)
    assert response["Content-Disposition"].startswith("attachment;")
    exported = response.json()
    assert exported["branch_id"] == "retry"
    users = [row["item"]["content"] for row in exported["items"] if row["message_type"] == "user"]
    assert users == ["Question 1 of chat-1", "Try again, politely"]
    assert [row["turn"] for row in exported["usage"]] == [2]
    assert exported["usage"][0]["model_name"] == "gpt-4.1-mini"


def test_export_gives_items_and_usage_rows_as_csv(chat, viewer):
    response = client_for(viewer).get(reverse("analytics:export_csv", args=[chat]))
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("record,turn,sequence_number,message_type,tool_name,text")
    assert sum(line.startswith("item,") for line in lines) == 15
    assert sum(line.startswith("usage,") for line in lines) == 3


def test_compare_defaults_to_the_active_branch_against_another(chat, viewer):
    body = client_for(viewer).get(reverse("analytics:compare", args=[chat])).content.decode()
    assert '<option value="main" selected>' in body
    assert '<option value="retry" selected>' in body
    assert "Try again, politely" in body


def test_logging_out_is_a_post_that_ends_the_session(chat, viewer):
    client = client_for(viewer)
    assert client.get(reverse("analytics:overview")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("analytics:overview")).status_code == 302
