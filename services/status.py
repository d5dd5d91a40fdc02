"""Per-partner status of a period: awaiting, missing, submitted, accepted or rejected; on time or late."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain.contract import Contract, Partner
from domain.periods import Period, due_at, due_date, format_day
from domain.return_status import ReturnState, ReturnStatus, Version, return_state
from models import repo
from models.tables import Submission


@dataclass(frozen=True)
class PartnerReturn:
    partner: Partner
    state: ReturnState
    versions: list[Submission]  # this partner's versions for the period, oldest first
    accepted: Submission | None

    @property
    def latest(self) -> Submission | None:
        return self.versions[-1] if self.versions else None

    @property
    def shown(self) -> Submission | None:
        """The version that speaks for the partner: the accepted one, else the latest."""
        return self.accepted or self.latest


def partner_returns(session: Session, *, contract: Contract, period: Period, now: datetime) -> list[PartnerReturn]:
    due = due_at(period, contract.deadlines.due_day)
    submissions = [s for s in repo.submissions_for_period(session, period=str(period)) if s.status != "quarantined"]
    result = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = sorted((s for s in submissions if s.partner_id == partner.id), key=lambda s: s.version or 0)
        state = return_state(
            [Version(s.version or 0, s.status, s.received_at, s.on_time) for s in own], due=due, now=now
        )
        accepted = next((s for s in reversed(own) if s.status == "accepted"), None)
        result.append(PartnerReturn(partner, state, own, accepted))
    return result


def period_status(session: Session, *, contract: Contract, period: Period, now: datetime) -> list[dict[str, Any]]:
    due = format_day(due_date(period, contract.deadlines.due_day))
    table = []
    for entry in partner_returns(session, contract=contract, period=period, now=now):
        shown = entry.shown
        table.append(
            {
                "partner": entry.partner.id,
                "status": entry.state.status.value,
                "timeliness": entry.state.timeliness,
                "due": due,
                "versions": len(entry.versions),
                "rows": entry.accepted.row_count if entry.accepted else 0,
                "errors": shown.error_count if shown else 0,
                "warnings": shown.warning_count if shown else 0,
                "feedback": shown.feedback_path if shown and shown.feedback_path else "",
            }
        )
    return table


def count_statuses(table: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {status.value: 0 for status in ReturnStatus} | {"late": 0}
    for row in table:
        counts[row["status"]] += 1
        if row["timeliness"] == "late":
            counts["late"] += 1
    return counts
