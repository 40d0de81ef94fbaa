"""Django admin: cheap pages at any size, safe edits, every change through the write layer."""

import json

import pytest
from agents.usage import Usage
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from convstore import conversations
from convstore.models import (
    AgentMessage,
    AgentSession,
    AuditEntry,
    Branch,
    MessageStructure,
    ModelPrice,
    TurnUsage,
)

pytestmark = pytest.mark.django_db

MODELS = (AgentSession, AgentMessage, MessageStructure, TurnUsage, Branch, AuditEntry, ModelPrice)


# --- actors and data -----------------------------------------------------------


@pytest.fixture
def fixer() -> User:
    """A superuser fixing data."""
    return User.objects.create_superuser("fixer", "fixer@example.com", "pw")


@pytest.fixture
def client(fixer) -> Client:
    client = Client()
    client.force_login(fixer)
    return client


@pytest.fixture
def editor_client() -> Client:
    """Staff who may change conversations but not purge them."""
    editor = User.objects.create_user("editor", is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="convstore",
            codename__in=["view_agentsession", "change_agentsession"],
        )
    )
    client = Client()
    client.force_login(editor)
    return client


def turn_items(number: int) -> list[dict]:
    call_id = f"call-{number}"
    return [
        {"role": "user", "content": f"Question {number}"},
        {"type": "function_call", "call_id": call_id, "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call_id, "output": f"result {number}"},
        {"role": "assistant", "content": f"Answer {number}"},
    ]


def usage(tokens: int = 100) -> Usage:
    return Usage(
        requests=1,
        input_tokens=tokens,
        output_tokens=10,
        total_tokens=tokens + 10,
        input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
    )


def make_conversation(session_id: str, turns: int = 2, branches: int = 1) -> None:
    """Turns with usage on main, then branches forked from turn 2 (or 1)."""
    for number in range(1, turns + 1):
        conversations.append_items(session_id=session_id, items=turn_items(number))
        conversations.record_usage(session_id=session_id, usage=usage(), model_name="gpt-4.1")
    for number in range(branches):
        conversations.fork(
            session_id=session_id, turn_number=min(turns, 2), branch_name=f"branch-{number}"
        )


def message_of(session_id: str, role: str = "user") -> AgentMessage:
    return AgentMessage.objects.filter(
        session_id=session_id, message_data__contains=f'"role": "{role}"'
    ).earliest("id")


def audit(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


# --- every model, at any size ------------------------------------------------


def test_every_model_has_an_admin():
    assert all(model in admin.site._registry for model in MODELS)


def count_queries(client: Client, url: str) -> int:
    # The content type cache would make only the first request pay for its query.
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def changelist_urls() -> list[str]:
    urls = [reverse(f"admin:convstore_{model._meta.model_name}_changelist") for model in MODELS]
    # The lists a conversation page links to, filtered to it.
    filtered = [AgentMessage, MessageStructure, TurnUsage, Branch, AuditEntry]
    urls += [
        reverse(f"admin:convstore_{model._meta.model_name}_changelist") + "?session_id=c-1"
        for model in filtered
    ]
    urls.append(
        reverse("admin:convstore_messagestructure_changelist")
        + "?session_id=c-1&branch_id=main&message_type=user"
    )
    urls.append(reverse("admin:convstore_agentsession_changelist") + "?q=c-1&status=live")
    return urls


def test_changelists_take_the_same_queries_with_few_or_many_rows(client):
    make_conversation("c-1")
    few = {url: count_queries(client, url) for url in changelist_urls()}

    for number in range(2, 122):
        make_conversation(f"c-{number}", turns=1)
    many = {url: count_queries(client, url) for url in changelist_urls()}

    assert AgentSession.objects.count() > 100
    assert MessageStructure.objects.count() > 100
    assert many == few
    assert max(many.values()) <= 15


def change_urls(session_id: str) -> list[str]:
    message = message_of(session_id)
    rows = {
        AgentSession: session_id,
        AgentMessage: message.pk,
        MessageStructure: MessageStructure.objects.filter(message=message).earliest("id").pk,
        TurnUsage: TurnUsage.objects.filter(session_id=session_id).earliest("id").pk,
        Branch: Branch.objects.filter(session_id=session_id).earliest("id").pk,
        AuditEntry: AuditEntry.objects.filter(session_id=session_id).earliest("id").pk,
        ModelPrice: ModelPrice.objects.earliest("id").pk,
    }
    return [
        reverse(f"admin:convstore_{model._meta.model_name}_change", args=[pk])
        for model, pk in rows.items()
    ]


def test_change_pages_take_the_same_queries_for_small_or_huge_conversations(client):
    make_conversation("small", turns=2, branches=1)
    make_conversation("huge", turns=80, branches=4)
    conversations.trash(session_id="huge")
    conversations.restore(session_id="huge")

    small = [count_queries(client, url) for url in change_urls("small")]
    huge = [count_queries(client, url) for url in change_urls("huge")]

    assert huge == small
    assert max(huge) <= 25


def test_conversation_page_shows_branches_and_one_page_of_items_and_usage(client):
    make_conversation("huge", turns=80, branches=2)
    url = reverse("admin:convstore_agentsession_change", args=["huge"])

    page = client.get(url).content.decode()
    second = client.get(url + "?branch=branch-0&page=2").content.decode()

    assert "Items of main (320)" in page
    assert page.count("/admin/convstore/agentmessage/") >= 50
    assert "Question 1<" in page and "Question 13<" in page and "Question 14<" not in page
    assert "Usage per turn of main (80 turns)" in page
    assert "branch-0" in page and "branch-1" in page
    assert "Items of branch-0 (4)" in second


def test_conversation_page_reads_unstructured_messages_without_writing(client):
    make_conversation("mixed", turns=1, branches=0)
    # What SQLAlchemySession does: a message row and nothing else.
    AgentMessage.objects.create(
        session_id="mixed", message_data=json.dumps({"role": "user", "content": "From the SDK"})
    )
    url = reverse("admin:convstore_agentsession_change", args=["mixed"])

    page = client.get(url).content.decode()

    assert "not listed below yet" in page and "From the SDK" not in page
    assert not MessageStructure.objects.filter(message__message_data__contains="From the SDK")


def test_recompute_action_places_unstructured_messages_on_main(client):
    make_conversation("mixed", turns=1, branches=0)
    AgentMessage.objects.create(
        session_id="mixed", message_data=json.dumps({"role": "user", "content": "From the SDK"})
    )

    client.post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": "recompute_structure", "_selected_action": ["mixed"]},
    )

    page = client.get(reverse("admin:convstore_agentsession_change", args=["mixed"]))
    assert "From the SDK" in page.content.decode()
    row = MessageStructure.objects.get(message__message_data__contains="From the SDK")
    assert (row.branch_id, row.user_turn_number, row.sequence_number) == ("main", 2, 5)


# --- editing -------------------------------------------------------------------


def post_message(client: Client, message: AgentMessage, text: str):
    url = reverse("admin:convstore_agentmessage_change", args=[message.pk])
    return client.post(url, {"message_data": text, "_save": "Save"})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{not json", "This is not valid JSON"),
        ("[1, 2]", "An SDK item is a JSON object, not list"),
        ('"text"', "An SDK item is a JSON object, not str"),
        ("null", "An SDK item is a JSON object, not null"),
        ('{"content": "no role, no type"}', 'names its "role" or its "type"'),
        ('{"role": "user", "content": "\\ud800"}', "lone surrogate"),
    ],
)
def test_invalid_message_data_is_refused_with_a_form_error(client, text, error):
    make_conversation("c")
    message = message_of("c")
    before = (message.message_data, list(MessageStructure.objects.values()))

    response = post_message(client, message, text)

    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors["message_data"])
    message.refresh_from_db()
    assert (message.message_data, list(MessageStructure.objects.values())) == before
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EDIT).exists()


