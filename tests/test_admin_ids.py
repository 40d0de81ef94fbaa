"""Django admin with awkward conversation ids, and staff it refuses: nothing written for them."""

import html
import json
import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from convstore.models import AgentMessage
from tests.conftest import database_snapshot
from tests.test_admin import make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("fixer", "fixer@example.com", "pw"))
    return client


# --- conversation ids and refused users --------------------------------------------

AWKWARD_IDS = ["user_5F123", "a/b", "q?x=1", "h#frag", "50%", "back\\slash", "plus+sign"]
AWKWARD_IDS += ["a&b=c", "it's", 'say "hi"', "<b>", "a%2Fb", "a_2Fb"]


@pytest.mark.parametrize("session_id", AWKWARD_IDS)
def test_a_conversation_with_an_awkward_id_shows_its_sections(client, session_id):
    make_conversation(session_id, turns=2, branches=1)
    url = reverse("admin:convstore_agentsession_change", args=[admin.utils.quote(session_id)])

    page = client.get(url).content.decode()

    assert "<h2>Branches</h2>" in page
    assert "Items of main (8)" in page
    assert "Usage per turn of main (2 turns)" in page


@pytest.mark.parametrize("session_id", AWKWARD_IDS)
def test_the_all_rows_links_list_that_conversations_rows(client, session_id):
    make_conversation(session_id, turns=1)
    for other in ("a", "h", "q", "plus sign", "a/b", "user_123"):
        if other != session_id:
            make_conversation(other, turns=2)
    url = reverse("admin:convstore_agentsession_change", args=[admin.utils.quote(session_id)])
    page = client.get(url).content.decode()
    links = re.findall(r'<a href="(/admin/convstore/agentmessage/\?[^"]*)">Messages</a>', page)

    assert len(links) == 1
    listed = client.get(html.unescape(links[0])).context["cl"].result_list
    assert {message.session_id for message in listed} == {session_id}
    assert len(listed) == 4


def test_a_staff_user_without_permissions_is_refused_and_nothing_is_written():
    make_conversation("mixed", turns=1)
    AgentMessage.objects.create(
        session_id="mixed", message_data=json.dumps({"role": "user", "content": "From the SDK"})
    )
    before = database_snapshot()
    staff = User.objects.create_user("staff-only", is_staff=True)
    refused = Client()
    refused.force_login(staff)

    url = reverse("admin:convstore_agentsession_change", args=["mixed"])
    assert refused.get(url).status_code == 403
    assert refused.get(url + "?branch=main&page=2").status_code == 403
    assert database_snapshot() == before
