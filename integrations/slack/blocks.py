"""Block Kit layout of an outbox message: a header naming what happened, the text, a context line.

Within Slack's limits whatever the text (a message beyond them is refused for ever, ``invalid_blocks`` or
``msg_too_long``, and its partner never hears): at most 50 blocks, a section's text at most 3,000 characters, the
header 150, the message's fallback text 40,000. A text too long for that many sections keeps its beginning and
says the rest is left out (services.messages keeps texts short; this is the last guard).
"""

from typing import Any

SECTION_LIMIT = 3000  # Slack's limit for one section's text (and a context element's)
HEADER_LIMIT = 150
MAX_BLOCKS = 50  # Slack's limit for one message
TEXT_LIMIT = 40_000  # Slack's limit for a message's text (the notification's fallback, shown where blocks are not)
_SECTIONS = MAX_BLOCKS - 2  # a header and a context line around them
CUT_SHORT = "… the rest of this message is too long for Slack: `alliance notifications --full` shows it whole."
_ENTITY = 5  # len("&amp;"): a section is not cut inside one of Slack's entities

TITLES = {
    "return_processed": "Return processed",
    "duplicate_claim": "Participants claimed twice",
    "duplicate_claims": "Duplicate claims across partners",
    "quarantined_file": "File quarantined",
    "link_refused": "Link in an upload folder refused",
    "reminder_before_deadline": "Return reminder",
    "reminder_overdue": "Return overdue",
    "overdue_summary": "Overdue returns",
    "cycle_summary": "Monthly cycle summary",
    "statement_issued": "Payment statement issued",
    "payment_run_draft": "Payment run waiting for approval",
    "return_unlocked": "Return unlocked",
    "locked_return_received": "Return refused: period locked",
    "review_started": "Annual review started",
    "review_evidence": "Review evidence pack",
    "review_reply_window": "Right of reply",
    "board_decision": "Board decision",
    "review_reply": "Reply to the review",
    "review_timeout": "Board decision overdue",
    "spot_checks_drawn": "Spot checks drawn",
    "claim_withdrawn": "Claim withdrawn after a spot check",
}


def title_of(kind: str) -> str:
    return TITLES.get(kind, kind.replace("_", " ").capitalize())


def message_blocks(*, kind: str, text: str, context: str) -> list[dict[str, Any]]:
    """Header, the mrkdwn text in sections of at most 3,000 characters (split at line ends), context."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title_of(kind)[:HEADER_LIMIT]}}
    ]
    # verbatim: Slack must not turn bare URLs, channel names or mentions into links or pings.
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}} for part in _sections(text)
    ]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:SECTION_LIMIT], "verbatim": True}]}
    )
    return blocks


def fallback_text(text: str) -> str:
    """The message's ``text`` (notifications, screen readers): the whole text, or its beginning and a note."""
    if len(text) <= TEXT_LIMIT:
        return text
    return _cut(text, TEXT_LIMIT - len(_left_out(len(text)))) + _left_out(len(text))


def _left_out(length: int) -> str:
    return f"\n… (the message is {length:,} characters long; the rest is not shown)"


def _cut(text: str, at: int) -> str:
    """``text[:at]``, shorter by a few characters where that would cut one of Slack's entities (``&amp;``) in two."""
    head = text[:at]
    amp = head.rfind("&", max(at - _ENTITY + 1, 0))
    return head[:amp] if amp > 0 and len(text) > at and ";" not in head[amp:] else head


def _sections(text: str) -> list[str]:
    parts = _all_sections(text)
    if len(parts) <= _SECTIONS:
        return parts
    return [*parts[: _SECTIONS - 1], CUT_SHORT]


def _all_sections(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > SECTION_LIMIT:
            if current:
                parts.append(current)
                current = ""
            head = _cut(line, SECTION_LIMIT)
            parts.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_LIMIT:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current or " ")
    return parts
