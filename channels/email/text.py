"""Mail bodies as text for the console: HTML turned into plain text, quoted history and
signatures cut off the newest reply."""

from __future__ import annotations

import html
import re

import nh3
from mailparser_reply import EmailReplyParser

# Tags that end a line or a block in the text version; everything else is dropped.
_BLOCKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
_BREAK = re.compile(r"<\s*(?:br\s*/?|/(?:p|div|li|tr|h[1-6]|blockquote|pre))\s*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
# The signature separator of RFC 3676 §4.3 ("-- " alone on a line), which the reply parser
# leaves in place; mail clients strip the trailing space often enough to accept "--" too.
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
# The languages whose reply headers ("On ... wrote:", "Le ... a écrit :") are recognised.
_LANGUAGES = ["en", "fr", "de", "es", "it", "nl", "pt", "sv", "pl"]
_replies = EmailReplyParser(languages=_LANGUAGES)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML body. nh3 (a real HTML5 parser) drops scripts, styles and every
    tag but a few block ones first, so nothing of the markup survives into the console."""
    kept = nh3.clean(markup, tags=_BLOCKS, attributes={}, strip_comments=True)
    broken = _BREAK.sub("\n", kept)
    bare = nh3.clean(broken, tags=set(), attributes={})
    text = html.unescape(bare).replace("\xa0", " ")
    lines = "\n".join(line.strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip()


def latest_reply(text: str) -> str:
    """The newest part of a reply: quoted history ("> ...", "On ... wrote:") and the
    signature removed. Empty when nothing is left."""
    try:
        reply = _replies.parse_reply(text)
    except Exception:  # the library's regexes on odd input; the full text is still shown
        return ""
    reply = _SIGNATURE.split(reply or "", maxsplit=1)[0]
    return reply.strip()
