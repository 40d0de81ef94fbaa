"""The dashboard in headless Chromium: the flows that need JavaScript (htmx swaps, the chart).

Screenshots of each step go to /tmp/dashboard_*.png.
"""

import os

from playwright.sync_api import expect

from convstore import conversations
from convstore.models import AgentSession
from tests import dashboard_data as data
from tests.browser.conftest import BROWSER_TEST_MARKS, shot, wait_until

pytestmark = BROWSER_TEST_MARKS


def turns_shown(page) -> list[str]:
    return page.locator("article.turn").evaluate_all("els => els.map(e => e.dataset.turn)")


def test_log_in_and_see_the_overview(page):
    data.conversation("seen", turns=2)
    page.reload()
    expect(page.locator("h1")).to_have_text("Overview")
    wait_until(page, "window.Chart && Chart.getChart(document.querySelector('canvas'))")
    shot(page, "overview")
    page.click("text=All time")
    expect(page.locator(".segmented a[aria-current]")).to_have_text("All time")
    assert page.url.endswith("?period=all")


def test_search_narrows_the_list_as_you_type(page):
    data.conversation("refund-1", turns=1, title="Refund for order 7")
    data.conversation("shipping-2", turns=1, title="Where is my parcel")
    page.goto(f"{page.base}/conversations/")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    page.fill("#id_q", "parcel")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody")).to_contain_text("Where is my parcel")
    assert "q=parcel" in page.url  # the URL holds the filter
    shot(page, "conversations")
    page.go_back()
    expect(page.locator("#results tbody tr")).to_have_count(2)


def test_branch_switch_make_active_trash_and_restore(page):
    data.conversation("chat", turns=3, title="Refund for order 42")
    page.goto(f"{page.base}/conversations/")
    page.click("text=Refund for order 42")
    expect(page.locator("h1")).to_have_text("Refund for order 42")
    turns = page.evaluate(
        "Chart.getChart(document.querySelector('canvas[data-chart=turns]')).data.labels.length"
    )
    assert turns == 3
    assert turns_shown(page) == ["1", "2", "3"]
    page.evaluate("window.notReloaded = true")

    # Branch from turn 2: the new branch holds turn 1 only.
    turn_two = page.locator("article[data-turn='2']")
    turn_two.locator("summary", has_text="Branch from here").click()
    turn_two.locator("input[name=name]").fill("polite-retry")
    turn_two.locator("button", has_text="Create branch").click()
    expect(page.locator(".branch-tabs a[aria-current]")).to_contain_text("polite-retry")
    assert turns_shown(page) == ["1"]
    assert page.url.endswith("?branch=polite-retry")
    shot(page, "branch")

    # What the agent adds on that branch appears without a reload (live polling).
    position = conversations.check_branch(session_id="chat", branch_id="polite-retry")
    data.add_turn("chat", "Could you kindly refund me?", position=position)
    expect(page.locator("article[data-turn='2']")).to_contain_text("Could you kindly refund me?")
    assert turns_shown(page) == ["1", "2"]

    # Switch back to main.
    page.locator(".branch-tabs a[data-branch=main]").click()
    expect(page.locator(".branch-tabs a[aria-current]")).to_contain_text("main")
    assert turns_shown(page) == ["1", "2", "3"]

    # Make the new branch active: the agent continues there.
    row = page.locator("tr[data-branch-row='polite-retry']")
    row.locator("button", has_text="Make active").click()
    expect(page.locator("tr[data-branch-row='polite-retry'] .badge")).to_have_text("active")
    assert AgentSession.objects.get(pk="chat").active_branch_id == "polite-retry"
    shot(page, "conversation")

    # Trash, then restore from the trash page.
    page.locator("summary", has_text="Move to trash").click()
    page.locator("[data-testid=trash]").click()
    expect(page.locator("[data-testid=in-trash]")).to_be_visible()
    assert AgentSession.objects.get(pk="chat").in_trash
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"{page.base}/trash/")
    shot(page, "trash")
    page.locator("tr[data-trashed=chat] [data-testid=restore]").click()
    expect(page.locator("#trash")).to_contain_text("Restored")
    expect(page.locator("tr[data-trashed=chat]")).to_have_count(0)
    assert not AgentSession.objects.get(pk="chat").in_trash
    assert AgentSession.objects.get(pk="chat").active_branch_id == "polite-retry"


def test_compare_and_audit_pages(page):
    data.conversation("chat", turns=2)
    position = conversations.check_branch(session_id="chat", branch_id="main")
    _, position, _ = conversations.fork(
        session_id="chat", turn_number=2, branch_name="other", position=position
    )
    data.add_turn("chat", "A different second question", position=position)
    page.goto(f"{page.base}/compare/chat/?a=main&b=other")
    expect(page.locator("#compare")).to_contain_text("A different second question")
    shot(page, "compare")
    page.goto(f"{page.base}/audit/")
    expect(page.locator("#entries")).to_contain_text("Branch created")
    shot(page, "audit")


def test_message_content_is_shown_as_text_and_never_run(page):
    hostile = '<script>window.pwned = 1</script> and <img src=x onerror="window.pwned = 2">'
    data.add_turn("hostile", hostile, answer="<b>not bold</b><svg onload=alert(3)>", tool=None)
    page.goto(f"{page.base}/conversations/hostile/")
    user = page.locator("article[data-turn='1'] .item.user .text")
    expect(user).to_have_text(hostile)
    expect(page.locator("article[data-turn='1'] .item.assistant .text")).to_have_text(
        "<b>not bold</b><svg onload=alert(3)>"
    )
    assert page.locator("article img, article script, article svg, article b").count() == 0
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    shot(page, "hostile")
    assert os.path.exists("/tmp/dashboard_hostile.png")
