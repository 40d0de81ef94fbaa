"""Every page runs the same number of queries with 3 rows as with 50 (no query per row)."""

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from convstore import conversations, queries
from convstore.conversations import Position
from convstore.models import AuditEntry
from tests import dashboard_data as data

pytestmark = pytest.mark.django_db

MODELS = ["gpt-4.1-mini", "gpt-4o", None, "model-without-price"]
TOOLS = ["lookup_order", "search_docs", None]
AGENTS = [["Triage", "Billing"], ["Triage"], None]


def build(size: int, *, grown_from: int = 0) -> None:
    """size conversations (a third of them trashed), and one of size turns with branches.

    With grown_from, adds to what build(grown_from) made, up to what build(size) makes.
    """
    for number in range(grown_from, size):
        session_id = f"chat-{number:03}"
        data.conversation(session_id, turns=1, model=MODELS[number % len(MODELS)])
        data.add_turn(session_id, "And then?", agents=AGENTS[number % len(AGENTS)])
        if number % 2:
            conversations.set_metadata(
                session_id=session_id, metadata={"user_id": f"u-{number % 4}", "plan": "pro"}
            )
        if number % 3 == 2:
            conversations.trash(session_id=session_id)
    position = Position()
    for turn in range(grown_from + 1, size + 1):
        position = data.add_turn(
            "big", f"Question {turn}", position=position, tool=TOOLS[turn % len(TOOLS)]
        )
    first_fork = grown_from // 10 + 1 if grown_from else 0
    for fork in range(first_fork, size // 10 + 1):
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
        "conversations_by_agent": reverse("analytics:conversations") + "?agent=Billing",
        "conversations_by_metadata": reverse("analytics:conversations") + "?meta=plan%3Dpro",
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


PAGES = [
    "overview",
    "overview_all",
    "conversations",
    "conversations_filtered",
    "conversations_search",
    "conversations_by_turns",
    "conversations_by_agent",
    "conversations_by_metadata",
    "conversation",
    "conversation_branch",
    "compare",
    "trash",
    "audit",
    "audit_filtered",
    "changed",
    "export_json",
    "export_csv",
]

# A page reads the session and user (2), the user's permissions (2), then its own
# rows, and a page showing text looks up and writes its audit entry (2): about
# a dozen queries in all, well under this.
MAX_QUERIES = 17


def queries_run(client: Client, url: str) -> int:
    """The queries of a visit that writes its read entries (none is recent)."""
    AuditEntry.objects.filter(action=AuditEntry.Action.READ).update(
        at=F("at") - conversations.READ_REPEAT_WINDOW
    )
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code in (200, 204)
    return len(captured)


@pytest.mark.parametrize("page", PAGES)
def test_each_page_runs_as_many_queries_with_50_rows_as_with_3(page, editor):
    client = Client()
    client.force_login(editor)
    build(3)
    with_few_rows = queries_run(client, urls()[page])
    build(50, grown_from=3)
    assert queries.branch_turn_count("big", "main") == 50
    with_many_rows = queries_run(client, urls()[page])
    assert with_few_rows == with_many_rows
    assert with_many_rows <= MAX_QUERIES


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
    # A row's first cell links to its conversation (after the bulk action's tick box).
    assert listing.count('<td>\n          <a href="/conversations/') == min(live, 25)
    assert queries.branch_turn_count("big", "main") == size
