"""The Content-Security-Policy in Chromium: every dashboard page, every htmx swap and the
admin run under it with no violation (the page fixture fails on any), and a script
injected into a page is blocked.

Screenshots go to /tmp/dashboard_csp_*.png.
"""

import re

from django.urls import reverse
from playwright.sync_api import expect

from convstore import conversations
from tests import dashboard_data as data
from tests.browser.conftest import BROWSER_TEST_MARKS, shot, wait_until

pytestmark = BROWSER_TEST_MARKS

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def visit(page, path: str) -> None:
    response = page.goto(f"{page.base}{path}")
    assert response.status == 200, path
    policy = response.headers["content-security-policy"]
    assert all(directive in policy for directive in POLICY), (path, policy)


def wait_for_violations(page, count: int) -> None:
    """Violations reach the test through a binding, a moment after they happen."""
    for _ in range(50):
        if len(page.errors) >= count:
            return
        page.wait_for_timeout(100)


def test_every_dashboard_page_and_swap_runs_under_the_policy(page):
    data.conversation("chat", turns=3, title="Refund for order 42")
    data.conversation("other", turns=1, title="Where is my parcel")

    visit(page, "/")
    wait_until(page, "window.Chart && Chart.getChart(document.querySelector('canvas'))")
    page.click("text=All time")
    expect(page.locator(".segmented a[aria-current]")).to_have_text("All time")
    wait_until(page, "Chart.getChart(document.querySelector('canvas'))")
    shot(page, "csp_overview")

    visit(page, "/conversations/")
    page.fill("#id_q", "parcel")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.select_option("#id_sort", index=1)
    expect(page).to_have_url(re.compile(r"sort="))
    page.go_back()

    visit(page, "/conversations/chat/")
    wait_until(page, "Chart.getChart(document.querySelector('canvas[data-chart=turns]'))")
    turn_two = page.locator("article[data-turn='2']")
    turn_two.locator("summary", has_text="Branch from here").click()
    turn_two.locator("input[name=name]").fill("retry")
    turn_two.locator("button", has_text="Create branch").click()
    expect(page.locator(".branch-tabs a[aria-current]")).to_contain_text("retry")
    position = conversations.check_branch(session_id="chat", branch_id="retry")
    data.add_turn("chat", "Once more, kindly", position=position)
    expect(page.locator("article[data-turn='2']")).to_contain_text("Once more, kindly")
    page.locator(".branch-tabs a[data-branch=main]").click()
    expect(page.locator(".branch-tabs a[aria-current]")).to_contain_text("main")
    page.locator("tr[data-branch-row='retry']").locator("button", has_text="Make active").click()
    expect(page.locator("tr[data-branch-row='retry'] .badge")).to_have_text("active")
    shot(page, "csp_conversation")

    visit(page, "/compare/chat/?a=main&b=retry")
    expect(page.locator("#compare")).to_contain_text("Once more, kindly")

    visit(page, "/conversations/other/")
    page.locator("summary", has_text="Move to trash").click()
    page.locator("[data-testid=trash]").click()
    expect(page.locator("[data-testid=in-trash]")).to_be_visible()

    visit(page, "/trash/")
    page.locator("tr[data-trashed=other] [data-testid=restore]").click()
    expect(page.locator("#trash")).to_contain_text("Restored")

    visit(page, "/audit/")
    page.fill("#id_conversation", "other")
    expect(page.locator("#entries tbody tr")).to_have_count(3)  # read, trash, restore
    expect(page.locator("#entries tbody")).to_contain_text("Restored")
    shot(page, "csp_audit")


def test_the_admin_runs_under_the_policy(page, purger):
    purger.is_superuser = True
    purger.save()
    data.conversation("chat", turns=2, title="Refund for order 42")
    conversations.fork(session_id="chat", turn_number=2, branch_name="retry")

    visit(page, reverse("admin:index"))
    visit(page, reverse("admin:convstore_agentsession_changelist") + "?q=Refund")
    page.locator("input.action-select").first.check()  # the admin's actions.js
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    visit(page, reverse("admin:convstore_agentsession_change", args=["chat"]))
    expect(page.locator("table.full-width").first).to_contain_text("retry")
    shot(page, "csp_admin_conversation")
    visit(page, reverse("admin:convstore_auditentry_changelist"))
    visit(page, reverse("admin:convstore_modelprice_changelist"))
    visit(page, reverse("admin:convstore_modelprice_add"))
    visit(page, reverse("admin:auth_user_change", args=[purger.pk]))
    page.locator("#toggle-nav-sidebar").click()  # the admin's nav_sidebar.js
    shot(page, "csp_admin_user")


def test_a_script_injected_into_a_page_is_blocked(page):
    data.conversation("chat", turns=1)
    visit(page, "/conversations/chat/")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = 'ran'";
          document.body.appendChild(script);
        }"""
    )
    wait_for_violations(page, 1)
    assert page.evaluate("window.injected") is None
    assert any(
        error.startswith("CSP: script-src-elem blocked inline in /conversations/chat/")
        for error in page.errors
    ), page.errors
    page.errors.clear()  # the fixture fails on any violation; these were expected


def test_inline_event_handlers_and_style_attributes_are_blocked_too(page):
    visit(page, "/")
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
             '<img id="bait" src="data:," onerror="window.handlerRan = 1">' +
             '<p id="styled" style="color: rgb(255, 0, 0)">red?</p>')"""
    )
    wait_for_violations(page, 3)
    assert page.evaluate("window.handlerRan") is None
    assert page.evaluate("getComputedStyle(document.querySelector('#styled')).color") != (
        "rgb(255, 0, 0)"
    )
    violations = [error for error in page.errors if error.startswith("CSP: ")]
    assert any(error.startswith("CSP: script-src-attr blocked inline") for error in violations)
    assert any(error.startswith("CSP: style-src-attr blocked inline") for error in violations)
    page.errors.clear()


def test_the_policy_allows_no_inline_script_and_no_eval(client, viewer):
    client.force_login(viewer)
    policy = client.get("/")["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert all(directive in policy for directive in POLICY)
