"""Walking a console screen by keyboard alone, as a new user does: Tab after Tab, what took
the focus, whether it can be seen (in the window, a focus indicator drawn) and whether the
focus fell back to the page's body (lost)."""

from __future__ import annotations

from typing import TypedDict

from playwright.async_api import Page


class Stop(TypedDict):
    what: str  # tag, id or name, and its text, short
    shown: bool  # in the window after the browser scrolled to it
    ring: bool  # an outline or a box-shadow drawn while focused
    body: bool  # the focus is on the page's body: lost


STOP = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { what: "body", shown: false, ring: false, body: true };
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const text = (el.getAttribute("aria-label") || el.innerText || el.value || el.placeholder || "")
        .trim().replace(/\\s+/g, " ").slice(0, 40);
    const what = `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}`
        + `${el.getAttribute("name") ? "[name=" + el.getAttribute("name") + "]" : ""} "${text}"`;
    const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== "none";
    const shown = box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
        && box.top < innerHeight && box.left < innerWidth;
    return { what, shown, ring, body: false };
}"""


async def tab_through(page: Page, presses: int, until: str | None = None) -> list[Stop]:
    """Press Tab up to ``presses`` times (stopping once the focused element matches ``until``),
    recording each stop."""
    stops: list[Stop] = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        stop: Stop = await page.evaluate(STOP)
        stops.append(stop)
        if until and await page.evaluate("(s) => document.activeElement?.matches(s)", until):
            break
    return stops


def trips(stops: list[Stop]) -> list[str]:
    """Stops a keyboard user trips over: a control out of sight or with no focus ring. A Tab
    past the page's last control leaves the page for the browser's own controls, which a
    headless Chromium reports as the body: that stop is the walk wrapping round, not a
    loss."""
    return [
        f"{s['what']}: {'not in the window' if not s['shown'] else 'no focus ring'}"
        for s in stops
        if not s["body"] and (not s["shown"] or not s["ring"])
    ]
