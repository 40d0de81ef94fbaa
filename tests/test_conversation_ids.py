"""Any conversation id addresses exactly its own conversation, on every route.

Ids are free text from agent code. In URLs each is one path segment that no
browser rewrites (analytics/converters.py); these tests drive the routes
through the test client, tests/browser/test_conversation_ids_browser.py through
a real browser, which removes dot segments as every browser must.
"""

import pytest
from django.test import Client
from django.urls import resolve, reverse
from django.utils.html import escape

from analytics.converters import decode_conversation_id, encode_conversation_id
from convstore import conversations
from convstore.models import AgentSession, AuditEntry, Branch
from tests import dashboard_data as data
from tests.awkward_ids import AWKWARD_IDS, MORE_AWKWARD_IDS

pytestmark = pytest.mark.django_db

ALL_IDS = AWKWARD_IDS + MORE_AWKWARD_IDS

# Every page of one conversation, and what it answers.
PAGES = {
    "analytics:conversation": 200,
    "analytics:compare": 200,
    "analytics:export_json": 200,
    "analytics:export_csv": 200,
    "analytics:conversation_changed": 204,
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("session_id", ALL_IDS)
def test_an_id_is_written_as_one_segment_and_read_back(session_id):
    segment = encode_conversation_id(session_id)
    assert "/" not in segment and "." not in segment and "%" not in segment
    assert decode_conversation_id(segment) == session_id
    url = reverse("analytics:conversation", args=[session_id])
    assert resolve(url).kwargs == {"session_id": session_id}


@pytest.mark.parametrize("segment", ["~2e~2e", "a~", "~ZZ", "~C3", "a.b", "~00", "a~7e"])
def test_other_spellings_are_not_an_id(segment):
    with pytest.raises(ValueError):
        decode_conversation_id(segment)


def test_an_unusual_spelling_is_a_404_not_another_conversation(viewer):
    data.conversation("y", turns=1)
    client = client_for(viewer)
    for path in ("/conversations/x/../y/", "/conversations/x%2F..%2Fy/", "/conversations/~79/"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("session_id", ALL_IDS)
def test_every_page_of_an_awkward_id_shows_that_conversation(viewer, session_id):
    data.conversation(session_id, turns=2)
    data.conversation("y", turns=1)  # what "x/../y" would lead to if it were rewritten
    client = client_for(viewer)

    for name, status in PAGES.items():
        response = client.get(reverse(name, args=[session_id]))
        assert response.status_code == status, name
    page = client.get(reverse("analytics:conversation", args=[session_id])).content.decode()
    assert escape(f"Question 2 of {session_id}") in page


@pytest.mark.parametrize("session_id", ALL_IDS)
def test_every_action_acts_on_the_awkward_id_and_nothing_else(purger, session_id):
    data.conversation(session_id, turns=2)
    for bystander in ("x", "y", "a", "b", "etc"):
        data.conversation(bystander, turns=1)
    client = client_for(purger)

    def post(name, body=None):
        response = client.post(reverse(name, args=[session_id]), body or {})
        assert response.status_code == 302, name
        return response["Location"]

    landed = post("analytics:fork", {"branch": "main", "turn": 2, "name": "retry"})
    assert landed == reverse("analytics:conversation", args=[session_id]) + "?branch=retry"
    post("analytics:make_active", {"branch": "retry"})
    assert AgentSession.objects.get(pk=session_id).active_branch_id == "retry"
    post("analytics:make_active", {"branch": "main"})
    post("analytics:delete_branch", {"branch": "retry"})
    assert Branch.objects.get(session_id=session_id, branch_id="retry").deleted_at is not None
    post("analytics:reprice")
    post("analytics:trash_conversation")
    assert AgentSession.objects.get(pk=session_id).deleted_at is not None
    post("analytics:restore")
    assert AgentSession.objects.get(pk=session_id).deleted_at is None
    conversations.trash(session_id=session_id)
    assert post("analytics:purge") == reverse("analytics:trash")

    assert not AgentSession.objects.filter(pk=session_id).exists()
    assert set(AgentSession.objects.values_list("pk", flat=True)) == {"x", "y", "a", "b", "etc"}
    acted_on = set(AuditEntry.objects.exclude(action="import").values_list("session_id", flat=True))
    assert acted_on == {session_id}


# --- NUL characters ----------------------------------------------------------------


def nul_urls() -> list[str]:
    at = "/conversations/chat/"
    return [
        "/conversations/a%00b/",
        "/compare/a%00b/",
        "/changed/a%00b/",
        "/export/json/a%00b/",
        "/export/csv/a%00b/",
        f"{at}?branch=a%00b",
        "/compare/chat/?a=main&b=x%00y",
        "/export/json/chat/?branch=a%00b",
        "/conversations/?q=a%00b",
        "/conversations/?model=a%00b",
        "/audit/?conversation=a%00b",
        "/audit/?actor=a%00b",
        "/admin/convstore/agentsession/a%00b/change/",
        "/admin/convstore/agentsession/?session_id=a%00b",
        "/admin/convstore/agentmessage/?session_id=a%00b",
        "/admin/convstore/messagestructure/?session_id=chat&branch_id=a%00b",
        "/admin/convstore/messagestructure/?message_type=a%00b",
        "/admin/convstore/turnusage/?branch_id=a%00b",
        "/admin/convstore/auditentry/?q=a%00b",
    ]


@pytest.mark.parametrize("url", nul_urls())
def test_a_nul_in_a_url_is_a_400(admin_user, url):
    data.conversation("chat", turns=1)
    assert client_for(admin_user).get(url).status_code == 400


ACTION_NAMES = [
    "fork",
    "make_active",
    "delete_branch",
    "trash_conversation",
    "restore",
    "purge",
    "reprice",
]


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_a_nul_in_an_action_path_or_form_is_a_400_and_changes_nothing(admin_user, name):
    data.conversation("chat", turns=2)
    before = list(AuditEntry.objects.values())
    client = client_for(admin_user)
    path = reverse(f"analytics:{name}", args=["chat"])

    assert client.post(path.replace("chat", "ch%00at"), {"branch": "main"}).status_code == 400
    body = {"branch": "ma\x00in", "turn": 1, "name": "x\x00y"}
    assert client.post(path, body).status_code == 400
    assert list(AuditEntry.objects.values()) == before


def test_a_nul_in_an_admin_action_is_a_400(admin_user):
    data.conversation("chat", turns=1)
    response = client_for(admin_user).post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": "move_to_trash", "_selected_action": ["ch\x00at"]},
    )
    assert response.status_code == 400
    assert AgentSession.objects.get(pk="chat").deleted_at is None
