"""The access trail: every read of message text by a person is an audit entry, once per
READ_REPEAT_WINDOW for the same user, conversation, branch and kind of read."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import F
from django.test import Client
from django.urls import reverse

from convstore import conversations
from convstore.models import AgentMessage, AuditEntry
from tests.content_data import MARK, marked_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(db) -> str:
    marked_conversation("secret")
    marked_conversation("other", turns=1, branch=None)
    return "secret"


@pytest.fixture
def admin_reader(db) -> User:
    """Admin staff who may view conversations and messages and read their text."""
    user = User.objects.create_user("admin-reader", is_staff=True)
    codenames = ["view_agentsession", "view_agentmessage", "view_messagestructure", "view_content"]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="convstore", codename__in=codenames)
    )
    return User.objects.get(pk=user.pk)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reads() -> list[tuple]:
    """Every read entry: (who, conversation, branch, detail), oldest first."""
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.READ).order_by("id")
    return [(e.actor.username, e.session_id, e.branch_id, e.detail) for e in entries]


def conversation_url(session_id: str, query: str = "") -> str:
    return reverse("analytics:conversation", args=[session_id]) + query


def age_reads() -> None:
    """Every read entry so far, as if written longer ago than the window."""
    AuditEntry.objects.filter(action=AuditEntry.Action.READ).update(
        at=F("at") - conversations.READ_REPEAT_WINDOW
    )


# --- each kind of read ---------------------------------------------------------------


def test_the_conversation_page_is_a_transcript_read_of_its_branch(secret, viewer):
    client_for(viewer).get(conversation_url(secret))
    client_for(viewer).get(conversation_url(secret, "?branch=retry"))

    assert reads() == [
        ("viewer", "secret", "main", {"kind": "transcript"}),
        ("viewer", "secret", "retry", {"kind": "transcript"}),
    ]


def test_an_htmx_re_render_within_the_window_writes_nothing(secret, viewer):
    client = client_for(viewer)
    client.get(conversation_url(secret))
    client.get(conversation_url(secret), headers={"HX-Request": "true"})
    client.get(conversation_url(secret, "?page=1"), headers={"HX-Request": "true"})

    assert len(reads()) == 1


def test_a_read_after_the_window_is_written_again(secret, viewer):
    client = client_for(viewer)
    client.get(conversation_url(secret))
    age_reads()
    client.get(conversation_url(secret), headers={"HX-Request": "true"})

    assert [entry[2:] for entry in reads()] == [("main", {"kind": "transcript"})] * 2


def test_the_window_is_per_user_and_per_kind(secret, viewer, editor):
    client_for(viewer).get(conversation_url(secret))
    client_for(editor).get(conversation_url(secret))
    client_for(viewer).get(reverse("analytics:export_json", args=[secret]))

    assert reads() == [
        ("viewer", "secret", "main", {"kind": "transcript"}),
        ("editor", "secret", "main", {"kind": "transcript"}),
        ("viewer", "secret", "main", {"kind": "export_json"}),
    ]


def test_the_live_check_that_the_page_polls_is_no_read(secret, viewer):
    client = client_for(viewer)
    changed = reverse("analytics:conversation_changed", args=[secret])
    assert client.get(changed + "?version=old").status_code == 204
    assert reads() == []


def test_the_compare_page_reads_both_branches(secret, viewer):
    url = reverse("analytics:compare", args=[secret]) + "?a=main&b=retry"
    client_for(viewer).get(url)
    client_for(viewer).get(url, headers={"HX-Request": "true"})

    assert reads() == [
        ("viewer", "secret", "main", {"kind": "compare"}),
        ("viewer", "secret", "retry", {"kind": "compare"}),
    ]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_export_is_a_read_of_the_branch_it_holds(secret, viewer, fmt):
    url = reverse(f"analytics:export_{fmt}", args=[secret]) + "?branch=retry"
    assert client_for(viewer).get(url).status_code == 200
    assert reads() == [("viewer", "secret", "retry", {"kind": f"export_{fmt}"})]


def test_the_admin_sdk_file_download_reads_each_conversation(secret, admin_reader):
    client_for(admin_reader).post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": "export_sqlite", "_selected_action": ["secret", "other"]},
    )
    assert sorted(reads(), key=str) == [
        ("admin-reader", "other", None, {"kind": "export_sqlite"}),
        ("admin-reader", "secret", None, {"kind": "export_sqlite"}),
    ]


def test_the_admin_message_page_is_a_read_of_that_message(secret, admin_reader):
    first, second = AgentMessage.objects.filter(session_id="secret").order_by("id")[:2]
    client = client_for(admin_reader)
    for message in (first, second, first):
        url = reverse("admin:convstore_agentmessage_change", args=[message.pk])
        assert client.get(url).status_code == 200

    # Turn 1's messages were written on main; retry holds copies of them.
    assert reads() == [
        ("admin-reader", "secret", "main", {"kind": "admin_message", "message_id": first.pk}),
        ("admin-reader", "secret", "main", {"kind": "admin_message", "message_id": second.pk}),
    ]


def test_the_admin_conversation_page_reads_the_branch_it_previews(secret, admin_reader):
    url = reverse("admin:convstore_agentsession_change", args=["secret"])
    client_for(admin_reader).get(url + "?branch=retry")
    assert reads() == [("admin-reader", "secret", "retry", {"kind": "admin_conversation"})]


def test_the_admin_lists_with_previews_read_each_conversation_shown(secret, admin_reader):
    client = client_for(admin_reader)
    client.get(reverse("admin:convstore_agentmessage_changelist"))
    client.get(reverse("admin:convstore_messagestructure_changelist") + "?session_id=secret")

    # The message list shows no branch; the structure list shows a row's branch.
    assert sorted(reads(), key=str) == [
        ("admin-reader", "other", None, {"kind": "admin_list"}),
        ("admin-reader", "secret", "main", {"kind": "admin_list"}),
        ("admin-reader", "secret", "retry", {"kind": "admin_list"}),
        ("admin-reader", "secret", None, {"kind": "admin_list"}),
    ]


# --- who writes none -------------------------------------------------------------------


def test_a_user_without_view_content_writes_no_read(secret, figures_only):
    client = client_for(figures_only)
    for url in (
        conversation_url(secret),
        conversation_url(secret, "?branch=retry"),
        reverse("analytics:compare", args=[secret]) + "?a=main&b=retry",
        reverse("analytics:export_json", args=[secret]),
        reverse("analytics:export_csv", args=[secret]),
        reverse("analytics:conversations") + "?q=quokka",
        reverse("analytics:audit"),
    ):
        client.get(url)
        client.get(url, headers={"HX-Request": "true"})
    assert reads() == []


def test_an_admin_user_without_view_content_writes_no_read(secret, django_user_model):
    user = django_user_model.objects.create_user("admin-figures", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="convstore",
            codename__in=["view_agentsession", "view_agentmessage", "view_messagestructure"],
        )
    )
    client = client_for(user)
    message = AgentMessage.objects.filter(session_id="secret").earliest("id")
    client.get(reverse("admin:convstore_agentsession_change", args=["secret"]))
    client.get(reverse("admin:convstore_agentmessage_changelist"))
    client.get(reverse("admin:convstore_messagestructure_changelist"))
    client.get(reverse("admin:convstore_agentmessage_change", args=[message.pk]))
    client.post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": "export_sqlite", "_selected_action": ["secret"]},
    )
    assert reads() == []


def test_a_refused_or_missing_page_writes_no_read(secret, viewer):
    client = client_for(viewer)
    assert client.get(conversation_url(secret, "?branch=nope")).status_code == 404
    assert client.get(conversation_url("no-such-conversation")).status_code == 404
    assert reads() == []


# --- the entries -------------------------------------------------------------------------


def test_read_entries_hold_no_text(secret, viewer, admin_reader):
    client_for(viewer).get(conversation_url(secret))
    client_for(viewer).get(reverse("analytics:export_csv", args=[secret]))
    message = AgentMessage.objects.filter(session_id="secret").earliest("id")
    client_for(admin_reader).get(reverse("admin:convstore_agentmessage_change", args=[message.pk]))

    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.READ).values())
    assert len(entries) == 3
    assert MARK not in json.dumps(entries, default=str)


def test_the_audit_log_lists_the_reads_when_filtered_to_them(secret, viewer, editor):
    client_for(editor).get(conversation_url(secret))
    page = client_for(viewer).get(reverse("analytics:audit") + "?action=read").content.decode()

    assert '<option value="read" selected>Content read</option>' in page
    assert page.count('<span class="tag action-read">Content read</span>') == 1
    assert "kind=transcript" in page
    assert MARK not in page


def test_the_audit_log_of_one_conversation_lists_its_reads(secret, viewer):
    client_for(viewer).get(conversation_url("other"))
    client_for(viewer).get(conversation_url(secret))
    url = reverse("analytics:audit") + "?action=read&conversation=other"
    page = client_for(viewer).get(url).content.decode()
    assert page.count("Content read</span>") == 1


def test_an_unknown_kind_of_read_is_refused(secret, viewer):
    with pytest.raises(ValueError, match="Unknown kind of read"):
        conversations.record_content_read(
            session_id="secret", branch_id="main", actor=viewer, kind="glance"
        )
    assert reads() == []


def test_recording_returns_whether_it_wrote(secret, viewer):
    def record() -> bool:
        return conversations.record_content_read(
            session_id="secret", branch_id=None, actor=viewer, kind="export_sqlite"
        )

    assert [record(), record()] == [True, False]
    age_reads()
    assert record() is True


def test_a_download_of_many_conversations_reads_each_of_them_once(viewer):
    many = [(f"c-{number}", None) for number in range(1500)]
    record = conversations.record_content_reads
    assert record(reads=many, actor=viewer, kind="export_sqlite") == 1500
    assert record(reads=[*many, ("c-new", None)], actor=viewer, kind="export_sqlite") == 1
    assert AuditEntry.objects.filter(action="read").count() == 1501