def test_editing_a_message_re_derives_its_kind_and_tool_and_is_audited(client, fixer):
    make_conversation("c", turns=2, branches=1)
    call = AgentMessage.objects.filter(session_id="c", message_data__contains="function_call")
    message = call.earliest("id")
    item = {**json.loads(message.message_data), "name": "search", "namespace": "web"}

    response = post_message(client, message, json.dumps(item, indent=2))

    assert response.status_code == 302
    message.refresh_from_db()
    assert json.loads(message.message_data) == item
    places = MessageStructure.objects.filter(message=message)
    assert places.count() == 2  # main and the branch holding a copy
    assert set(places.values_list("message_type", "tool_name")) == {("function_call", "web.search")}
    entry = audit(AuditEntry.Action.EDIT)
    assert (entry.actor, entry.session_id, entry.detail["message_id"]) == (fixer, "c", message.pk)


def test_turning_a_user_message_into_another_kind_renumbers_the_turns(client):
    make_conversation("c", turns=3, branches=0)
    second_question = AgentMessage.objects.get(session_id="c", message_data__contains="Question 2")

    post_message(client, second_question, '{"role": "system", "content": "Question 2"}')

    turns = MessageStructure.objects.filter(session_id="c", message_type="user")
    assert list(turns.order_by("sequence_number").values_list("user_turn_number", flat=True)) == [
        1,
        2,
    ]
    last = MessageStructure.objects.filter(session_id="c").latest("sequence_number")
    assert last.user_turn_number == 2


