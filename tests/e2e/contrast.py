"""Form fields' boundaries against what is around them (WCAG 2.1 1.4.11, non-text contrast,
3:1), measured in the page: axe-core checks text contrast only.

A field passes when its border (every side drawn, the weakest counts) or, with no border, its
own fill stands out 3:1 from the first opaque background behind it. Text inputs, text areas
and selects are checked; checkboxes, radios, ranges and files are drawn by the browser.
"""

from __future__ import annotations

from typing import TypedDict

from playwright.async_api import Page

# Fields a user types in or picks from, which need a visible boundary to be found.
FIELDS = (
    "input:not([type]), input[type=text], input[type=search], input[type=email],"
    " input[type=password], input[type=url], input[type=tel], input[type=number],"
    " input[type=date], input[type=datetime-local], input[type=time], textarea, select"
)
NEEDED = 3.0


class Field(TypedDict):
    field: str
    ratio: float
    border: str
    behind: str


async def field_contrast(page: Page) -> list[Field]:
    """Each visible field's weakest boundary contrast (rounded to 0.01)."""
    found: list[Field] = await page.evaluate(
        """(selector) => {
            const rgba = (text) => {
                const m = text.match(/rgba?\\(([^)]+)\\)/);
                if (!m) return [0, 0, 0, 0];
                const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
                return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
            };
            const over = (top, under) => {
                const a = top[3];
                return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
            };
            const lum = (c) => {
                const [r, g, b] = c.slice(0, 3).map((v) => {
                    const s = v / 255;
                    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const ratio = (a, b) => {
                const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
                return (hi + 0.05) / (lo + 0.05);
            };
            // The colour behind an element: its ancestors' backgrounds, laid over white.
            const behind = (el) => {
                const layers = [];
                for (let at = el.parentElement; at; at = at.parentElement) {
                    const c = rgba(getComputedStyle(at).backgroundColor);
                    if (c[3] > 0) layers.push(c);
                    if (c[3] >= 1) break;
                }
                const white = [255, 255, 255, 1];
                return layers.reverse().reduce((under, top) => over(top, under), white);
            };
            const name = (el) => el.id ? `#${el.id}`
                : `${el.tagName.toLowerCase()}${el.name ? `[name=${el.name}]` : ""}`
                  + (typeof el.className === "string" && el.className.trim()
                      ? "." + el.className.trim().split(/\\s+/).join(".") : "")
                  + ` in ${el.closest("[id]")?.id || "page"}`;
            const rgb = (c) => `rgb(${c.slice(0, 3).map(Math.round).join(", ")})`;
            const out = [];
            for (const el of document.querySelectorAll(selector)) {
                const box = el.getBoundingClientRect();
                const style = getComputedStyle(el);
                if (!box.width || !box.height || style.visibility === "hidden") continue;
                if (el.closest("[hidden], .visually-hidden")) continue;
                const back = behind(el);
                const fill = over(rgba(style.backgroundColor), back);
                const sides = ["Top", "Right", "Bottom", "Left"]
                    .filter((s) => parseFloat(style[`border${s}Width`]) > 0
                        && style[`border${s}Style`] !== "none")
                    .map((s) => over(rgba(style[`border${s}Color`]), back));
                const byBorder = sides.length ? Math.min(...sides.map((c) => ratio(c, back))) : 1;
                const best = Math.max(byBorder, ratio(fill, back));
                out.push({
                    field: name(el),
                    ratio: Math.round(best * 100) / 100,
                    border: sides.length ? rgb(sides[0]) : "none",
                    behind: rgb(back),
                });
            }
            return out;
        }""",
        FIELDS,
    )
    return found


def too_faint(found: list[Field]) -> list[str]:
    """The fields under 3:1, one readable line each."""
    return [
        f"{f['field']}: {f['ratio']}:1 (border {f['border']} on {f['behind']})"
        for f in found
        if f["ratio"] < NEEDED
    ]
