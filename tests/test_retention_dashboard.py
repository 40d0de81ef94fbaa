"""Legal holds, TTLs, purge dates and the storage page in the dashboard and the admin."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.selectors.storage import database_sizes
from convstore import conversations
from convstore.models import AgentMessage, AgentSession, AuditEntry, MessageStructure
from tests import dashboard_data as data
from tests.conftest import database_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(editor, django_user_model):
    """An editor who may also place and lift legal holds."""
    editor.user_permissions.add(Permission.objects.get(codename="hold_agentsession"))
    return django_user_model.objects.get(pk=editor.pk)


def csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("analytics:storage"))
    return client, client.cookies["csrftoken"].value


def hold_url(session_id: str) -> str:
    return reverse("analytics:place_hold", args=[session_id])


def lift_url(session_id: str) -> str:
    return reverse("analytics:lift_hold", args=[session_id])


# --- legal hold in the dashboard ---------------------------------------------------------------


def test_a_holder_places_and_lifts_a_hold_with_a_reason(chat, holder):
    client, token = csrf_client(holder)
    page = client.get(reverse("analytics:conversation", args=[chat])).content.decode()
    assert 'data-testid="place-hold"' in page

    response = client.post(hold_url(chat), {"reason": "Case 2026-17", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    session = AgentSession.objects.get(pk=chat)
    assert (session.on_hold, session.held_by, session.hold_reason) == (True, holder, "Case 2026-17")
    page = client.get(response.url).content.decode()
    assert "On legal hold since" in page and "Case 2026-17" in page
    assert 'data-testid="lift-hold"' in page

    client.post(lift_url(chat), {"reason": "Case closed", "csrfmiddlewaretoken": token})

    assert not AgentSession.objects.get(pk=chat).on_hold
    entries = AuditEntry.objects.filter(
        session_id=chat, actor=holder, action__in=["hold", "release_hold"]
    ).order_by("id")
    assert [(e.action, e.detail["reason"]) for e in entries] == [
        ("hold", "Case 2026-17"),
        ("release_hold", "Case closed"),
    ]


def test_a_hold_without_a_reason_is_refused_and_changes_nothing(chat, holder):
    client, token = csrf_client(holder)
    before = database_snapshot()

    response = client.post(hold_url(chat), {"reason": "  ", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert database_snapshot() == before
    page = client.get(response.url).content.decode()
    assert "Reason: This field is required." in page


def test_an_editor_without_the_hold_permission_gets_403_and_no_form(chat, editor):
    client, token = csrf_client(editor)
    page = client.get(reverse("analytics:conversation", args=[chat])).content.decode()
    before = database_snapshot()

    response = client.post(hold_url(chat), {"reason": "forged", "csrfmiddlewaretoken": token})

    assert 'data-testid="place-hold"' not in page
    assert response.status_code == 403
    assert database_snapshot() == before


def test_a_hold_post_without_the_csrf_token_is_refused(chat, holder):
    client, _ = csrf_client(holder)

    response = client.post(hold_url(chat), {"reason": "no token"})

    assert response.status_code == 403
    assert not AgentSession.objects.get(pk=chat).on_hold


def test_holding_an_unknown_conversation_is_not_found(holder):
    client, token = csrf_client(holder)
    response = client.post(hold_url("nope"), {"reason": "x", "csrfmiddlewaretoken": token})
    assert response.status_code == 404


def test_a_held_conversation_in_the_trash_shows_never_and_no_purge_button(chat, purger):
    conversations.place_hold(session_id="binned", reason="Subpoena")

    page = Client()
    page.force_login(purger)
    html = page.get(reverse("analytics:trash")).content.decode()

    row = html.split('data-trashed="binned"')[1].split("</tr>")[0]
    assert "legal hold</span> never" in row
    assert "Purge…" not in row
    response = page.post(reverse("analytics:purge", args=["binned"]))
    assert AgentSession.objects.filter(pk="binned").exists()
    assert "is on legal hold and cannot be purged" in page.get(response.url).content.decode()


def test_the_trash_shows_each_conversations_purge_date(chat, viewer, settings):
    settings.CONVSTORE_TRASH_DAYS = 30
    trashed = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    AgentSession.objects.filter(pk="binned").update(deleted_at=trashed)
    client = data.client_for(viewer)

    html = client.get(reverse("analytics:trash")).content.decode()
    assert '<span title="by the next retention run after this date">2026-03-31</span>' in html

    settings.CONVSTORE_TRASH_DAYS = None
    html = client.get(reverse("analytics:trash")).content.decode()
    assert "The trash is kept: no policy purges it." in html
    assert '<span class="muted">kept</span>' in html


def test_the_list_can_show_only_held_conversations(chat, viewer):
    data.conversation("other", turns=1)
    conversations.place_hold(session_id=chat, reason="Case 1")
    client = data.client_for(viewer)

    held = client.get(reverse("analytics:conversations"), {"held": "yes"}).content.decode()
    every = client.get(reverse("analytics:conversations")).content.decode()

    assert chat in held and "other" not in held
    assert 'data-testid="held"' in held
    assert chat in every and "other" in every


# --- TTL ---------------------------------------------------------------------------------------


def test_the_conversation_page_shows_the_ttl_and_marks_expired_items(chat, viewer):
    conversations.set_ttl(session_id=chat, ttl=7 * 86400)
    first_turn = MessageStructure.objects.filter(
        session_id=chat, branch_id="main", user_turn_number=1
    ).values("message_id")
    AgentMessage.objects.filter(id__in=first_turn).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )

    html = data.client_for(viewer).get(reverse("analytics:conversation", args=[chat]))
    html = html.content.decode()

    assert "TTL 7 days: older items expire" in html
    assert html.count('data-testid="expired-item"') == 5
    assert "Question 1 of chat-1" not in html
    assert "Question 2 of chat-1" in html
    assert "could not be read" not in html


# --- the storage page ----------------------------------------------------------------------------


def storage(user) -> str:
    response = data.client_for(user).get(reverse("analytics:storage"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_storage_page_shows_counts_policies_holds_and_sizes(chat, viewer, settings):
    settings.CONVSTORE_RETAIN_DAYS = 90
    settings.CONVSTORE_TRASH_DAYS = 30
    conversations.place_hold(session_id=chat, reason="Case 2026-17")

    html = storage(viewer)

    assert 'data-testid="count-live">1<' in html
    assert 'data-testid="count-trash">1<' in html
    assert 'data-testid="count-held">1<' in html
    assert f'data-testid="count-messages">{AgentMessage.objects.count()}<' in html
    assert 'data-testid="count-usage">5<' in html
    assert "<strong>90 days</strong> without activity" in html
    assert "purged <strong>30 days</strong> after" in html
    assert "Case 2026-17" in html
    if database_sizes()["per_table"]:
        assert '<td class="mono">agent_messages</td>' in html
    else:
        assert "only the total is known" in html
    assert 'href="/storage/" aria-current="page"' in html


def test_the_storage_page_lists_the_next_purges_with_their_dates(chat, viewer, settings):
    settings.CONVSTORE_TRASH_DAYS = 10
    AgentSession.objects.filter(pk="binned").update(
        deleted_at=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    )

    html = storage(viewer).split('data-testid="next-purges"')[1].split("</section>")[0]

    assert "binned" in html and "2026-05-11" in html


def test_the_storage_page_warns_when_retention_has_not_run_for_two_days(chat, viewer, settings):
    settings.CONVSTORE_TRASH_DAYS = 30
    assert "retention has never run" in storage(viewer)

    conversations.apply_retention(dry_run=True)
    assert "retention has never run" in storage(viewer)

    conversations.apply_retention()
    html = storage(viewer)
    assert 'data-testid="retention-overdue"' not in html
    assert "0 trashed, 0 purged, 0 expired items deleted" in html

    from convstore.models import RetentionRun

    RetentionRun.objects.update(started_at=timezone.now() - datetime.timedelta(days=3))
    assert "retention has not run since" in storage(viewer)

    settings.CONVSTORE_TRASH_DAYS = None
    assert 'data-testid="retention-overdue"' not in storage(viewer)


def test_the_storage_page_shows_the_last_backup_when_one_was_recorded(chat, viewer):
    assert "no backup recorded" in storage(viewer)

    AuditEntry.objects.create(
        action="backup", session_id="", actor_label="command", detail={"path": "/backups/a.db"}
    )

    assert "/backups/a.db" in storage(viewer)


def test_the_storage_page_needs_a_staff_member(chat, outsider):
    assert Client().get(reverse("analytics:storage")).status_code == 302
    assert data.client_for(outsider).get(reverse("analytics:storage")).status_code == 403


def storage_queries(user) -> int:
    client = data.client_for(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("analytics:storage")).status_code == 200
    return len(captured)


def test_the_storage_page_runs_the_same_queries_with_few_or_many_rows(viewer, settings):
    settings.CONVSTORE_RETAIN_DAYS = 90
    data.conversation("one", turns=1)
    few = storage_queries(viewer)
    for number in range(15):
        session_id = f"many-{number}"
        data.conversation(session_id, turns=2)
        conversations.place_hold(session_id=session_id, reason=f"Case {number}")
        if number % 2:
            conversations.trash(session_id=session_id)
    conversations.apply_retention()

    many = storage_queries(viewer)

    assert few == many
    assert many <= 20


# --- the admin ---------------------------------------------------------------------------------


def admin_action(client: Client, action: str, session_id: str, **extra) -> str:
    response = client.post(
        reverse("admin:convstore_agentsession_changelist"),
        {"action": action, "_selected_action": [session_id], **extra},
        follow=True,
    )
    return response.content.decode()


def test_the_admin_places_a_hold_after_asking_for_a_reason(chat, admin_client):
    asked = admin_action(admin_client, "place_hold", chat)
    assert "Reason (recorded in the audit log)" in asked
    assert not AgentSession.objects.get(pk=chat).on_hold

    missing = admin_action(admin_client, "place_hold", chat, confirmed="yes", reason=" ")
    assert "A reason is required." in missing
    assert not AgentSession.objects.get(pk=chat).on_hold

    done = admin_action(admin_client, "place_hold", chat, confirmed="yes", reason="Case 5")
    assert "Placed on legal hold: 1 conversation(s)." in done
    assert AgentSession.objects.get(pk=chat).hold_reason == "Case 5"
    assert AuditEntry.objects.get(action="hold", session_id=chat).detail == {"reason": "Case 5"}

    admin_action(admin_client, "lift_hold", chat, confirmed="yes", reason="Closed")
    assert not AgentSession.objects.get(pk=chat).on_hold


def test_the_admin_purge_action_refuses_a_held_conversation(chat, admin_client):
    conversations.place_hold(session_id="binned", reason="Subpoena")

    page = admin_action(admin_client, "purge", "binned", confirmed="yes")

    assert "is on legal hold and cannot be purged" in page
    assert AgentSession.objects.filter(pk="binned").exists()


def test_the_admin_hold_actions_need_the_permission(chat, editor):
    client = Client()
    client.force_login(editor)
    editor.is_staff = True

    changelist = client.get(reverse("admin:convstore_agentsession_changelist")).content.decode()
    admin_action(client, "place_hold", chat, confirmed="yes", reason="forged")

    assert '"place_hold"' not in changelist
    assert not AgentSession.objects.get(pk=chat).on_hold
