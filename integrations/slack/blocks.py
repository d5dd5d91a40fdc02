"""Block Kit layout of an outbox message: a header naming what happened, the text, a context line."""

from typing import Any

SECTION_LIMIT = 3000  # Slack's limit for one section's text
HEADER_LIMIT = 150

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
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context, "verbatim": True}]})
    return blocks


def _sections(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > SECTION_LIMIT:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:SECTION_LIMIT])
            line = line[SECTION_LIMIT:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_LIMIT:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current or " ")
    return parts
