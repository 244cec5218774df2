"""Browser fixtures: Playwright drives the system's Chromium, never a browser it downloads.

Without a Chromium the browser tests are skipped with a hint, except under CI (the `CI`
environment variable set), where a missing browser is a failure: CI always runs them.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.ci import running_in_ci

# Quiet, deterministic and root-friendly: CI runs as root, where Chromium's sandbox refuses
# to start, and nothing should phone home (updates, sync, QUIC probes) during a test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_HINT = (
    "Install Debian's Chromium (`apt-get install chromium`) or set CHROMIUM_PATH to a "
    "Chromium binary. Playwright's own browser downloads are not used."
)

DEFAULT_TIMEOUT_MS = 15_000


def chromium_executable() -> str | None:
    """The Chromium to drive: CHROMIUM_PATH when set, else the one on the PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in (shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate:
            return candidate
    debian = Path("/usr/bin/chromium")
    return str(debian) if os.access(debian, os.X_OK) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        message = f"No Chromium found for the browser tests. {INSTALL_HINT}"
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    # Playwright's sync API keeps an asyncio loop running in this thread for as long as it
    # is started, and Django refuses ORM calls from a thread with a running loop
    # (SynchronousOnlyOperation). The tests, the demo seed and the database flush after
    # each test are plain synchronous code, so allow it exactly while Playwright runs and
    # leave the safety check on for every other test in the session.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own context, so no cookie or session leaks between tests."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