def test_unchanged_message_data_saves_nothing(client):
    make_conversation("c")
    message = message_of("c")
    pretty = json.dumps(json.loads(message.message_data), indent=4)

    post_message(client, message, pretty)

    assert AgentMessage.objects.get(pk=message.pk).message_data == message.message_data
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EDIT).exists()


def test_a_message_in_the_trash_cannot_be_edited(client):
    make_conversation("c")
    conversations.trash(session_id="c")

    response = post_message(client, message_of("c"), '{"role": "user", "content": "changed"}')

    assert "in the trash" in " ".join(response.context["adminform"].form.non_field_errors())
    assert "changed" not in message_of("c").message_data


def test_renaming_a_conversation_goes_through_the_write_layer(client, fixer):
    make_conversation("c")
    url = reverse("admin:convstore_agentsession_change", args=["c"])

    client.post(url, {"title": "Weather questions", "_save": "Save"})

    assert AgentSession.objects.get(pk="c").title == "Weather questions"
    entry = audit(AuditEntry.Action.EDIT)
    assert (entry.actor, entry.detail) == (
        fixer,
        {"field": "title", "before": None, "after": "Weather questions"},
    )


def test_derived_tables_and_the_audit_log_are_read_only(client):
    make_conversation("c")
    for model in (MessageStructure, TurnUsage, Branch, AuditEntry):
        row = model.objects.filter(session_id="c").earliest("id")
        url = reverse(f"admin:convstore_{model._meta.model_name}_change", args=[row.pk])
        assert client.post(url, {}).status_code == 403
        add = reverse(f"admin:convstore_{model._meta.model_name}_add")
        assert client.get(add).status_code == 403


# --- actions -----------------------------------------------------------------


def act(client: Client, action: str, *session_ids: str, **extra):
    url = reverse("admin:convstore_agentsession_changelist")
    return client.post(url, {"action": action, "_selected_action": list(session_ids), **extra})


