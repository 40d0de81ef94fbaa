"""The dashboard's view of agent code's additions: agents per turn and per period,
metadata on the page and in the list's filter, and Copy as new conversation."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from convstore import conversations
from convstore.models import AgentMessage, AgentSession, AuditEntry
from tests import dashboard_data as data
from tests.conftest import database_snapshot

pytestmark = pytest.mark.django_db

LIST = reverse("analytics:conversations")


def page(user, url: str) -> str:
    response = data.client_for(user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def listed(html: str) -> list[str]:
    """The conversation ids the list links to, in order."""
    return re.findall(r'<a href="/conversations/([^/"]+)/">', html)


@pytest.fixture
def support():
    """Two conversations: one answered by Billing after a handoff, one by Triage alone."""
    position = data.add_turn("refund", "Where is my refund?", agents=["Triage", "Billing"])
    data.add_turn("refund", "Thanks", position=position, agents=["Billing"], model="local-llm")
    data.add_turn("hello", "Hello", agents=["Triage"])
    data.add_turn("unlabelled", "Hi")
    conversations.set_metadata(
        session_id="refund", metadata={"user_id": "u-42", "channel": "web", "seats": 3}
    )
    conversations.set_metadata(session_id="hello", metadata={"user_id": 7, "channel": "app"})


# --- agents ----------------------------------------------------------------------


def test_each_turn_shows_the_agent_that_answered_and_who_took_part(support, viewer):
    html = page(viewer, reverse("analytics:conversation", args=["refund"]))
    assert 'title="agents: Triage → Billing">Billing</span>' in html
    assert 'title="agents: Billing">Billing</span>' in html


def test_the_overview_sums_tokens_and_cost_per_agent(support, viewer):
    from analytics import selectors

    agents = {row["agent_name"]: row for row in selectors.agent_mix_list(since=None)}
    # dashboard_data's usage: 1,000 in (200 cached), 300 out a turn; gpt-4.1-mini prices
    # it at (800 x 0.40 + 200 x 0.10 + 300 x 1.60) / 1M; local-llm has no price.
    one_turn = (800 * Decimal("0.40") + 200 * Decimal("0.10") + 300 * Decimal("1.60")) / 10**6
    assert (agents["Billing"]["turns"], agents["Billing"]["total_tokens"]) == (2, 2600)
    assert agents["Billing"]["cost"] == one_turn
    assert agents["Billing"]["unpriced_turns"] == 1
    assert (agents["Triage"]["turns"], agents["Triage"]["cost"]) == (1, one_turn)
    assert (agents[None]["turns"], agents[None]["cost"]) == (1, one_turn)
    html = page(viewer, reverse("analytics:overview") + "?period=7")
    assert "Cost per agent" in html
    assert f'<a href="{LIST}?agent=Billing">Billing</a>' in html
    assert "no agent recorded" in html


def test_the_list_filters_by_the_agent_that_answered(support, viewer):
    assert listed(page(viewer, LIST + "?agent=Billing")) == ["refund"]
    assert sorted(listed(page(viewer, LIST + "?agent=Triage"))) == ["hello"]
    html = page(viewer, LIST + "?agent=Nobody")
    assert "Select a valid choice" in html
    assert listed(html) == []


# --- metadata ----------------------------------------------------------------------


def test_the_conversation_page_shows_its_metadata(support, viewer):
    html = page(viewer, reverse("analytics:conversation", args=["refund"]))
    assert '<dt class="mono">channel</dt><dd>web</dd>' in html
    assert '<dt class="mono">seats</dt><dd>3</dd>' in html
    assert '<dt class="mono">user_id</dt><dd>u-42</dd>' in html
    assert 'data-testid="metadata"' not in page(
        viewer, reverse("analytics:conversation", args=["unlabelled"])
    )


@pytest.mark.parametrize(
    ("meta", "found"),
    [
        ("channel=web", ["refund"]),
        ("user_id=u-42", ["refund"]),
        ("user_id=7", ["hello"]),
        ("seats=3", ["refund"]),
        ("channel=fax", []),
        ("nothing=web", []),
        ("channel = app", ["hello"]),
    ],
)
def test_the_list_filters_by_a_metadata_key_and_value(support, viewer, meta, found):
    assert sorted(listed(page(viewer, LIST + "?" + f"meta={meta}".replace(" ", "+")))) == found


@pytest.mark.parametrize("meta", ["no-equals-sign", "=value"])
def test_a_malformed_metadata_filter_shows_its_error_and_lists_nothing(support, viewer, meta):
    html = page(viewer, LIST + f"?meta={meta}")
    assert "Write it as key=value" in html
    assert listed(html) == []


def test_the_list_shows_a_user_column_when_a_listed_conversation_has_a_user_id(support, viewer):
    html = page(viewer, LIST)
    assert "<th>User</th>" in html
    assert '<td class="mono" data-testid="user-id">u-42</td>' in html
    assert '<td class="mono" data-testid="user-id">7</td>' in html
    assert "<th>User</th>" not in page(viewer, LIST + "?agent=Billing&meta=channel%3Dfax")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_the_metadata_filter_can_use_the_gin_index(support):
    from analytics.selectors import listing

    matching = AgentSession.objects.order_by()
    query = listing.metadata_matching(matching, "user_id", "u-42").values("pk").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        # With a handful of rows a scan is cheaper: forbid it to see the index is usable.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "agent_sessions_metadata" in plan


# --- Copy as new conversation ----------------------------------------------------------


def copy_url(session_id: str) -> str:
    return reverse("analytics:copy", args=[session_id])


def test_copy_as_new_conversation_copies_the_branch_and_is_audited(support, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    html = client.get(reverse("analytics:conversation", args=["refund"])).content.decode()
    assert "Copy as new conversation…" in html
    token = client.cookies["csrftoken"].value
    body = {"branch": "main", "new_id": "refund-replay", "up_to_turn": "1"}
    response = client.post(copy_url("refund"), {**body, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:conversation", args=["refund-replay"])
    copy = AgentSession.objects.get(pk="refund-replay")
    assert (copy.copied_from_session_id, copy.copied_from_branch_id, copy.copied_up_to_turn) == (
        "refund",
        "main",
        1,
    )
    # Turn 1 of dashboard_data's turns: five items.
    assert AgentMessage.objects.filter(session_id="refund-replay").count() == 5
    entry = AuditEntry.objects.get(action="copy")
    assert (entry.session_id, entry.actor, entry.detail["copy"]) == (
        "refund",
        editor,
        "refund-replay",
    )
    shown = client.get(response["Location"]).content.decode()
    assert "Copied from" in shown
    assert (
        f'href="{reverse("analytics:conversation", args=["refund"])}?branch=main">refund</a>'
        in shown
    )
    assert "turns 1\u20131" in shown


def test_copy_needs_the_change_permission_and_a_post_with_csrf(support, viewer, editor):
    before = database_snapshot()
    body = {"branch": "main", "new_id": "stolen"}
    assert data.client_for(viewer).post(copy_url("refund"), body).status_code == 403
    assert data.client_for(None).post(copy_url("refund"), body).status_code == 302  # to login
    assert data.client_for(editor).get(copy_url("refund")).status_code == 405
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(editor)
    assert csrf_client.post(copy_url("refund"), body).status_code == 403
    assert database_snapshot() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"branch": "main", "new_id": "hello"},
            "Conversation id &#x27;hello&#x27; is already in use",
        ),
        ({"branch": "main", "new_id": "fresh", "up_to_turn": "9"}, "Turn 9 does not exist"),
        ({"branch": "gone", "new_id": "fresh"}, "Branch &#x27;gone&#x27; does not exist"),
        ({"branch": "main", "new_id": ""}, "New conversation id: This field is required."),
        ({"branch": "main", "new_id": "fresh", "up_to_turn": "0"}, "Up to turn: Ensure this value"),
    ],
)
def test_a_refused_copy_says_why_and_changes_nothing(support, editor, body, message):
    before = database_snapshot()
    client = data.client_for(editor)
    assert client.post(copy_url("refund"), body).status_code == 302
    assert database_snapshot() == before
    shown = client.get(reverse("analytics:conversation", args=["refund"]))
    assert message in shown.content.decode()
