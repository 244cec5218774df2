"""axe-core, run inside a page the browser tests have open.

Only serious and critical violations count: those stop someone using a screen reader, a
keyboard or a low-vision setting from doing the task at all. The axe-core script comes
with the `axe-playwright-python` package (pinned in the dev extra), so a clean clone needs
nothing beyond its own set-up.
"""

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# WCAG 2.1 A and AA (and 2.2 AA's target size), the level procurement asks for, and
# axe's best practices (landmarks, one main, headings), which catch a page's skeleton.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

_axe = Axe()


def blocking_violations(page: Page) -> list[str]:
    """The serious and critical axe violations on the page as it is now, one line each:
    the page, the rule, what it asks and the first few offending elements."""
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": RULE_TAGS}, "resultTypes": ["violations"]},
    )
    path = page.url.split("//", 1)[-1].partition("/")[2]
    return [
        f"/{path}: {violation['id']} ({violation['impact']}) {violation['help']}: "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


class PageLog:
    """The journey's pages, each saved as a screenshot and checked with axe as it is seen.

    Violations are gathered rather than raised at once, so one run lists every page's
    faults; the test asserts the list is empty at its end.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.violations: list[str] = []
        self.seen = 0
        folder.mkdir(parents=True, exist_ok=True)

    def look(self, page: Page, name: str) -> None:
        self.seen += 1
        page.screenshot(path=self.folder / f"{self.seen:02d}-{name}.png", full_page=True)
        self.violations.extend(blocking_violations(page))
