"""Every page runs the same number of queries with 3 rows as with 50 (no query per row)."""

import pytest
from django.test import Client
from django.urls import reverse

from convstore import conversations, queries
from convstore.conversations import Position
from tests import dashboard_data as data

pytestmark = pytest.mark.django_db

MODELS = ["gpt-4.1-mini", "gpt-4o", None, "model-without-price"]
TOOLS = ["lookup_order", "search_docs", None]


def build(size: int) -> None:
    """size conversations (a third of them trashed), and one of size turns with branches."""
    for number in range(size):
        session_id = f"chat-{number:03}"
        data.conversation(session_id, turns=1, model=MODELS[number % len(MODELS)])
        if number % 3 == 2:
            conversations.trash(session_id=session_id)
    position = Position()
    for turn in range(1, size + 1):
        position = data.add_turn(
            "big", f"Question {turn}", position=position, tool=TOOLS[turn % len(TOOLS)]
        )
    for fork in range(size // 10 + 1):
        _, branch, _ = conversations.fork(
            session_id="big", turn_number=2, branch_name=f"retry-{fork}"
        )
        data.add_turn("big", f"Retry {fork}", position=branch)


def urls() -> dict[str, str]:
    big = reverse("analytics:conversation", args=["big"])
    return {
        "overview": reverse("analytics:overview"),
        "overview_all": reverse("analytics:overview") + "?period=all",
        "conversations": reverse("analytics:conversations"),
        "conversations_filtered": reverse("analytics:conversations")
        + "?q=question&sort=cost&branched=no&model=gpt-4o&period=30",
        "conversations_search": reverse("analytics:conversations") + "?q=retr",
        "conversations_by_turns": reverse("analytics:conversations") + "?sort=turns&page=2",
        "conversation": big,
        "conversation_branch": big + "?branch=retry-0",
        "compare": reverse("analytics:compare", args=["big"]) + "?a=main&b=retry-0",
        "trash": reverse("analytics:trash"),
        "audit": reverse("analytics:audit"),
        "audit_filtered": reverse("analytics:audit") + "?action=fork&conversation=big",
        "changed": reverse("analytics:conversation_changed", args=["big"]) + "?version=x",
        "export_json": reverse("analytics:export_json", args=["big"]),
        "export_csv": reverse("analytics:export_csv", args=["big"]),
    }


# Per page: the session and user (2), the user's permissions (2), then the page's own reads.
EXPECTED_QUERIES = {
    "overview": 10,
    "overview_all": 10,
    "conversations": 10,
    "conversations_filtered": 11,
    "conversations_search": 11,
    "conversations_by_turns": 10,
    "conversation": 13,
    "conversation_branch": 13,
    "compare": 10,
    "trash": 5,
    "audit": 5,
    "audit_filtered": 5,
    "changed": 5,
    "export_json": 8,
    "export_csv": 8,
}


@pytest.mark.parametrize("size", [3, 50])
@pytest.mark.parametrize("page", list(EXPECTED_QUERIES))
def test_each_page_runs_a_fixed_number_of_queries(page, size, editor, django_assert_num_queries):
    build(size)
    client = Client()
    client.force_login(editor)
    url = urls()[page]
    with django_assert_num_queries(EXPECTED_QUERIES[page]):
        response = client.get(url)
    assert response.status_code in (200, 204)


@pytest.mark.parametrize("size", [3, 50])
def test_the_pages_show_every_row_they_promise(size, editor):
    build(size)
    client = Client()
    client.force_login(editor)
    page = client.get(urls()["conversation"]).content.decode()
    assert page.count('class="turn"') == size
    assert f'data-turns="{size}"' in page
    listing = client.get(urls()["conversations"]).content.decode()
    live = size - size // 3 + 1  # the trashed third is left out; "big" is in
    assert f"<strong>{live}</strong> conversation" in listing
    assert listing.count('<tr>\n        <td>\n          <a href="/conversations/') == min(live, 25)
    assert queries.branch_turn_count("big", "main") == size
