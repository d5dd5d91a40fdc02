"""Notification texts (Slack mrkdwn). Anything a partner wrote is escaped, and quoted short: a cell's value, a file
name or a participant id at most ``QUOTE_LIMIT`` characters (``quote``), a finding's message with its values so
quoted (``Finding.brief_message``), at most ``TOP_FINDINGS`` findings or ``LISTED`` ids with how many more there
are. However large a return's cells, a message stays far within Slack's limits (and an email stays readable)."""

from collections.abc import Sequence
from decimal import Decimal

from domain.contract import Partner
from domain.findings import Finding, Severity
from domain.money import format_pounds
from domain.monitors import MONITORS, Alert
from domain.reminders import ReminderKind
from domain.return_status import ReturnStatus
from domain.spot_checks import Recovery
from domain.text import shortened
from integrations.slack.mrkdwn import code, escape

TOP_FINDINGS = 5
LISTED = 20  # participant ids in the officers' list of duplicate claims


def quote(text: object) -> str:
    """A partner's text (a file name, a value, an id) as a code span, shortened to ``QUOTE_LIMIT`` characters."""
    return code(shortened(text))


def return_processed(
    *,
    partner_name: str,
    period: str,
    version: int | None,
    filename: str,
    status: str,
    findings: list[Finding],
    late: bool,
    feedback: str | None = None,
    attached: bool = False,
) -> str:
    """The partner's message for a return checked: the counts, the first findings and how many more the feedback
    workbook holds (``attached``: the workbook goes with the message)."""
    errors = sum(1 for f in findings if f.severity is Severity.error)
    warnings = sum(1 for f in findings if f.severity is Severity.warning)
    verdict = {"accepted": ":white_check_mark: accepted", "rejected": ":x: not accepted"}.get(status, status)
    if status == "accepted" and warnings:
        verdict = ":warning: accepted with warnings"
    where = f" ({quote(feedback)}{', attached' if attached else ''})" if feedback else ""
    lines = [
        f"*{escape(partner_name)}*: your return for *{period}* "
        f"({f'version {version}, ' if version else ''}{quote(filename)}) "
        f"was {verdict}{' (received after the due date)' if late else ''}.",
        f"{errors} error(s), {warnings} warning(s). The feedback workbook{where} lists every one with its cell"
        f"{' and what changed since your previous version' if version and version > 1 else ''}.",
    ]
    shown = [f for f in findings if f.severity is not Severity.info]
    for finding in shown[:TOP_FINDINGS]:
        where = f"{finding.sheet}!{finding.cell}" if finding.cell else (finding.sheet or "file")
        lines.append(
            f"• {finding.severity.value} `{finding.code}` at {escape(shortened(where))}: "
            f"{escape(finding.brief_message())}"
        )
    if len(shown) > TOP_FINDINGS:
        more = len(shown) - TOP_FINDINGS
        lines.append(f"… and {more} more {'finding' if more == 1 else 'findings'} in the feedback workbook.")
    if status != "accepted":
        lines.append("Please correct the file and send it again; only the new version will be checked.")
    return "\n".join(lines)


def template_issued(*, partner_name: str, month: str, due: str, ways: Sequence[str]) -> str:
    """A month's return template, sent to the partner at the start of the month (the workbook attached)."""
    return (
        f"*{escape(partner_name)}*: your return template for *{month}* is attached (it is in the portal too). "
        f"Fill in one row for each participant you work with this month and send it by *{due}*. "
        + " ".join(escape(way) for way in ways)
    )


def duplicate_claim(*, partner_name: str, period: str, version: int | None, findings: list[Finding]) -> str:
    ids = ", ".join(f"{quote(f.value)}" + (f" (row {f.row})" if f.row else "") for f in findings[:TOP_FINDINGS])
    more = f" and {len(findings) - TOP_FINDINGS} more" if len(findings) > TOP_FINDINGS else ""
    return (
        f"*{escape(partner_name)}*: {len(findings)} participant(s) in your accepted return for *{period}* "
        f"(version {version}) are also in another partner's return: {ids}{more}. Please check the ids; "
        "the alliance office has been told and will agree with you both who reports them."
    )


def duplicate_claims_summary(*, period: str, claims: dict[str, list[str]]) -> str:
    listed = "; ".join(f"{quote(pid)}: {', '.join(partners)}" for pid, partners in list(claims.items())[:LISTED])
    more = f" (and {len(claims) - LISTED} more)" if len(claims) > LISTED else ""
    return (
        f"Duplicate claims for *{period}*: {len(claims)} participant(s) are in more than one partner's "
        f"accepted return. {listed}{more}"
    )


def quarantined_file(*, filename: str, archived: str, findings: list[Finding]) -> str:
    reasons = "; ".join(f"{f.code}: {escape(f.brief_message())}" for f in findings[:3])
    return (
        f"A file in the inbox could not be attributed to a partner and is quarantined: {quote(filename)} "
        f"(kept at {code(archived)}). {reasons}"
    )


