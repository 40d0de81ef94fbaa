"""convstore.view_content: staff without it see every figure and no message text, anywhere.

Each page is asked for by a user who holds the marker text's permission (the
marker is there, so the check can fail) and by one who does not (it is not).
"""

import re

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from analytics import selectors
from convstore import conversations
from convstore.models import AgentMessage, AgentSession, AuditEntry, MessageStructure
from tests.content_data import MARK, MARKERS, TOKENS_PER_TURN, TOOL, marked_conversation

pytestmark = pytest.mark.django_db

CONTENT_HIDDEN = "Content hidden: you may see figures but not message text."
MESSAGE_PAGE_LINK = re.compile(r"/admin/convstore/agentmessage/\d+/change/")


@pytest.fixture
def secret(db) -> str:
    """Two marked turns on main, a branch "retry" with one more; and a marked one in the trash."""
    marked_conversation("secret")
    marked_conversation("binned", turns=1, branch=None)
    conversations.trash(session_id="binned")
    # A message edit records the item before and after in the audit log.
    message = AgentMessage.objects.filter(session_id="secret").earliest("id")
    conversations.edit_message(
        message_id=message.pk, item={"role": "user", "content": f"{MARKERS['user']} edited"}
    )
    return "secret"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def dashboard_urls(session_id: str) -> dict[str, str]:
    conversation = reverse("analytics:conversation", args=[session_id])
    return {
        "overview": reverse("analytics:overview") + "?period=all",
        "conversations": reverse("analytics:conversations"),
        "conversation": conversation,
        "branch": f"{conversation}?branch=retry",
        "compare": reverse("analytics:compare", args=[session_id]) + "?a=main&b=retry",
        "trash": reverse("analytics:trash"),
        "trashed_conversation": reverse("analytics:conversation", args=["binned"]),
        "audit": reverse("analytics:audit"),
        "audit_edits": reverse("analytics:audit") + "?action=edit",
    }


PAGES = list(dashboard_urls("x"))


