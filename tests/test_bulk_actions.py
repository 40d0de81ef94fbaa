"""Bulk actions of the conversation list and the Trash, through the test client."""

import json
import sqlite3

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from convstore import conversations
from convstore.models import AgentSession, AuditEntry
from tests import dashboard_data as data
from tests.conftest import _dashboard_user, database_snapshot

pytestmark = pytest.mark.django_db

LIST_BULK = reverse("analytics:bulk_conversations")
TRASH_BULK = reverse("analytics:bulk_trash")


@pytest.fixture
def refunds(db):
    """Three conversations about refunds, two others, and one in the trash."""
    for number in range(1, 4):
        data.conversation(f"refund-{number}", turns=1, title=f"Refund for order {number}")
    data.conversation("shipping-1", turns=1, title="Where is my parcel")
    data.conversation("shipping-2", turns=2, title="Late delivery")
    data.conversation("binned", turns=1)
    conversations.trash(session_id="binned")


@pytest.fixture
def editor_without_text(db, django_user_model):
    """May trash and restore, but not read message text: no exports."""
    return _dashboard_user(
        django_user_model, "blind-editor", "view_agentsession", "change_agentsession"
    )


def live_ids() -> set[str]:
    return set(AgentSession.objects.filter(deleted_at=None).values_list("pk", flat=True))


def trashed_ids() -> set[str]:
    return set(AgentSession.objects.exclude(deleted_at=None).values_list("pk", flat=True))


def bulk_entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, detail__has_key="bulk").order_by("id"))


# --- who sees and may do what ----------------------------------------------------------


def test_a_view_only_user_sees_no_bulk_actions(refunds, viewer):
    client = data.client_for(viewer)
    for url in (reverse("analytics:conversations"), reverse("analytics:trash")):
        page = client.get(url).content.decode()
        assert "data-bulk" not in page and 'name="ids"' not in page
    editor_page = data.client_for(None)
    assert editor_page.get(reverse("analytics:conversations")).status_code == 302


@pytest.mark.parametrize(
    ("url", "action"),
    [
        (LIST_BULK, "trash"),
        (LIST_BULK, "export_jsonl"),
        (LIST_BULK, "export_sqlite"),
        (TRASH_BULK, "restore"),
        (TRASH_BULK, "purge"),
    ],
)
def test_a_forged_post_from_a_view_only_user_gets_403_and_changes_nothing(
    refunds, viewer, url, action
):
    before = database_snapshot()
    for confirmed in ("", "1"):
        response = data.client_for(viewer).post(
            url, {"action": action, "scope": "matching", "confirmed": confirmed}
        )
        assert response.status_code == 403
    assert database_snapshot() == before


def test_purge_needs_the_purge_permission_and_export_the_content_permission(
    refunds, editor, editor_without_text
):
    before = database_snapshot()
    purge = {"action": "purge", "scope": "matching", "confirmed": "1"}
    assert data.client_for(editor).post(TRASH_BULK, purge).status_code == 403
    export = {"action": "export_jsonl", "scope": "matching", "confirmed": "1"}
    assert data.client_for(editor_without_text).post(LIST_BULK, export).status_code == 403
    assert database_snapshot() == before
    page = data.client_for(editor_without_text).get(reverse("analytics:conversations"))
    assert b'value="trash"' in page.content and b"export_jsonl" not in page.content
    trash_page = data.client_for(editor).get(reverse("analytics:trash")).content
    assert b'value="restore"' in trash_page and b'value="purge"' not in trash_page


