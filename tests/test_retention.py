"""The retention policies, legal holds and TTLs, through the write layer and apply_retention."""

import datetime
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from convstore import conversations
from convstore.models import (
    AgentMessage,
    AgentSession,
    AuditEntry,
    MessageStructure,
    RetentionRun,
    TurnUsage,
)
from convstore.policies import parse_days, retention_policies
from convstore.session import DjangoSession
from tests import dashboard_data
from tests.conftest import database_snapshot, run_async

pytestmark = pytest.mark.django_db


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def idle_for(session_id: str, days: float) -> None:
    AgentSession.objects.filter(pk=session_id).update(updated_at=days_ago(days))


def trashed_for(session_id: str, days: float) -> None:
    conversations.trash(session_id=session_id)
    AgentSession.objects.filter(pk=session_id).update(deleted_at=days_ago(days))


def live_ids() -> list[str]:
    return sorted(AgentSession.objects.filter(deleted_at=None).values_list("pk", flat=True))


def trash_ids() -> list[str]:
    return sorted(AgentSession.objects.exclude(deleted_at=None).values_list("pk", flat=True))


def retention_entries(action: str) -> list[str]:
    return sorted(
        AuditEntry.objects.filter(action=action, actor_label="retention").values_list(
            "session_id", flat=True
        )
    )


@pytest.fixture
def policies(settings):
    settings.CONVSTORE_RETAIN_DAYS = 90
    settings.CONVSTORE_TRASH_DAYS = 30
    return settings


# --- trash idle ------------------------------------------------------------------------


def test_a_conversation_idle_longer_than_the_policy_moves_to_the_trash(policies):
    for session_id in ("idle", "recent"):
        dashboard_data.conversation(session_id, turns=1)
    idle_for("idle", 91)
    idle_for("recent", 89)

    report = conversations.apply_retention()

    assert trash_ids() == ["idle"]
    assert report.results["trash idle"].first_ids == ["idle"]
    entry = AuditEntry.objects.get(action="trash", session_id="idle")
    assert (entry.actor, entry.actor_label) == (None, "retention")
    assert entry.detail == {"rule": "idle", "retain_days": 90}
    assert AgentSession.objects.get(pk="idle").deleted_by is None


def test_without_a_retain_setting_nothing_is_trashed_for_being_idle(settings):
    settings.CONVSTORE_RETAIN_DAYS = None
    dashboard_data.conversation("ancient", turns=1)
    idle_for("ancient", 3650)

    conversations.apply_retention()

    assert live_ids() == ["ancient"]


def test_a_restored_conversation_is_not_trashed_again_by_the_next_run(policies):
    dashboard_data.conversation("comeback", turns=1)
    idle_for("comeback", 200)
    conversations.apply_retention()
    assert trash_ids() == ["comeback"]

    conversations.restore(session_id="comeback")
    conversations.apply_retention()

    assert live_ids() == ["comeback"]


def test_a_conversation_written_to_during_the_run_is_not_trashed(policies):
    for session_id in ("a", "b", "c"):
        dashboard_data.conversation(session_id, turns=1)
        idle_for(session_id, 120)

    def agent_writes_to_b(rule: str, ids: list[str]) -> None:
        # After the batch was listed and before it is locked and applied.
        if rule == "trash idle" and ids == ["b"]:
            dashboard_data.add_turn("b", "I am still here")

    report = conversations.apply_retention(batch_size=1, on_batch=agent_writes_to_b)

    assert trash_ids() == ["a", "c"]
    assert live_ids() == ["b"]
    assert report.results["trash idle"].skipped == 1
    assert retention_entries("trash") == ["a", "c"]


# --- purge trash ------------------------------------------------------------------------


