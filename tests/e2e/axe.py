"""axe-core (vendored under tests/e2e/vendor/, see docs/console-frontend.md) run inside a page.

The console's and the widget's pages keep their Content-Security-Policy (``script-src
'self'``, no ``unsafe-eval``), which refuses a script Playwright would add inline. The audit
runs in a browser context made with ``bypass_csp=True``, used for nothing but the audit:
the other browser tests keep the policy on and fail on any refusal, so the CSP is still
proven there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from playwright.async_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.0/2.1 A and AA; best-practice rules are advice, not the bar the issue sets.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


class Node(TypedDict):
    target: list[str]
    html: str
    failureSummary: str


class Violation(TypedDict):
    id: str
    impact: str
    help: str
    nodes: list[Node]


async def violations(page: Page, within: str | None = None) -> list[Violation]:
    """axe's WCAG 2.1 A/AA violations on the page as it stands (open shadow roots included),
    or in the elements the selector ``within`` matches."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    found: list[Violation] = await page.evaluate(
        """async ([tags, within]) => {
            const context = within === null ? document : within;
            const result = await axe.run(context, { runOnly: { type: "tag", values: tags } });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({
                    target: n.target.map(String), html: n.html, failureSummary: n.failureSummary,
                })),
            }));
        }""",
        [TAGS, within],
    )
    return found


def blocking(found: list[Violation]) -> list[str]:
    """The serious and critical ones, one readable line per element."""
    return [
        f"{v['impact']} {v['id']} ({v['help']}): {' '.join(n['target'])} {n['html'][:160]}"
        for v in found
        if v["impact"] in BLOCKING
        for n in v["nodes"]
    ]
