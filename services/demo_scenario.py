"""The demo's alliance and its partners' returns, filled the way people fill spreadsheets: who sends what, when."""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.contract import Contract
from domain.periods import LONDON, Period, due_at
from integrations.spreadsheets.filler import fill_return
from integrations.spreadsheets.templates import build_template

NAMES = [
    "Harbour Trust",
    "City Mind",
    "Northfield Works",
    "Open Door Housing",
    "Bridges Recovery",
    "Steps Together",
    "Riverside Advice",
    "New Leaf Women",
    "Kinship Carers",
    "Youth Forward",
    "Second Chance",
    "Warm Homes Network",
]
SIZES = ["small", "large", "medium", "small", "medium", "large"]
ROWS_BY_SIZE = {"small": (18, 35), "medium": (45, 80), "large": (110, 170)}
CORE_BY_SIZE = {"small": "48000", "medium": "120000", "large": "310000.50"}
CONTRACT_START = Period(2026, 4)

# Which partner (by position) does what: the scenarios a real cycle meets.
ERRORS_PARTNER = 1  # first return has mistakes, the corrected one follows
LATE_PARTNER = 2  # misses the due date in month 2 (month 1 when the demo has one month)
TEXT_DATES_PARTNER = 1
BOOLEANS_PARTNER = 2
NUMERIC_IDS_PARTNER = 3
WEAK_PARTNER = 4  # achieves about half what others do with the same cases: the annual review flags it
WEAK_QUALITY = 0.5
# After its first month is paid, this partner finds it counted outcomes not yet sustained and resends that month's
# return with most of them taken out (an officer unlocks it first): the overpayment is recovered over the following
# months, at most a quarter of each payment. Needs four months or more.
RESENDING_PARTNER = 0
RESEND_FROM_MONTHS = 4
REVIEW_AT = datetime(2027, 4, 20, 9, tzinfo=LONDON)  # after contract year 1 and its last returns


def slug(name: str) -> str:
    return "-".join(name.lower().split())


def partner_names(count: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"Partner {i + 1}" for i in range(count)]


def contract_yaml(count: int, *, approval: bool = False) -> str:
    """The demo's contract for ``count`` partners; ``approval``: an officer approves every run (the demo's own)."""
    lines = [
        "alliance:",
        "  name: Northfield Wellbeing Alliance (demo)",
        "  commissioner: Northfield Council",
        f"  contract_start: {CONTRACT_START}",
        '  officers_channel: "#alliance-officers"',
        '  board_channel: "#alliance-board"',
        "partners:",
    ]
    for i, name in enumerate(partner_names(count)):
        size = SIZES[i % len(SIZES)]
        lines.append(
            f"  - {{id: {slug(name)}, name: {name}, size: {size}, annual_core: {CORE_BY_SIZE[size]}, "
            f'slack_channel: "#{slug(name)}"}}'
        )
    lines += [
        "framework:",
        "  version: 1",
        "  bands: {standard: 1.0, complex: 1.5, very_complex: 2.0}",
        "  measures:",
        "    - {id: housing_sustained, label: Housing sustained 3 months, weight: 3, monthly_target: 40}",
        "    - {id: into_work, label: Started work or training, weight: 2, monthly_target: 25}",
        "    - {id: wellbeing_up, label: Wellbeing score improved, weight: 1, monthly_target: 90}",
        "payments: {annual_outcome_pool: 600000, collar: 0.8, cap: 1.2, "
        f"require_officer_approval: {'true' if approval else 'false'}}}",
        "review: {bottom_fraction: 0.10, min_accepted_months: 9, control_limit_z: 1.96, overdispersion: true,",
        "         right_of_reply_days: 14, board_timeout_days: 30, step_down_percent_options: [10, 25, 50, 100]}",
        "deadlines: {due_day: 14, reminder_days_before: [3, 1]}",
        "",
    ]
    return "\n".join(lines)


RATES = {"housing_sustained": 0.07, "into_work": 0.05, "wellbeing_up": 0.18}


