"""The abstractive handoff summary and reply drafts: what a chat model is asked (built from
the same transcript the extractive summary reads) and how its answer is read back.

Pure: ``prompt`` and ``read_answer`` do no I/O; ``nlu.llm.ChatModel`` sends the prompt.
The model is asked for one JSON object, ``{"summary": "...", "drafts": ["...", ...]}``; an
answer that is not that (prose, a truncated object, an empty summary) is refused, so the
console keeps the extractive summary rather than show something broken.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from nlu.llm import ChatMessage, LlmUnavailable
from nlu.summary import LANGUAGES, REASONS, Transcript, Turn

# What one prompt may carry: the first messages (where the request usually is) and as many of
# the latest as fit. A few thousand tokens, within any small local model's context.
MAX_PROMPT_CHARS = 12_000
MAX_MESSAGE_CHARS = 1_000
FIRST_MESSAGES = 4
MAX_DRAFTS = 3
MAX_SUMMARY_CHARS = 1_500
MAX_DRAFT_CHARS = 1_000
AUTHORS = {"customer": "Customer", "bot": "Bot", "agent": "Agent", "system": "Notice"}

SYSTEM = """You help a customer-support agent who is taking over a conversation from a bot.
Answer with one JSON object and nothing else:
{{"summary": "...", "drafts": ["...", "...", "..."]}}
- summary: one paragraph in English, at most 90 words: what the customer wants, what the bot
  tried and why it stopped, and the key facts (order numbers, email addresses, amounts,
  dates) exactly as written in the conversation.
- drafts: up to three short replies the agent could send next, in {language}, polite, each
  answering the customer's latest need; an apology first if the customer is upset.
Use only facts from the conversation; never invent an order status, a date or an amount."""


@dataclass(frozen=True, slots=True)
class Abstract:
    """What the model said: a summary paragraph and reply drafts."""

    summary: str
    drafts: tuple[str, ...]


def prompt(transcript: Transcript) -> list[ChatMessage]:
    """The chat messages that ask for the summary and drafts of this conversation."""
    language = LANGUAGES.get(transcript.language or "", "the customer's language")
    lines = [_line(t) for t in transcript.turns if t.text.strip()]
    lines = _fit(lines)
    why = transcript.handoff_reason
    ending = (
        f"\n\nThe bot handed over because {REASONS.get(why, why.replace('_', ' '))}."
        if why
        else "\n\nThe bot has not handed over."
    )
    return [
        ChatMessage(role="system", content=SYSTEM.format(language=language)),
        ChatMessage(role="user", content="The conversation:\n" + "\n".join(lines) + ending),
    ]


def _line(turn: Turn) -> str:
    text = " ".join(turn.text.split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "…"
    return f"[{turn.seq}] {AUTHORS.get(turn.author, turn.author)}: {text}"


def _fit(lines: list[str]) -> list[str]:
    """The first few lines and the latest that fit MAX_PROMPT_CHARS, with a marker where
    lines were left out."""
    if sum(len(line) + 1 for line in lines) <= MAX_PROMPT_CHARS:
        return lines
    head = lines[:FIRST_MESSAGES]
    budget = MAX_PROMPT_CHARS - sum(len(line) + 1 for line in head)
    tail: list[str] = []
    for line in reversed(lines[FIRST_MESSAGES:]):
        budget -= len(line) + 1
        if budget < 0:
            break
        tail.append(line)
    return [*head, "[…]", *reversed(tail)]


def read_answer(content: str) -> Abstract:
    """The summary and drafts in the model's answer; LlmUnavailable unless it is the JSON
    object asked for (a Markdown code fence around it is tolerated: small models add one)."""
    text = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    if fenced:
        text = fenced[1]
    try:
        data = json.loads(text)
    except ValueError:
        raise LlmUnavailable("the model did not answer with JSON") from None
    if not isinstance(data, dict):
        raise LlmUnavailable("the model's JSON is not an object")
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise LlmUnavailable("the model's answer has no summary")
    drafts = data.get("drafts", [])
    if not isinstance(drafts, list):
        drafts = []
    kept = tuple(_cut(d, MAX_DRAFT_CHARS) for d in drafts if isinstance(d, str) and d.strip())[
        :MAX_DRAFTS
    ]
    return Abstract(summary=_cut(summary, MAX_SUMMARY_CHARS), drafts=kept)


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"
