"""The audit log page prints every entry, whatever the keys of its detail."""

import pytest
from django.test import Client
from django.urls import reverse

from convstore import conversations
from convstore.models import AuditEntry
from convstore.session import DjangoSession
from tests import dashboard_data as data
from tests.conftest import run_async

pytestmark = pytest.mark.django_db

# Keys a template lookup would take for the dict's own methods.
AWKWARD_DETAIL = {"items": 3, "keys": ["a", "b"], "values": {"x": 1}, "get": "got"}
# As the page prints them (escaped); PostgreSQL's jsonb gives the keys in its own order.
PRINTED_PAIRS = [
    "items=3",
    "keys=[&quot;a&quot;, &quot;b&quot;]",
    "values={&quot;x&quot;: 1}",
    "get=got",
]


def audit_page(user, **query) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("analytics:audit"), query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_log_shows_a_deleted_branch_written_by_agent_code(viewer):
    data.conversation("chat", turns=2)

    async def branch_and_delete():
        session = DjangoSession("chat")
        await session.create_branch_from_turn(2, "retry")
        await session.switch_to_branch("main")
        await session.delete_branch("retry")

    run_async(branch_and_delete())

    page = audit_page(viewer, action="delete_branch")
    assert "Branch deleted" in page
    assert "items=5" in page


@pytest.mark.parametrize("action", AuditEntry.Action.values)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_action_kind_prints_details_named_like_dict_methods(viewer, action, htmx):
    AuditEntry.objects.create(action=action, session_id="chat", detail=AWKWARD_DETAIL)
    client = Client()
    client.force_login(viewer)
    headers = {"HX-Request": "true"} if htmx else {}

    for query in ({}, {"action": action}):
        response = client.get(reverse("analytics:audit"), query, headers=headers)
        assert response.status_code == 200
        page = response.content.decode()
        for pair in PRINTED_PAIRS:
            assert pair in page


def test_details_that_are_not_an_object_still_print(viewer):
    AuditEntry.objects.create(action="edit", session_id="chat", detail=["a", 1])
    assert "[&quot;a&quot;, 1]" in audit_page(viewer)


def test_the_log_after_a_dashboard_branch_delete_names_the_items_it_held(editor):
    data.conversation("chat", turns=2)
    conversations.fork(session_id="chat", turn_number=2, branch_name="retry")
    client = Client()
    client.force_login(editor)
    client.post(reverse("analytics:delete_branch", args=["chat"]), {"branch": "retry"})

    assert AuditEntry.objects.get(action="delete_branch").detail == {"items": 5}
    assert "items=5" in audit_page(editor)
