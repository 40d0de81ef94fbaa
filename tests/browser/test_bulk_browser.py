"""Bulk actions in headless Chromium: ticking rows, the confirm step, with and without JavaScript.

Screenshots at 1366x900 and 390x844 go to /tmp/dashboard_bulk_*.png.
"""

import pytest
from playwright.sync_api import expect

from convstore import conversations
from convstore.models import AgentSession, AuditEntry
from tests import dashboard_data as data
from tests.browser.conftest import BROWSER_TEST_MARKS, shot

pytestmark = BROWSER_TEST_MARKS

SIZES = {"wide": (1366, 900), "phone": (390, 844)}


def trashed() -> set[str]:
    return set(AgentSession.objects.exclude(deleted_at=None).values_list("pk", flat=True))


def shots(page, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"bulk_{name}_{size}")
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def refunds(db):
    for number in range(1, 4):
        data.conversation(f"refund-{number}", turns=1, title=f"Refund for order {number}")
    data.conversation("shipping-1", turns=1, title="Where is my parcel")


def test_tick_rows_confirm_and_trash_them(page, refunds):
    page.goto(f"{page.base}/conversations/?q=refund")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(3)
    tick_all = page.locator("input[data-bulk-all]")
    expect(tick_all).to_be_visible()  # shown by the script
    tick_all.check()
    expect(page.locator("[data-bulk-count]")).to_have_text("(3 ticked)")
    page.locator("input[data-bulk-row][value='refund-2']").uncheck()
    expect(page.locator("[data-bulk-count]")).to_have_text("(2 ticked)")
    shots(page, "ticked")
    page.click("[data-testid=bulk-continue]")
    confirm = page.locator("[data-testid=bulk-confirm]")
    expect(confirm.locator("h2")).to_have_text("Move to trash: 2 conversations?")
    assert "refund-2" not in confirm.inner_text()
    shots(page, "confirm")
    assert trashed() == set()  # nothing happens before the confirm
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator(".messages")).to_contain_text("Moved to the trash: 2 conversations.")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert "q=refund" in page.url
    assert trashed() == {"refund-1", "refund-3"}
    shots(page, "done")


def test_ticking_a_row_after_choosing_all_matching_goes_back_to_the_ticked_rows(page, refunds):
    page.goto(f"{page.base}/conversations/")
    page.check("[data-testid=bulk-all]")
    page.locator("input[data-bulk-row][value='shipping-1']").check()
    expect(page.locator("input[data-bulk-selected]")).to_be_checked()


def test_restore_everything_in_the_trash(page, refunds):
    for number in range(1, 4):
        conversations.trash(session_id=f"refund-{number}")
    page.goto(f"{page.base}/trash/")
    expect(page.locator("#trash tbody tr")).to_have_count(3)
    page.check("[data-testid=bulk-all]")
    page.select_option("[data-testid=bulk-action]", "restore")
    page.click("[data-testid=bulk-continue]")
    expect(page.locator("[data-testid=bulk-count]")).to_have_text("3")
    shots(page, "trash_confirm")
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator(".messages")).to_contain_text("Restored: 3 conversations.")
    assert trashed() == set()
    entries = AuditEntry.objects.filter(action="restore")
    assert len({entry.detail["bulk"]["id"] for entry in entries}) == 1 and entries.count() == 3


@pytest.mark.parametrize("javascript", [False])
def test_without_javascript_the_same_steps_work(page, refunds):
    page.goto(f"{page.base}/conversations/?q=refund")
    expect(page.locator("input[data-bulk-all]")).to_be_hidden()
    page.locator("input[data-bulk-row][value='refund-1']").check()
    page.click("[data-testid=bulk-continue]")
    expect(page.locator("h2")).to_have_text("Move to trash: 1 conversation?")
    assert "/actions/bulk/conversations/" in page.url  # a whole page, not a swap
    page.click("[data-testid=bulk-confirm-button]")
    expect(page.locator(".messages")).to_contain_text("Moved to the trash: 1 conversation.")
    assert trashed() == {"refund-1"}
    shots(page, "no_script")