def participant_rows(rng: random.Random, partner_index: int, period: Period, count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        referred = period.first_day - timedelta(days=rng.randint(0, 300))
        band = rng.choices(["standard", "complex", "very_complex"], weights=[5, 3, 2])[0]
        quality = WEAK_QUALITY if partner_index == WEAK_PARTNER else 1.0
        achieved = {m: rng.random() < rate * quality for m, rate in RATES.items()}
        pid: Any = f"{slug(NAMES[partner_index % len(NAMES)])[:3].upper()}-{period.month:02d}{n:04d}"
        if partner_index == NUMERIC_IDS_PARTNER:
            pid = 100000 + period.month * 1000 + n
        row: dict[str, Any] = {"participant_id": pid, "complexity_band": band}
        if partner_index == TEXT_DATES_PARTNER:
            row["referral_date"] = referred.strftime("%d/%m/%Y")
            row["complexity_band"] = band.replace("_", " ").capitalize()
        else:
            row["referral_date"] = referred
        for measure, done in achieved.items():
            if partner_index == BOOLEANS_PARTNER:
                row[measure] = done
            elif partner_index == TEXT_DATES_PARTNER:
                row[measure] = "Y" if done else "n "
            else:
                row[measure] = "Yes" if done else "No"
        rows.append(row)
    return rows


def summary_for(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def yes(value: Any) -> bool:
        return value is True or (isinstance(value, str) and value.strip().lower() in ("yes", "y"))

    summary: dict[str, Any] = {"participants": len(rows)}
    for measure in RATES:
        summary[measure] = sum(1 for r in rows if yes(r[measure]))
    return summary


def with_mistakes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = [dict(r) for r in rows]
    bad[2]["complexity_band"] = "hard"
    bad[4]["into_work"] = "maybe"
    bad[5]["referral_date"] = "31/02/2026"
    bad[7]["participant_id"] = bad[6]["participant_id"]
    return bad


@dataclass(frozen=True)
class Arrival:
    at: datetime
    name: str
    content: bytes


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def cycle_time(contract: Contract, period: Period) -> datetime:
    """Cycles run at 09:00 two days after the due date."""
    due = due_at(period, contract.deadlines.due_day).astimezone(LONDON)
    return local(due.date() + timedelta(days=2), 9)


def arrivals(contract: Contract, months: int, seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    result = []
    late_month = 2 if months >= 3 else 1
    caught_up_later = months > late_month  # a later cycle picks the late return up as a correction
    for m in range(months):
        period = CONTRACT_START.plus(m)
        following = period.next().first_day
        for index, partner in enumerate(contract.partners):
            low, high = ROWS_BY_SIZE[partner.size.value]
            rows = participant_rows(rng, index, period, rng.randint(low, high))
            summary = None if index == NUMERIC_IDS_PARTNER else summary_for(rows)
            extra = ("notes", ["called twice" for _ in rows]) if index == BOOLEANS_PARTNER else None
            blanks = [3, 10] if index == NUMERIC_IDS_PARTNER else []

            def book_bytes(
                content_rows: list[dict[str, Any]],
                partner: Any = partner,
                summary: Any = summary,
                extra: Any = extra,
                blanks: Any = blanks,
                period: Period = period,
            ) -> bytes:
                book = build_template(contract, partner, period)
                return fill_return(book, content_rows, summary=summary, extra_column=extra, blank_rows_after=blanks)

            name = f"{partner.id}/{partner.name} return {period}.xlsx"  # every return from the partner's own folder
            if index == ERRORS_PARTNER and m == 0:
                result.append(Arrival(local(following + timedelta(days=7), 16), name, book_bytes(with_mistakes(rows))))
                result.append(
                    Arrival(
                        local(following + timedelta(days=11), 10),
                        f"{partner.id}/{partner.name} return {period} corrected.xlsx",  # from their upload folder
                        book_bytes(rows),
                    )
                )
                # Someone's case-system export, renamed: nobody's return, so officers are told.
                export = b"participant_id,referral_date,complexity_band\r\nCM-001,03/04/2026,complex\r\n"
                result.append(Arrival(local(following + timedelta(days=5), 11), "case system export.xlsx", export))
            elif index == RESENDING_PARTNER and m == 0 and months >= RESEND_FROM_MONTHS:
                day = rng.randint(2, contract.deadlines.due_day - 1)  # drawn as for any partner: the same demo after
                hour = rng.randint(9, 17)
                result.append(Arrival(local(following + timedelta(days=day - 1), hour), name, book_bytes(rows)))
                fewer = [{**r, "housing_sustained": "No", "into_work": "No", "wellbeing_up": "No"} for r in rows]
                result.append(
                    Arrival(
                        local(following + timedelta(days=19), 10),  # the 20th: after the month was paid
                        f"{partner.id}/{partner.name} return {period} resent.xlsx",
                        book_bytes(fewer, summary=summary_for(fewer)),
                    )
                )
            elif index == LATE_PARTNER and m == late_month - 1:
                # After this period's cycle (day 16) when a later cycle exists, else just after the due date.
                day = 20 if caught_up_later else contract.deadlines.due_day + 1
                result.append(Arrival(local(following + timedelta(days=day - 1), 8), name, book_bytes(rows)))
            else:
                day = rng.randint(2, contract.deadlines.due_day - 1)
                result.append(
                    Arrival(local(following + timedelta(days=day - 1), rng.randint(9, 17)), name, book_bytes(rows))
                )
    return sorted(result, key=lambda a: a.at)