def link_refused(*, partner_id: str, partner_name: str, filename: str, archived: str) -> str:
    return (
        f"*{escape(partner_name)}*'s upload folder ({code(partner_id)}) held a link, {quote(filename)}, in place of a "
        f"file; links are never followed, so it was not read and the partner was told. Where it pointed is kept at "
        f"{code(archived)}."
    )


def statement_issued(
    *,
    partner_name: str,
    period: str,
    version: int,
    total_pence: int,
    held_back_pence: int = 0,
    recovered_pence: int = 0,
    max_share: Decimal = Decimal("0.25"),
) -> str:
    cap = f"{(max_share * 100).normalize():f}%"
    extra = ""
    if held_back_pence:
        extra += (
            f" This correction reduces what you were paid by {format_pounds(held_back_pence)}: nothing is taken from "
            f"you now; it is recovered from your next payments, at most {cap} of each."
        )
    if recovered_pence:
        extra += f" {format_pounds(recovered_pence)} of an earlier overpayment is recovered from this payment."
    return (
        f"*{escape(partner_name)}*: payment statement for *{period}* (run version {version}): "
        f"{format_pounds(total_pence)} due.{extra} The statement workbook explains every line."
    )


def payment_run_draft(
    *, period: str, version: int, payable_pence: int, missing: list[str] | None = None, provisional: bool = False
) -> str:
    outcome = (
        "core instalments only: the outcome pool is provisional until every return is in or the due date passes"
        if provisional
        else f"outcome payable {format_pounds(payable_pence)}"
    )
    waiting = f" Not returned yet: {escape(', '.join(missing))}." if missing else " Every partner has returned."
    return (
        f"Payment run *{period}* version {version} is a draft ({outcome}): "
        f"check the officers' summary, then `alliance payments approve --period {period} --by NAME`. "
        "Nothing is paid and no statement is issued until it is approved." + waiting
    )


def return_unlocked(*, partner_name: str, period: str, by: str, reason: str) -> str:
    return (
        f"*{escape(partner_name)}*: the return for *{period}* was unlocked by {escape(by)} "
        f"({escape(reason)}). A corrected return can be sent now; it will be paid as a correction."
    )


def return_sent_back(*, partner_name: str, period: str, version: int, by: str, feedback: str) -> str:
    return (
        f"*{escape(partner_name)}*: your accepted return for *{period}* (version {version}) was sent back by "
        f"{escape(by)}: {escape(feedback)} Please send a corrected return; until then it does not count for the month."
    )


def locked_return_received(*, partner_id: str, partner_name: str, period: str, filename: str) -> str:
    return (
        f"*{escape(partner_name)}* sent {quote(filename)} for *{period}*, whose return is locked by an approved "
        f"payment run; it was refused. If it must be accepted: "
        f"`alliance period unlock --period {period} --partner {partner_id} --reason TEXT`, and ask for it again."
    )


def cycle_summary(
    *,
    period: str,
    counts: dict[str, int],
    payable_pence: int,
    run_version: int,
    alerts: Sequence[tuple[Partner | None, Alert]] = (),
) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in counts.items())
    lines = [
        f"Monthly cycle for *{period}*: {parts}. Outcome payments {format_pounds(payable_pence)} "
        f"(payment run version {run_version})."
    ]
    if alerts:
        lines.append(f"Gaming monitors: {len(alerts)} sign(s) to look into (none changes any payment by itself):")
    for partner, alert in alerts:
        name = partner.name if partner else alert.partner_id
        lines.append(
            f"• *{escape(name)}* {code(alert.code.value)} {MONITORS[alert.code].title} "
            f"(z = {alert.statistic:.1f}, threshold {alert.threshold:.1f}): {escape(alert.evidence())}"
        )
    if not alerts:
        lines.append("Gaming monitors: nothing unusual this month.")
    return "\n".join(lines)


def spot_checks_drawn(*, period: str, drawn: list[tuple[str, int, list[str]]]) -> str:
    """Officers: claims drawn per partner, and why a sample is larger than usual."""
    total = sum(n for _, n, _ in drawn)
    lines = [
        f"Spot checks for *{period}*: {total} claimed outcome(s) drawn from {len(drawn)} accepted return(s) "
        f"to verify against evidence (`alliance checks list --period {period}`)."
    ]
    for name, size, reasons in drawn:
        why = f" (larger: {escape('; '.join(reasons))})" if reasons else ""
        lines.append(f"• {escape(name)}: {size}{why}")
    return "\n".join(lines)


def claim_withdrawn(
    *, partner_name: str, period: str, participant_id: str, measure: str, reason: str, recovery: Recovery
) -> str:
    then = {
        Recovery.recover: "what it was paid is recovered by an adjustment in the next payment run for the period, "
        "shown on its statement.",
        Recovery.leave_out: "the period's payment has not been made yet, and the claim is left out of it: nothing "
        "is recovered.",
        Recovery.taken_off: "the period's latest payment run already leaves it out.",
        Recovery.not_claimed: "your accepted return for the period no longer makes it, so there is nothing to "
        "recover; it will not be counted if it is sent again.",
    }[recovery]
    return (
        f"*{escape(partner_name)}*: a spot check could not verify the outcome {code(measure)} claimed for "
        f"participant {quote(participant_id)} in your return for *{period}*: {escape(reason)}. The claim is withdrawn: "
        f"{then}"
    )