def test_a_bulk_post_without_the_csrf_token_is_refused(refunds, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    chosen = {"action": "trash", "scope": "matching", "confirmed": "1"}
    assert client.post(LIST_BULK, chosen).status_code == 403
    assert trashed_ids() == {"binned"}
    # With the token the list page hands out, the same POST goes through.
    client.get(reverse("analytics:conversations"))
    token = client.cookies["csrftoken"].value
    response = client.post(LIST_BULK, {**chosen, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert live_ids() == set()


# --- the confirm step and the action ----------------------------------------------------


def test_the_confirm_step_shows_the_count_and_changes_nothing(refunds, editor):
    before = database_snapshot()
    response = data.client_for(editor).post(
        LIST_BULK, {"action": "trash", "scope": "matching", "q": "refund", "period": "all"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Move to trash: 3 conversations?" in page
    assert '<strong data-testid="bulk-count">3</strong>' in page
    assert all(f"refund-{n}" in page for n in (1, 2, 3)) and "shipping-1" not in page
    assert 'name="confirmed" value="1"' in page and 'name="q" value="refund"' in page
    assert database_snapshot() == before


def test_trashing_the_ticked_rows_audits_each_under_one_bulk_id(refunds, editor):
    chosen = {"action": "trash", "scope": "selected", "ids": ["refund-1", "shipping-2"]}
    client = data.client_for(editor)
    confirm = client.post(LIST_BULK, chosen).content.decode()
    assert "Move to trash: 2 conversations?" in confirm
    response = client.post(LIST_BULK, {**chosen, "confirmed": "1", "q": "", "sort": "cost"})
    assert response.status_code == 302
    assert response.url == reverse("analytics:conversations") + "?sort=cost"
    assert trashed_ids() == {"binned", "refund-1", "shipping-2"}
    entries = bulk_entries("trash")
    assert [entry.session_id for entry in entries] == ["refund-1", "shipping-2"]
    assert {entry.actor for entry in entries} == {editor}
    bulk = entries[0].detail["bulk"]
    assert entries[1].detail["bulk"] == bulk
    assert (bulk["action"], bulk["scope"], bulk["filter"]) == ("trash", "selected", {})
    assert len(bulk["id"]) == 32
    shown = client.get(response.url).content.decode()
    assert "Moved to the trash: 2 conversations." in shown


def test_all_matching_acts_on_the_filter_only_and_records_it(refunds, editor):
    client = data.client_for(editor)
    chosen = {"action": "trash", "scope": "matching", "q": "refund", "period": "all"}
    response = client.post(LIST_BULK, {**chosen, "confirmed": "1"})
    assert response.url == reverse("analytics:conversations") + "?q=refund&period=all"
    assert live_ids() == {"shipping-1", "shipping-2"}
    entries = bulk_entries("trash")
    assert sorted(entry.session_id for entry in entries) == ["refund-1", "refund-2", "refund-3"]
    assert len({entry.detail["bulk"]["id"] for entry in entries}) == 1
    assert entries[0].detail["bulk"]["filter"] == {"q": "refund", "period": "all"}
    # A second bulk action gets an id of its own.
    client.post(LIST_BULK, {"action": "trash", "scope": "matching", "confirmed": "1"})
    assert len({entry.detail["bulk"]["id"] for entry in bulk_entries("trash")}) == 2


def test_rows_ticked_that_are_no_longer_on_the_list_are_left_alone(refunds, editor):
    chosen = {"action": "trash", "scope": "selected", "confirmed": "1"}
    chosen["ids"] = ["refund-1", "binned", "no-such-conversation"]
    data.client_for(editor).post(LIST_BULK, chosen)
    assert [entry.session_id for entry in bulk_entries("trash")] == ["refund-1"]


def test_restore_and_purge_everything_in_the_trash(refunds, purger):
    for session_id in ("refund-1", "refund-2"):
        conversations.trash(session_id=session_id)
    client = data.client_for(purger)
    restore = {"action": "restore", "scope": "selected", "ids": ["refund-1"], "confirmed": "1"}
    assert client.post(TRASH_BULK, restore).url == reverse("analytics:trash")
    assert trashed_ids() == {"binned", "refund-2"}
    confirm = client.post(TRASH_BULK, {"action": "purge", "scope": "matching"})
    assert "Purge for good: 2 conversations?" in confirm.content.decode()
    client.post(TRASH_BULK, {"action": "purge", "scope": "matching", "confirmed": "1"})
    assert trashed_ids() == set() and not AgentSession.objects.filter(pk="binned").exists()
    purged = bulk_entries("purge")
    assert sorted(entry.session_id for entry in purged) == ["binned", "refund-2"]
    assert purged[0].detail["bulk"]["filter"] == {"in_trash": True}
    assert purged[0].detail["rows"]["agent_messages"] == 5


def test_the_write_layer_skips_what_it_refuses_and_goes_on(refunds, purger):
    bulk = conversations.new_bulk(action="purge", scope="selected", filter={})
    outcome = conversations.bulk_apply(
        bulk=bulk, session_ids=["refund-1", "binned", "gone"], actor=purger, batch_size=1
    )
    assert outcome.done == ["binned"]
    assert outcome.skipped == [
        ("refund-1", "Conversation 'refund-1' is not in the trash; move it there first"),
        ("gone", "Conversation 'gone' does not exist"),
    ]
    assert [entry.session_id for entry in bulk_entries("purge")] == ["binned"]
    with pytest.raises(PermissionError):
        conversations.bulk_apply(bulk=bulk, session_ids=["refund-1"], actor=_no_purge(purger))


def _no_purge(user):
    user.user_permissions.filter(codename="purge_agentsession").delete()
    return type(user).objects.get(pk=user.pk)


def test_skipped_conversations_are_named_in_a_message(refunds, editor):
    # Trashed between the confirm step and the action: restore finds it live.
    client = data.client_for(editor)
    conversations.trash(session_id="refund-1")
    chosen = {"action": "restore", "scope": "matching", "confirmed": "1"}
    conversations.restore(session_id="refund-1")
    response = client.post(TRASH_BULK, chosen)
    page = client.get(response.url).content.decode()
    assert "Restored: 1 conversation." in page


# --- exports ----------------------------------------------------------------------------


def test_export_as_json_lines_holds_every_branch_and_audits_each_read(refunds, editor):
    _, branch, _ = conversations.fork(session_id="refund-1", turn_number=1, branch_name="retry")
    data.add_turn("refund-1", "Again please", position=branch)
    chosen = {"action": "export_jsonl", "scope": "matching", "q": "refund", "confirmed": "1"}
    response = data.client_for(editor).post(LIST_BULK, chosen)
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="conversations.jsonl"'
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert sorted(line["session_id"] for line in lines) == ["refund-1", "refund-2", "refund-3"]
    first = next(line for line in lines if line["session_id"] == "refund-1")
    assert list(first["branches"]) == ["main", "retry"]
    assert first["branches"]["retry"]["items"][0]["item"] == {
        "role": "user",
        "content": "Again please",
    }
    assert first["branches"]["main"]["usage"][0]["input_tokens"] == 1000
    reads = bulk_entries("read")
    assert sorted(entry.session_id for entry in reads) == ["refund-1", "refund-2", "refund-3"]
    assert {entry.detail["kind"] for entry in reads} == {"export_jsonl"}
    assert len({entry.detail["bulk"]["id"] for entry in reads}) == 1
    assert live_ids() >= {"refund-1", "refund-2", "refund-3"}


def test_export_as_an_sdk_file_writes_the_chosen_conversations(refunds, editor, tmp_path):
    chosen = {"action": "export_sqlite", "scope": "selected", "confirmed": "1"}
    chosen["ids"] = ["shipping-2", "refund-3"]
    response = data.client_for(editor).post(LIST_BULK, chosen)
    assert response["Content-Type"] == "application/vnd.sqlite3"
    path = tmp_path / "export.sqlite3"
    path.write_bytes(response.content)
    with sqlite3.connect(path) as db:
        sessions = sorted(row[0] for row in db.execute("SELECT session_id FROM agent_sessions"))
        messages = db.execute("SELECT COUNT(*) FROM agent_messages").fetchone()[0]
    assert sessions == ["refund-3", "shipping-2"]
    assert messages == 5 + 10
    reads = bulk_entries("read")
    assert sorted(entry.session_id for entry in reads) == ["refund-3", "shipping-2"]
    assert {entry.detail["kind"] for entry in reads} == {"export_sqlite"}


# --- bad input and htmx -----------------------------------------------------------------


def test_bad_bulk_input_is_a_clear_message_and_changes_nothing(refunds, purger):
    client = data.client_for(purger)
    before = database_snapshot()
    cases = [
        (LIST_BULK, {"action": "purge", "scope": "matching", "confirmed": "1"}),
        (LIST_BULK, {"action": "trash", "scope": "everything", "confirmed": "1"}),
        (LIST_BULK, {"action": "trash", "scope": "selected", "confirmed": "1"}),
        (LIST_BULK, {"action": "trash", "scope": "matching", "period": "3", "confirmed": "1"}),
    ]
    for url, posted in cases:
        response = client.post(url, posted)
        assert response.status_code == 302
    assert database_snapshot() == before
    page = client.get(reverse("analytics:conversations")).content.decode()
    assert "Action: Select a valid choice. purge is not one of the available choices." in page
    assert "No conversation chosen: tick some rows, or choose all matching." in page
    assert "Period: Select a valid choice. 3 is not one of the available choices." in page


def test_with_htmx_the_confirm_step_is_a_fragment_and_the_action_redirects(refunds, editor):
    client = data.client_for(editor)
    chosen = {"action": "trash", "scope": "matching", "q": "shipping"}
    fragment = client.post(LIST_BULK, chosen, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="results"')
    assert "<html" not in fragment and 'hx-post="/actions/bulk/conversations/"' in fragment
    done = client.post(LIST_BULK, {**chosen, "confirmed": "1"}, headers={"HX-Request": "true"})
    assert done["HX-Redirect"] == reverse("analytics:conversations") + "?q=shipping"
    assert live_ids() == {"refund-1", "refund-2", "refund-3"}
    export = client.post(LIST_BULK, {**chosen, "action": "export_jsonl"})
    assert "hx-post" not in export.content.decode().split("<form")[-1].split(">")[0]


# --- query counts -----------------------------------------------------------------------


def _queries(client, url, posted) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, posted)
    assert response.status_code in (200, 302)
    return len(captured)


def test_the_confirm_step_runs_as_many_queries_for_30_conversations_as_for_3(editor):
    client = data.client_for(editor)
    chosen = {"action": "trash", "scope": "matching", "q": "many"}
    for number in range(3):
        data.conversation(f"many-{number}", turns=1)
    few = _queries(client, LIST_BULK, chosen)
    for number in range(3, 30):
        data.conversation(f"many-{number}", turns=1)
    assert _queries(client, LIST_BULK, chosen) == few <= 12


def test_the_action_runs_a_fixed_number_of_queries_per_conversation(editor):
    client = data.client_for(editor)
    for number in range(12):
        data.conversation(f"many-{number}", turns=1)
    chosen = {"action": "trash", "scope": "selected", "confirmed": "1"}
    four = _queries(client, LIST_BULK, {**chosen, "ids": [f"many-{n}" for n in range(4)]})
    eight = _queries(client, LIST_BULK, {**chosen, "ids": [f"many-{n}" for n in range(4, 12)]})
    per_conversation = (eight - four) / 4
    assert per_conversation == int(per_conversation) <= 8
    assert len(trashed_ids()) == 12


@pytest.mark.django_db(transaction=True)
def test_each_batch_commits_on_its_own(editor):
    for number in range(5):
        data.conversation(f"many-{number}", turns=1)
    seen_at_commit: list[int] = []

    def note_each_trash(execute, sql, params, many, context):
        if sql.startswith('UPDATE "agent_sessions" SET "deleted_at"'):
            # Runs when the transaction this trash is part of commits.
            transaction.on_commit(lambda: seen_at_commit.append(len(trashed_ids())))
        return execute(sql, params, many, context)

    bulk = conversations.new_bulk(action="trash", scope="matching", filter={})
    ids = [f"many-{number}" for number in range(5)]
    with connection.execute_wrapper(note_each_trash):
        outcome = conversations.bulk_apply(bulk=bulk, session_ids=ids, actor=editor, batch_size=2)
    assert outcome.done == ids
    # Three commits: after two conversations, after four, after five.
    assert seen_at_commit == [2, 2, 4, 4, 5]
