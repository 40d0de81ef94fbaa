"""Headless Chromium for the dashboard's browser tests, logged in as a user who may do anything.

Screenshots of each step go to /tmp/dashboard_*.png.
"""

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")

# Each browser test module's pytestmark.
BROWSER_TEST_MARKS = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
    # serialized_rollback: the flush after each test would drop the seeded price table.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT_MS = 10_000

# Reports every Content-Security-Policy violation of every page the test opens.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `in ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread for the whole module;
    # the tests' own ORM calls (and the database set-up and flush) stay synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def javascript() -> bool:
    return True


@pytest.fixture
def page(browser, live_server, purger, javascript):
    """A logged-in page (a user who may do everything), failing on any script error,
    console error or Content-Security-Policy violation."""
    password = secrets.token_urlsafe(16)
    purger.set_password(password)
    purger.save()
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    context.expose_function("reportCspViolation", lambda text: page.errors.append(f"CSP: {text}"))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and page.errors.append(f"console: {message.text} ({message.location['url']})")
        ),
    )
    page.on(
        "dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    page.base = live_server.url
    page.goto(f"{live_server.url}/login/")
    page.screenshot(path="/tmp/dashboard_login.png", caret="initial")
    page.fill("#id_username", purger.get_username())
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()
    assert page.errors == []


def shot(page, name: str) -> None:
    # caret="initial": hiding the caret leaves style="" on inputs, which htmx's
    # history would later put back into the page, against the CSP.
    page.screenshot(path=f"/tmp/dashboard_{name}.png", full_page=True, caret="initial")


def wait_until(page, expression: str) -> None:
    """Poll from the test: wait_for_function's polling evaluates a string, which the CSP forbids."""
    for _ in range(100):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {expression}")
