"""Per-partner status of a period: on time / late / missing, accepted / rejected."""

from typing import Any

from sqlmodel import Session

from domain.contract import Contract
from domain.periods import Period
from models import repo


def period_status(session: Session, *, contract: Contract, period: Period) -> list[dict[str, Any]]:
    submissions = repo.submissions_for_period(session, period=str(period))
    table = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [s for s in submissions if s.partner_id == partner.id]
        accepted = next((s for s in own if s.status == "accepted"), None)
        latest = max(own, key=lambda s: s.version or 0) if own else None
        shown = accepted or latest
        first = min(own, key=lambda s: s.version or 0) if own else None
        table.append(
            {
                "partner": partner.id,
                "status": "accepted" if accepted else ("rejected" if latest else "missing"),
                "timeliness": "missing" if first is None else ("on time" if first.on_time else "late"),
                "versions": len(own),
                "rows": accepted.row_count if accepted else 0,
                "errors": shown.error_count if shown else 0,
                "warnings": shown.warning_count if shown else 0,
                "feedback": shown.feedback_path if shown else "",
            }
        )
    return table


def count_statuses(table: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {"accepted": 0, "rejected": 0, "missing": 0, "late": 0}
    for row in table:
        counts[row["status"]] += 1
        if row["timeliness"] == "late":
            counts["late"] += 1
    return counts
