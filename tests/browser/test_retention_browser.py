"""Legal holds, expired items, purge dates and the storage page in headless Chromium.

Screenshots at a laptop's and a phone's size go to /tmp/dashboard_retention_*.png.
"""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from convstore import conversations
from convstore.models import AgentMessage, AgentSession, MessageStructure
from tests import dashboard_data as data
from tests.browser.conftest import BROWSER_TEST_MARKS, shot

pytestmark = BROWSER_TEST_MARKS

SIZES = {"wide": (1366, 900), "phone": (390, 844)}


def shots(page, name: str) -> None:
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"retention_{name}_{label}")


@pytest.fixture
def holder(purger):
    purger.user_permissions.add(Permission.objects.get(codename="hold_agentsession"))
    return purger


def test_place_and_lift_a_legal_hold_on_the_conversation_page(page, holder, settings):
    data.conversation("case-7", turns=2, title="Dispute over invoice 7")
    conversations.set_ttl(session_id="case-7", ttl=3 * 86400)
    first_turn = MessageStructure.objects.filter(session_id="case-7", user_turn_number=1)
    AgentMessage.objects.filter(id__in=first_turn.values("message_id")).update(
        created_at=timezone.now() - datetime.timedelta(days=4)
    )
    page.goto(f"{page.base}/conversations/case-7/")
    expect(page.get_by_test_id("ttl")).to_have_text("TTL 3 days: older items expire")
    expect(page.get_by_test_id("expired-item")).to_have_count(5)

    page.click("summary:has-text('Legal hold…')")
    page.get_by_test_id("hold-reason").fill("Litigation hold, case 2026-17")
    page.get_by_test_id("place-hold").click()

    expect(page.get_by_test_id("on-hold")).to_contain_text("Litigation hold, case 2026-17")
    assert AgentSession.objects.get(pk="case-7").on_hold
    shots(page, "held_conversation")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("summary:has-text('Lift legal hold…')")
    page.get_by_test_id("lift-reason").fill("Case closed")
    page.get_by_test_id("lift-hold").click()
    expect(page.get_by_test_id("on-hold")).to_have_count(0)
    assert not AgentSession.objects.get(pk="case-7").on_hold


def test_the_trash_and_the_storage_page(page, settings):
    settings.CONVSTORE_RETAIN_DAYS = 90
    settings.CONVSTORE_TRASH_DAYS = 30
    for number in range(4):
        data.conversation(f"chat-{number}", turns=2, title=f"Order question {number}")
    conversations.trash(session_id="chat-0")
    conversations.trash(session_id="chat-1")
    conversations.place_hold(session_id="chat-1", reason="Regulator request 12")
    AgentSession.objects.filter(pk="chat-3").update(
        updated_at=timezone.now() - datetime.timedelta(days=80)
    )

    page.goto(f"{page.base}/trash/")
    expect(page.get_by_test_id("purge-on")).to_have_count(2)
    expect(page.locator("[data-trashed='chat-1'] [data-testid=purge-on]")).to_contain_text("never")
    shots(page, "trash")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("nav >> text=Storage")
    expect(page.locator("h1")).to_have_text("Storage")
    expect(page.get_by_test_id("retention-overdue")).to_contain_text("never run")
    expect(page.get_by_test_id("count-live")).to_have_text("2")
    expect(page.get_by_test_id("count-held")).to_have_text("1")
    expect(page.get_by_test_id("holds")).to_contain_text("Regulator request 12")
    shots(page, "storage_overdue")

    conversations.apply_retention()
    page.reload()
    expect(page.get_by_test_id("retention-overdue")).to_have_count(0)
    expect(page.get_by_test_id("last-retention")).to_contain_text("0 trashed, 0 purged")
    shots(page, "storage")