def outstanding(*, status: ReturnStatus, version: int | None, errors: int) -> str:
    """What is still missing from a partner's return, in a few words."""
    if status is ReturnStatus.rejected:
        return f"version {version} not accepted, {errors} error(s)"
    if status is ReturnStatus.submitted:
        return f"version {version} still being checked"
    return "nothing received"


def return_reminder(
    *,
    partner_name: str,
    period: str,
    due: str,
    kind: ReminderKind,
    days: int,
    status: ReturnStatus,
    version: int | None,
    filename: str | None,
    errors: int,
    feedback: str | None,
) -> str:
    if kind is ReminderKind.overdue:
        opening = f"your return for *{period}* was due by *{due}* and is {days} day(s) overdue."
    else:
        when = {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")
        opening = f"a reminder that your return for *{period}* is due by *{due}* ({when})."
    lines = [f"*{escape(partner_name)}*: {opening}"]
    file = f"{quote(filename)}" if filename else "your file"
    if status is ReturnStatus.rejected:
        lines.append(f"Your latest version (version {version}, {file}) was not accepted: {errors} error(s).")
        where = f"The feedback workbook {quote(feedback)}" if feedback else "The feedback workbook"
        lines.append(f"{where} lists every one with its cell; please correct the file and send it again.")
    elif status is ReturnStatus.submitted:
        lines.append(f"Version {version} ({file}) has arrived and is still being checked; you will hear back soon.")
    else:
        lines.append("We have not received anything from you for this period yet.")
    return "\n".join(lines)


def overdue_summary(*, day: str, periods: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    """Officers' chase list: (period, due date, [(partner name, what is outstanding)]) per period."""
    lines = [f"Overdue returns on {day}:"]
    for period, due, partners in periods:
        listed = "; ".join(f"{escape(name)} ({what})" for name, what in partners)
        lines.append(f"• *{period}* (due {due}): {listed}")
    return "\n".join(lines)


# --- Annual review -----------------------------------------------------------------------------


def review_evidence(*, partner_name: str, year_label: str, reason: str, reply_closes: str, partner_id: str) -> str:
    return (
        f"*{escape(partner_name)}*: the alliance's annual review of {year_label} has put your organisation "
        f"under formal review.\n{escape(reason)}\n"
        f"The evidence pack is attached: the figures, the funnel plot, your monthly trend, your case mix "
        f"against the alliance's and your returns record. You have the right to reply until *{reply_closes}* "
        f"(`alliance review reply --partner {partner_id} --text ...` or `--file ...`, or through the alliance "
        "office). The board decides only after that date; nothing changes to your funding without its decision."
    )


def review_started(
    *, year_label: str, flagged: list[str], watch: list[str], reply_closes: str, board_deadline: str
) -> str:
    flagged_text = ", ".join(escape(n) for n in flagged) or "none"
    watch_text = ", ".join(escape(n) for n in watch) or "none"
    return (
        f"Annual review of {year_label}: *{len(flagged)} partner(s) flagged* for formal review: {flagged_text}. "
        f"Watch list (not under review): {watch_text}.\n"
        f"Flagged partners have their evidence packs and may reply until *{reply_closes}*. The board's decision "
        f"is due by *{board_deadline}*; without one, funding stays unchanged and the chair is told."
    )


def review_reply_received(*, partner_name: str, year_label: str, text: str, filename: str | None) -> str:
    attached = f" with the file {quote(filename)}" if filename else ""
    quoted = f"\n>{escape(text[:1500])}{'…' if len(text) > 1500 else ''}" if text else ""
    return f"*{escape(partner_name)}* replied to the review of {year_label}{attached}.{quoted}"


def review_reply_acknowledged(*, partner_name: str, year_label: str, reply_closes: str) -> str:
    return (
        f"*{escape(partner_name)}*: your reply to the review of {year_label} was received and is with the board. "
        f"You may add to it until {reply_closes}."
    )


def board_decision(*, partner_name: str, year_label: str, decision: str, by: str, reason: str, effect: str) -> str:
    return (
        f"Board decision on *{escape(partner_name)}* in the review of {year_label}: *{escape(decision)}*, "
        f"decided by {escape(by)}.\nReason: {escape(reason)}\n{effect}"
    )


def review_timeout(*, chair: str, partner_name: str, year_label: str, deadline: str) -> str:
    return (
        f"{chair}: the board's decision on *{escape(partner_name)}* in the review of {year_label} was due by "
        f"{deadline} and none was recorded. Funding is unchanged: there is never an automatic step-down. "
        "The board can still decide with `alliance review decide`."
    )