def test_the_trash_older_than_the_policy_is_purged_for_good(policies):
    for session_id in ("old-trash", "new-trash"):
        dashboard_data.conversation(session_id, turns=2)
    trashed_for("old-trash", 31)
    trashed_for("new-trash", 29)

    report = conversations.apply_retention()

    assert trash_ids() == ["new-trash"]
    assert report.results["purge trash"].first_ids == ["old-trash"]
    for model in (AgentMessage, MessageStructure, TurnUsage):
        assert not model.objects.filter(session_id="old-trash").exists()
    entry = AuditEntry.objects.get(action="purge", session_id="old-trash")
    assert entry.actor_label == "retention"
    assert entry.detail["rows"]["agent_messages"] == 10


def test_trash_days_never_keeps_the_trash_forever(policies):
    policies.CONVSTORE_TRASH_DAYS = None
    dashboard_data.conversation("kept", turns=1)
    trashed_for("kept", 5000)

    conversations.apply_retention()

    assert trash_ids() == ["kept"]


def test_a_conversation_restored_during_the_run_is_not_purged(policies):
    for session_id in ("x", "y"):
        dashboard_data.conversation(session_id, turns=1)
        trashed_for(session_id, 40)

    def restore_y(rule: str, ids: list[str]) -> None:
        if rule == "purge trash" and "y" in ids:
            conversations.restore(session_id="y")

    report = conversations.apply_retention(batch_size=5, on_batch=restore_y)

    assert live_ids() == ["y"]
    assert trash_ids() == []
    assert report.results["purge trash"].skipped == 1


# --- TTL expiry ---------------------------------------------------------------------------


def test_items_older_than_the_conversations_ttl_are_deleted_and_usage_stays(policies):
    dashboard_data.conversation("short-lived", turns=2)
    conversations.set_ttl(session_id="short-lived", ttl=3600)
    first_turn = list(
        MessageStructure.objects.filter(session_id="short-lived", user_turn_number=1).values_list(
            "message_id", flat=True
        )
    )
    AgentMessage.objects.filter(id__in=first_turn).update(
        created_at=timezone.now() - datetime.timedelta(hours=2)
    )

    report = conversations.apply_retention(expire_batch_size=2)

    assert report.results["TTL expiry"].items == 5
    remaining = MessageStructure.objects.filter(session_id="short-lived")
    assert sorted(set(remaining.values_list("user_turn_number", flat=True))) == [2]
    assert AgentMessage.objects.filter(session_id="short-lived").count() == 5
    assert TurnUsage.objects.filter(session_id="short-lived").count() == 2
    entries = AuditEntry.objects.filter(action="expire", session_id="short-lived")
    assert sorted(entry.detail["items"] for entry in entries) == [1, 2, 2]
    assert {entry.actor_label for entry in entries} == {"retention"}


@pytest.mark.django_db(transaction=True)
def test_a_session_given_a_ttl_keeps_it_on_the_conversation():
    session = DjangoSession("with-ttl", ttl=7 * 86400)
    run_async(session.add_items([{"role": "user", "content": "hello"}]))
    run_async(DjangoSession("with-ttl").add_items([{"role": "user", "content": "again"}]))

    assert AgentSession.objects.get(pk="with-ttl").ttl_seconds == 7 * 86400


# --- runs, dry runs ------------------------------------------------------------------------


def lifecycle_data() -> None:
    for session_id in ("idle", "old-trash", "trimmed", "fresh"):
        dashboard_data.conversation(session_id, turns=1)
    idle_for("idle", 100)
    trashed_for("old-trash", 60)
    conversations.set_ttl(session_id="trimmed", ttl=60)
    AgentMessage.objects.filter(session_id="trimmed").update(created_at=days_ago(1))