def body(client: Client, url: str, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.content.decode()


# --- the dashboard -------------------------------------------------------------------


def test_the_selectors_asked_for_no_text_return_none(secret):
    """The pages' templates are never given text: the selectors leave it out."""
    session = AgentSession.objects.get(pk=secret)

    def shown(with_text: bool) -> str:
        detail = selectors.conversation_detail_get(
            session=session, branch_id="main", with_text=with_text
        )
        comparison = selectors.branch_comparison_get(
            session=session, branch_a="main", branch_b="retry", with_text=with_text
        )
        entries = selectors.audit_list(with_text=with_text).rows
        return repr([detail, comparison, [entry.detail_pairs for entry in entries]])

    assert all(marker in shown(True) for marker in MARKERS.values())
    assert MARK not in shown(False)
    found = selectors.conversation_list(q=MARKERS["output"], search_text=False)
    assert found.rows == []


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("page", PAGES)
def test_staff_without_view_content_see_no_marker_on_any_page(secret, figures_only, page, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    assert MARK not in body(client_for(figures_only), dashboard_urls(secret)[page], **headers)


def test_the_markers_are_on_the_pages_for_a_viewer_who_may_read_them(secret, viewer):
    client = client_for(viewer)
    conversation = body(client, dashboard_urls(secret)["conversation"])
    assert all(marker in conversation for marker in MARKERS.values())
    assert MARKERS["user"] in body(client, dashboard_urls(secret)["compare"])
    assert MARKERS["user"] in body(client, dashboard_urls(secret)["audit_edits"])
    assert CONTENT_HIDDEN not in conversation


def test_the_conversation_page_shows_the_figures_and_one_placeholder(secret, figures_only):
    page = body(client_for(figures_only), dashboard_urls(secret)["conversation"])

    assert page.count(CONTENT_HIDDEN) == 1
    assert '<span class="value" data-testid="turn-count">2</span>' in page
    assert f"{2 * TOKENS_PER_TURN:,}" in page  # the branch's tokens
    assert f"<code>{TOOL}</code>" in page
    # Each item: its kind and size, in place of its text.
    assert page.count('class="item withheld') == 10
    assert page.count('<span class="kind">Reasoning</span>') == 2
    assert page.count('<span class="kind">Tool call</span>') == 2
    assert f"{len(MARKERS['assistant'])} characters" in page
    # No way to ask for the text: the exports are not offered.
    assert "/export/" not in page


def test_the_compare_page_shows_usage_and_sizes_not_text(secret, figures_only):
    page = body(client_for(figures_only), dashboard_urls(secret)["compare"])

    assert page.count(CONTENT_HIDDEN) == 1
    assert f"{TOKENS_PER_TURN:,}" in page
    assert f"User message, {len(MARKERS['user']) + 2} characters" in page
    assert "same message" in page  # turn 1, shared by the fork


def test_the_audit_log_names_a_message_edit_without_its_text(secret, figures_only):
    page = body(client_for(figures_only), dashboard_urls(secret)["audit_edits"])
    message_id = AuditEntry.objects.get(action="edit").detail["message_id"]
    assert f"message_id={message_id}" in page
    assert "before=(withheld)" in page and "after=(withheld)" in page


def test_the_overview_and_the_list_show_the_figures(secret, figures_only):
    client = client_for(figures_only)
    overview = body(client, dashboard_urls(secret)["overview"])
    listing = body(client, dashboard_urls(secret)["conversations"])
    # 3 turns run on secret, 1 on binned (in the trash, left out).
    assert f"{3 * TOKENS_PER_TURN:,}" in overview and f"<code>{TOOL}</code>" in overview
    assert f"<strong>{3 * TOKENS_PER_TURN:,}</strong> tokens" in listing


def listed(client: Client, q: str) -> bool:
    url = reverse("analytics:conversations") + "?" + f"q={q}"
    return reverse("analytics:conversation", args=["secret"]) in body(client, url)


def test_the_search_finds_text_only_for_those_who_may_read_it(secret, viewer, figures_only):
    assert listed(client_for(viewer), MARKERS["assistant"])
    assert not listed(client_for(figures_only), MARKERS["assistant"])
    # Ids (and titles) are figures: they are searched for everyone.
    assert listed(client_for(figures_only), "secr")


def test_the_list_says_what_the_search_looks_in(secret, viewer, figures_only):
    scope = "Search looks in ids and titles only"
    assert scope in body(client_for(figures_only), reverse("analytics:conversations"))
    assert 'placeholder="Id or title"' in body(
        client_for(figures_only), reverse("analytics:conversations")
    )
    assert scope not in body(client_for(viewer), reverse("analytics:conversations"))


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_forged_export_is_refused(secret, figures_only, fmt):
    client = client_for(figures_only)
    url = reverse(f"analytics:export_{fmt}", args=[secret])
    assert client.get(url).status_code == 403
    assert client.get(url + "?branch=retry").status_code == 403
    # Refused before the conversation is looked up: a refusal tells nothing of it.
    assert client.get(reverse(f"analytics:export_{fmt}", args=["nothing"])).status_code == 403


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_export_holds_the_text_for_a_viewer(secret, viewer, fmt):
    response = client_for(viewer).get(reverse(f"analytics:export_{fmt}", args=[secret]))
    assert response.status_code == 200
    content = response.content.decode()
    assert all(marker in content for marker in MARKERS.values())


def test_a_superuser_reads_text_without_being_granted_it(secret):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    assert boss.has_perm(conversations.CONTENT_PERMISSION)
    assert MARKERS["reasoning"] in body(client_for(boss), dashboard_urls(secret)["conversation"])


def test_the_permission_reads_as_its_purpose():
    permission = Permission.objects.get(codename="view_content")
    assert (permission.content_type.app_label, permission.content_type.model) == (
        "convstore",
        "agentsession",
    )
    assert permission.name == "Can read message content"


# --- the admin -----------------------------------------------------------------------

ADMIN_VIEW = (
    "view_agentsession",
    "view_agentmessage",
    "view_messagestructure",
    "view_auditentry",
    "view_turnusage",
    "view_branch",
)


def admin_user(name: str, *extra: str) -> User:
    user = User.objects.create_user(name, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="convstore", codename__in=[*ADMIN_VIEW, *extra]
        )
    )
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admin_figures_only(db) -> User:
    """Staff who may view every table in the admin, but no message text."""
    return admin_user("admin-figures")


@pytest.fixture
def admin_reader(db) -> User:
    return admin_user("admin-reader", "view_content")


def admin_urls(session_id: str) -> dict[str, str]:
    message = AgentMessage.objects.filter(session_id=session_id).earliest("id")
    structure = MessageStructure.objects.filter(session_id=session_id).earliest("id")
    edit = AuditEntry.objects.get(action="edit")
    changelist = "admin:convstore_{}_changelist"
    return {
        "conversations": reverse(changelist.format("agentsession")),
        "conversation": reverse("admin:convstore_agentsession_change", args=[quote(session_id)]),
        "conversation_branch": reverse(
            "admin:convstore_agentsession_change", args=[quote(session_id)]
        )
        + "?branch=retry",
        "messages": reverse(changelist.format("agentmessage")),
        "messages_of_one": reverse(changelist.format("agentmessage")) + f"?session_id={session_id}",
        "structure": reverse(changelist.format("messagestructure")),
        "structure_row": reverse("admin:convstore_messagestructure_change", args=[structure.pk]),
        "audit": reverse(changelist.format("auditentry")),
        "audit_edit": reverse("admin:convstore_auditentry_change", args=[edit.pk]),
        "usage": reverse(changelist.format("turnusage")),
        "branches": reverse(changelist.format("branch")),
        "message_history": reverse("admin:convstore_agentmessage_history", args=[message.pk]),
    }


ADMIN_PAGES = [
    "conversations",
    "conversation",
    "conversation_branch",
    "messages",
    "messages_of_one",
    "structure",
    "structure_row",
    "audit",
    "audit_edit",
    "usage",
    "branches",
    "message_history",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_the_admin_shows_no_marker_without_view_content(secret, admin_figures_only, page):
    assert MARK not in body(client_for(admin_figures_only), admin_urls(secret)[page])


@pytest.mark.parametrize(
    "page", ["conversation", "messages", "messages_of_one", "structure", "audit_edit"]
)
def test_the_admin_shows_the_markers_with_view_content(secret, admin_reader, page):
    assert MARK in body(client_for(admin_reader), admin_urls(secret)[page])


def test_the_admin_conversation_page_keeps_its_figures(secret, admin_figures_only):
    page = body(client_for(admin_figures_only), admin_urls(secret)["conversation"])
    assert "Items of main (10)" in page
    assert "Usage per turn of main (2 turns)" in page
    assert page.count(CONTENT_HIDDEN) == 1
    assert f"<td>{TOOL}</td>" in page
    # No link to a message's page, which would be refused.
    assert not MESSAGE_PAGE_LINK.search(page)


def test_the_admin_conversation_page_links_its_messages_for_a_reader(secret, admin_reader):
    page = body(client_for(admin_reader), admin_urls(secret)["conversation"])
    assert len(MESSAGE_PAGE_LINK.findall(page)) == 10
    assert CONTENT_HIDDEN not in page


def test_the_message_list_keeps_the_kind_but_no_text_column(secret, admin_figures_only):
    response = client_for(admin_figures_only).get(admin_urls(secret)["messages_of_one"])
    assert tuple(response.context["cl"].list_display) == (
        "id",
        "conversation",
        "kind",
        "created_at",
    )
    page = response.content.decode()
    assert "function_call" in page
    assert not MESSAGE_PAGE_LINK.search(page)


def test_a_message_page_is_refused_without_view_content(secret, admin_figures_only):
    message = AgentMessage.objects.filter(session_id=secret).latest("id")
    url = reverse("admin:convstore_agentmessage_change", args=[message.pk])
    client = client_for(admin_figures_only)
    before = message.message_data

    assert client.get(url).status_code == 403
    posted = client.post(url, {"message_data": '{"role": "user", "content": "x"}', "_save": "1"})
    assert posted.status_code == 403
    assert AgentMessage.objects.get(pk=message.pk).message_data == before


def test_a_message_page_shows_its_item_with_view_content(secret, admin_reader):
    message = AgentMessage.objects.filter(session_id=secret).latest("id")
    url = reverse("admin:convstore_agentmessage_change", args=[message.pk])
    assert MARKERS["assistant"] in body(client_for(admin_reader), url)


def export_action(client: Client, *session_ids: str):
    return client.post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": "export_sqlite", "_selected_action": list(session_ids)},
    )


def test_the_sdk_file_download_is_not_offered_and_refused_without_view_content(
    secret, admin_figures_only
):
    client = client_for(admin_figures_only)
    changelist = body(client, reverse("admin:convstore_agentsession_changelist"))
    assert 'value="export_sqlite"' not in changelist
    assert export_action(client, secret).status_code == 403


def test_the_sdk_file_download_is_offered_to_a_reader(secret, admin_reader):
    client = client_for(admin_reader)
    changelist = body(client, reverse("admin:convstore_agentsession_changelist"))
    assert 'value="export_sqlite"' in changelist
    response = export_action(client, secret)
    assert response.content.startswith(b"SQLite format 3\x00")


# --- upgrading: the grant follows the permissions that showed text -----------------


def migrate(*args: str) -> None:
    call_command("migrate", *args, verbosity=0)


@pytest.fixture
def migrated_at_the_end():
    yield
    migrate()


def perms(codenames) -> list[Permission]:
    return list(
        Permission.objects.filter(content_type__app_label="convstore", codename__in=codenames)
    )


def reads_text(user: User) -> bool:
    return User.objects.get(pk=user.pk).has_perm(conversations.CONTENT_PERMISSION)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_at_the_end")
def test_the_migration_grants_view_content_where_text_was_shown_and_takes_it_back():
    viewers = Group.objects.create(name="viewers")
    viewers.permissions.set(perms(["view_agentsession"]))
    in_group = User.objects.create_user("in-group", is_staff=True)
    in_group.groups.add(viewers)
    direct = User.objects.create_user("direct", is_staff=True)
    direct.user_permissions.set(perms(["view_agentsession"]))
    admin_only = User.objects.create_user("admin-only", is_staff=True)
    admin_only.user_permissions.set(perms(["change_agentmessage"]))
    nobody = User.objects.create_user("nobody", is_staff=True)
    nobody.user_permissions.set(perms(["view_turnusage"]))
    by_hand = User.objects.create_user("by-hand", is_staff=True)
    by_hand.user_permissions.set(perms(["view_content"]))
    users = (in_group, direct, admin_only, nobody, by_hand)

    migrate("convstore", "0005")  # before the permission existed
    assert [reads_text(user) for user in users] == [False, False, False, False, True]

    migrate("convstore", "0006")  # the upgrade
    assert [reads_text(user) for user in users] == [True, True, True, False, True]
    assert viewers.permissions.filter(codename="view_content").exists()
    assert not in_group.user_permissions.exists()  # through the group only

    migrate("convstore", "0005")  # and back: the grant by hand stays
    assert [reads_text(user) for user in users] == [False, False, False, False, True]
    assert not viewers.permissions.filter(codename="view_content").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_at_the_end")
def test_the_migration_creates_the_permission_on_a_database_that_never_had_it():
    direct = User.objects.create_user("direct", is_staff=True)
    direct.user_permissions.set(perms(["view_agentsession"]))
    migrate("convstore", "0005")
    Permission.objects.filter(codename="view_content").delete()

    migrate("convstore", "0006")

    assert reads_text(direct)
    assert Permission.objects.get(codename="view_content").name == "Can read message content"
