"""Awkward conversation ids in a real browser, which removes "." and ".." segments
from every URL it requests (form actions, htmx requests and fetches alike).

For each id, every page opens and every action acts on the conversation it
was clicked for; conversations whose ids a rewritten URL would reach stay as
they were.
"""

import pytest
from playwright.sync_api import expect

from convstore import conversations
from convstore.models import AgentSession, AuditEntry, Branch
from tests import dashboard_data as data
from tests.awkward_ids import AWKWARD_IDS
from tests.browser.conftest import BROWSER_TEST_MARKS, shot

pytestmark = BROWSER_TEST_MARKS


# Where a rewritten or mis-parsed URL of one of the ids above would land.
BYSTANDERS = ["x", "y", "a", "b", "a/b", "purge", "q", "h", "plus sign", "trailing"]


def quoted(value: str) -> str:
    """value as a CSS attribute selector's quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bystanders_except(session_id: str, *, trashed: bool) -> list[str]:
    others = [name for name in BYSTANDERS if name != session_id]
    for name in others:
        data.conversation(name, turns=1)
        if trashed:
            conversations.trash(session_id=name)
    return others


def assert_untouched(others: list[str], *, trashed: bool) -> None:
    rows = AgentSession.objects.filter(pk__in=others)
    assert sorted(row.pk for row in rows if row.in_trash == trashed) == sorted(others)
    assert not Branch.objects.filter(session_id__in=others).exists()
    audited = AuditEntry.objects.filter(session_id__in=others)
    assert set(audited.values_list("action", flat=True)) <= ({"trash"} if trashed else set())


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "plain-forms"])
@pytest.mark.parametrize("session_id", AWKWARD_IDS)
def test_restore_and_purge_in_the_trash_act_on_the_row_clicked(page, session_id):
    data.conversation(session_id, turns=1)
    conversations.trash(session_id=session_id)
    others = bystanders_except(session_id, trashed=True)
    row = f"tr[data-trashed={quoted(session_id)}]"

    page.goto(f"{page.base}/trash/")
    page.locator(f"{row} [data-testid=restore]").click()
    expect(page.locator("#trash")).to_contain_text(f"Restored “{session_id}”")
    assert not AgentSession.objects.get(pk=session_id).in_trash

    conversations.trash(session_id=session_id)
    page.goto(f"{page.base}/trash/")
    page.locator(f"{row} summary", has_text="Purge").click()
    page.locator(f"{row} button", has_text="Purge for good").click()
    expect(page.locator("#trash")).to_contain_text(f"Purged “{session_id}” for good")
    assert not AgentSession.objects.filter(pk=session_id).exists()
    assert_untouched(others, trashed=True)


@pytest.mark.parametrize("session_id", AWKWARD_IDS)
def test_every_page_and_action_of_the_conversation_acts_on_it(page, session_id):
    data.conversation(session_id, turns=3)
    others = bystanders_except(session_id, trashed=False)

    page.goto(f"{page.base}/conversations/?q={''}")
    page.get_by_role("link", name=session_id, exact=True).click()
    expect(page.locator("h1")).to_have_text(session_id)
    self_url = page.url

    # Branch from turn 2, make it active, then main again, then delete it.
    turn_two = page.locator("article[data-turn='2']")
    turn_two.locator("summary", has_text="Branch from here").click()
    turn_two.locator("input[name=name]").fill("retry")
    turn_two.locator("button", has_text="Create branch").click()
    expect(page.locator(".branch-tabs a[aria-current]")).to_contain_text("retry")
    page.locator("tr[data-branch-row='retry'] [data-testid=make-active]").click()
    expect(page.locator("tr[data-branch-row='retry'] .badge")).to_have_text("active")
    assert AgentSession.objects.get(pk=session_id).active_branch_id == "retry"
    page.locator("tr[data-branch-row='main'] [data-testid=make-active]").click()
    expect(page.locator("tr[data-branch-row='main'] .badge")).to_have_text("active")
    page.locator("tr[data-branch-row='retry'] summary", has_text="Delete").click()
    page.locator("tr[data-branch-row='retry'] button", has_text="Delete branch").click()
    expect(page.locator("tr[data-branch-row='retry']")).to_have_count(0)
    assert Branch.objects.get(session_id=session_id, branch_id="retry").deleted_at is not None

    # Re-price, then trash and restore from the conversation page.
    page.locator("summary", has_text="Re-price").click()
    page.locator("button", has_text="Re-price usage").click()
    expect(page.locator(".messages")).to_contain_text("Re-priced from the price table")
    page.locator("summary", has_text="Move to trash").click()
    page.locator("[data-testid=trash]").click()
    expect(page.locator("[data-testid=in-trash]")).to_be_visible()
    page.locator("[data-testid=restore]").click()
    expect(page.locator("[data-testid=in-trash]")).to_have_count(0)
    shot(page, "awkward_id")

    # The links to the other pages of this conversation reach it.
    hrefs = page.locator("a[download]").evaluate_all("links => links.map(a => a.href)")
    compare = page.url.replace("/conversations/", "/compare/", 1)
    for url in [*hrefs, compare, self_url]:
        status, text = page.evaluate(
            "async url => { const r = await fetch(url); return [r.status, await r.text()]; }", url
        )
        assert status == 200, url
        assert "Question 3 of" in text, url

    actions = set(AuditEntry.objects.filter(session_id=session_id).values_list("action", flat=True))
    # "read": the pages and exports that showed this user the conversation's text.
    assert actions == {
        "fork",
        "make_active",
        "delete_branch",
        "reprice",
        "trash",
        "restore",
        "read",
    }
    reads = AuditEntry.objects.filter(session_id=session_id, action="read")
    kinds = set(reads.values_list("detail__kind", flat=True))
    assert kinds == {"transcript", "compare", "export_json", "export_csv"}
    assert_untouched(others, trashed=False)