def test_a_dry_run_changes_nothing_and_tells_what_a_run_would_do(policies):
    lifecycle_data()
    before = database_snapshot()

    dry = conversations.apply_retention(dry_run=True)

    after = database_snapshot()
    after.pop("convstore_retention_run")
    before.pop("convstore_retention_run")
    assert after == before
    real = conversations.apply_retention()
    assert (
        dry.counts()
        == real.counts()
        == {
            "trash_idle": 1,
            "purge_trash": 1,
            "expired_items": 5,
            "expired_conversations": 1,
            "skipped": 0,
        }
    )
    runs = list(RetentionRun.objects.order_by("started_at").values_list("dry_run", "counts"))
    assert runs == [(True, dry.counts()), (False, real.counts())]


def test_a_second_run_does_nothing(policies):
    lifecycle_data()
    conversations.apply_retention()
    before = database_snapshot()

    again = conversations.apply_retention()

    assert again.counts() == {
        "trash_idle": 0,
        "purge_trash": 0,
        "expired_items": 0,
        "expired_conversations": 0,
        "skipped": 0,
    }
    after = database_snapshot()
    assert len(after.pop("convstore_retention_run")) == 2
    before.pop("convstore_retention_run")
    assert after == before


def test_the_command_prints_counts_and_first_ids_per_rule(policies):
    lifecycle_data()
    out = io.StringIO()

    call_command("apply_retention", "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        "Retention (dry run: nothing changed)",
        "  Trash idle conversations: after 90 days without activity",
        "  Purge the trash: after 30 days in the trash",
        "  TTL expiry: items older than their conversation's TTL",
        "trash idle: 1 conversation(s) would be moved to the trash (first: idle)",
        "purge trash: 1 conversation(s) would be purged (first: old-trash)",
        "TTL expiry: 1 conversation(s) would be trimmed, 5 expired item(s) (first: trimmed)",
    ]
    assert trash_ids() == ["old-trash"]

    call_command("apply_retention", stdout=io.StringIO())
    assert trash_ids() == ["idle"]


# --- legal hold ------------------------------------------------------------------------------


def test_a_held_conversation_survives_every_rule(policies):
    lifecycle_data()
    for session_id in ("idle", "old-trash", "trimmed"):
        conversations.place_hold(session_id=session_id, reason="Litigation 2026-17")
    before = database_snapshot()

    report = conversations.apply_retention()

    assert report.counts()["trash_idle"] == report.counts()["purge_trash"] == 0
    assert report.counts()["expired_items"] == 0
    after = database_snapshot()
    for table in ("agent_messages", "message_structure", "turn_usage", "convstore_branch"):
        assert after[table] == before[table]
    assert trash_ids() == ["old-trash"]


def test_a_held_conversation_is_never_purged_by_hand(purger):
    dashboard_data.conversation("evidence", turns=1)
    conversations.place_hold(session_id="evidence", reason="Subpoena")
    conversations.trash(session_id="evidence")

    with pytest.raises(conversations.ConversationHeld, match="on legal hold"):
        conversations.purge(session_id="evidence", actor=purger)

    assert trash_ids() == ["evidence"]
    assert not AuditEntry.objects.filter(action="purge").exists()


def test_lifting_the_hold_lets_the_policies_apply_again(policies):
    dashboard_data.conversation("released", turns=1)
    conversations.place_hold(session_id="released", reason="Audit")
    trashed_for("released", 45)
    conversations.apply_retention()
    assert trash_ids() == ["released"]

    conversations.lift_hold(session_id="released", reason="Audit closed")
    conversations.apply_retention()

    assert trash_ids() == []


def test_holds_are_audited_with_their_reasons(editor, django_user_model):
    holder = django_user_model.objects.create_user("holder", is_staff=True)
    holder.user_permissions.add(*editor.user_permissions.all())
    from django.contrib.auth.models import Permission

    holder.user_permissions.add(Permission.objects.get(codename="hold_agentsession"))
    holder = django_user_model.objects.get(pk=holder.pk)
    dashboard_data.conversation("case", turns=1)

    conversations.place_hold(session_id="case", reason="  Case 9  ", actor=holder)
    held = AgentSession.objects.get(pk="case")
    assert (held.on_hold, held.held_by, held.hold_reason) == (True, holder, "Case 9")
    conversations.lift_hold(session_id="case", reason="Case closed", actor=holder)

    entries = AuditEntry.objects.filter(session_id="case").order_by("id")
    assert [(e.action, e.actor, e.detail["reason"]) for e in entries] == [
        ("hold", holder, "Case 9"),
        ("release_hold", holder, "Case closed"),
    ]
    assert entries[1].detail["hold_reason"] == "Case 9"
    assert not AgentSession.objects.get(pk="case").on_hold