def test_trash_and_restore_actions_are_audited_with_the_admin_user(client, fixer):
    make_conversation("a")
    make_conversation("b")

    act(client, "move_to_trash", "a", "b")
    assert AgentSession.objects.filter(deleted_at__isnull=False, deleted_by=fixer).count() == 2
    act(client, "restore", "a")

    assert AgentSession.objects.get(pk="a").deleted_at is None
    trashed = AuditEntry.objects.filter(action=AuditEntry.Action.TRASH, actor=fixer)
    assert sorted(trashed.values_list("session_id", flat=True)) == ["a", "b"]
    assert audit(AuditEntry.Action.RESTORE).actor == fixer


def test_recompute_action_repairs_structure_and_is_audited(client, fixer):
    make_conversation("c", turns=2, branches=1)
    MessageStructure.objects.filter(session_id="c").update(message_type="other", tool_name=None)

    act(client, "recompute_structure", "c")

    kinds = MessageStructure.objects.filter(session_id="c", branch_id="main")
    assert (
        list(kinds.order_by("sequence_number").values_list("message_type", flat=True))
        == [
            "user",
            "function_call",
            "function_call_output",
            "assistant",
        ]
        * 2
    )
    entry = audit(AuditEntry.Action.RECOMPUTE)
    assert (entry.actor, entry.detail) == (fixer, {"adopted": 0, "changed": 12})


def test_purge_asks_for_confirmation_then_purges_and_is_audited(client, fixer):
    make_conversation("c")
    conversations.trash(session_id="c")

    confirm = act(client, "purge", "c")
    assert "Purge conversations for good?" in confirm.content.decode()
    assert AgentSession.objects.filter(pk="c").exists()

    act(client, "purge", "c", confirmed="yes")

    assert not AgentSession.objects.filter(pk="c").exists()
    assert not AgentMessage.objects.filter(session_id="c").exists()
    assert audit(AuditEntry.Action.PURGE).actor == fixer


def test_purge_refuses_a_conversation_not_in_the_trash(client):
    make_conversation("c")

    response = act(client, "purge", "c", confirmed="yes")

    assert AgentSession.objects.filter(pk="c").exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PURGE).exists()
    assert response.status_code == 302


def test_purge_needs_its_own_permission(editor_client):
    make_conversation("c")
    conversations.trash(session_id="c")

    changelist = editor_client.get(reverse("admin:convstore_agentsession_changelist"))
    act(editor_client, "purge", "c", confirmed="yes")

    assert '"purge"' not in changelist.content.decode()
    assert AgentSession.objects.filter(pk="c").exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PURGE).exists()


def test_export_action_downloads_an_sdk_sqlite_file(client):
    make_conversation("c")

    response = act(client, "export_sqlite", "c")

    assert response["Content-Disposition"] == 'attachment; filename="c.sqlite3"'
    assert response.content.startswith(b"SQLite format 3\x00")


# --- prices --------------------------------------------------------------------


def test_price_changes_are_audited_with_the_admin_user(client, fixer):
    add = reverse("admin:convstore_modelprice_add")
    fields = {
        "model_name": "house-model",
        "effective_from": "2026-01-01",
        "input_per_million": "1.00",
        "cached_input_per_million": "0.10",
        "output_per_million": "4.00",
    }
    client.post(add, {**fields, "_save": "Save"})
    price = ModelPrice.objects.get(model_name="house-model")
    change = reverse("admin:convstore_modelprice_change", args=[price.pk])
    client.post(change, {**fields, "output_per_million": "5.00", "_save": "Save"})
    delete = reverse("admin:convstore_modelprice_delete", args=[price.pk])
    client.post(delete, {"post": "yes"})

    entries = AuditEntry.objects.filter(detail__model_price=price.pk).order_by("id")
    assert [entry.actor for entry in entries] == [fixer] * 3
    added, changed, deleted = (entry.detail for entry in entries)
    assert added["before"] is None and added["after"]["output_per_million"] == "4.0000"
    assert changed["before"]["output_per_million"] == "4.0000"
    assert changed["after"]["output_per_million"] == "5.0000"
    assert deleted["after"] is None
    assert not ModelPrice.objects.filter(model_name="house-model").exists()