def test_a_hold_needs_the_permission_and_a_reason(editor):
    dashboard_data.conversation("case", turns=1)
    before = database_snapshot()

    with pytest.raises(PermissionError, match="'hold' permission"):
        conversations.place_hold(session_id="case", reason="Case 9", actor=editor)
    with pytest.raises(conversations.ConversationError, match="needs a reason"):
        conversations.place_hold(session_id="case", reason="   ")
    with pytest.raises(conversations.ConversationError, match="not on legal hold"):
        conversations.lift_hold(session_id="case", reason="nothing to lift")
    conversations.place_hold(session_id="case", reason="Case 9")
    with pytest.raises(conversations.ConversationError, match="already on legal hold"):
        conversations.place_hold(session_id="case", reason="again")

    assert AuditEntry.objects.filter(session_id="case").count() == 1
    after = database_snapshot()
    assert after["agent_messages"] == before["agent_messages"]


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "never", "days"),
    [
        ("CONVSTORE_RETAIN_DAYS", None, False, None),
        ("CONVSTORE_RETAIN_DAYS", "", False, None),
        ("CONVSTORE_RETAIN_DAYS", " 90 ", False, 90),
        ("CONVSTORE_TRASH_DAYS", None, True, 30),
        ("CONVSTORE_TRASH_DAYS", "7", True, 7),
        ("CONVSTORE_TRASH_DAYS", "Never", True, None),
    ],
)
def test_the_policies_are_read_in_days_from_the_environment(name, value, never, days):
    default = 30 if never else None
    assert parse_days(name, value, default=default, never=never) == days


@pytest.mark.parametrize(
    ("name", "value", "never"),
    [
        ("CONVSTORE_RETAIN_DAYS", "0", False),
        ("CONVSTORE_RETAIN_DAYS", "-5", False),
        ("CONVSTORE_RETAIN_DAYS", "90d", False),
        ("CONVSTORE_RETAIN_DAYS", "never", False),
        ("CONVSTORE_TRASH_DAYS", "1.5", True),
        ("CONVSTORE_TRASH_DAYS", "forever", True),
    ],
)
def test_a_bad_policy_value_names_the_variable(name, value, never):
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be"):
        parse_days(name, value, default=None, never=never)


def test_a_bad_policy_setting_stops_the_run_and_changes_nothing(settings):
    settings.CONVSTORE_RETAIN_DAYS = "ninety"
    dashboard_data.conversation("any", turns=1)
    idle_for("any", 400)

    with pytest.raises(ImproperlyConfigured, match="CONVSTORE_RETAIN_DAYS"):
        conversations.apply_retention()

    assert live_ids() == ["any"]
    assert not RetentionRun.objects.exists()


def test_the_server_refuses_to_start_with_a_bad_policy_in_the_environment():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "DJANGO_SETTINGS_MODULE": "convstore.settings",
            "DEBUG": "1",
            "CONVSTORE_TRASH_DAYS": "soon",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "CONVSTORE_TRASH_DAYS must be" in result.stderr


def test_the_default_policies_keep_conversations_and_empty_the_trash_after_30_days(settings):
    del settings.CONVSTORE_RETAIN_DAYS
    del settings.CONVSTORE_TRASH_DAYS
    policies = retention_policies()
    assert (policies.retain_days, policies.trash_days) == (None, 30)
