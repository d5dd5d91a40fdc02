"""A partner's self-check (`alliance validate`, the portal's "check without submitting"): the cycle's checks of a
file's own content, and the feedback workbook the cycle would write; recorded nowhere."""

from dataclasses import dataclass
from pathlib import Path

from domain.access import Principal, authorise, refuse_other_partners
from domain.contract import Contract
from domain.findings import Finding
from domain.returns import RawReturn
from expectations.returns import ValidatedReturn
from integrations.inbox import InboxFile
from integrations.spreadsheets.feedback import FeedbackHeading, write_feedback
from services.intake import check_file, is_accepted


@dataclass(frozen=True)
class SelfCheck:
    """A partner's test run (`alliance validate`, the portal's "check without submitting"): recorded nowhere."""

    validated: ValidatedReturn | None
    findings: list[Finding]
    accepted: bool
    raw: RawReturn | None = None

    @property
    def partner_id(self) -> str | None:
        return self.validated.partner.id if self.validated and self.validated.partner else None

    @property
    def period(self) -> str | None:
        return str(self.validated.period) if self.validated and self.validated.period else None


def self_check(file: InboxFile, contract: Contract, principal: Principal) -> SelfCheck:
    """The cycle's checks of a file's own content (not those that need the records: earlier claims, other
    partners' returns, history, lateness). A partner checks its own returns only: another partner's is refused
    without a word of what it holds."""
    authorise(principal, "validate")
    validated, findings, raw = check_file(file, contract)
    if validated and validated.partner and not principal.sees(validated.partner.id):
        raise refuse_other_partners(principal, file.name)
    return SelfCheck(validated, findings, is_accepted(validated, findings), raw)


def self_check_feedback(check: SelfCheck, file: InboxFile, folder: Path) -> Path:
    """The feedback workbook the cycle would write for this file (no changes: nothing is compared offline)."""
    validated = check.validated
    partner = validated.partner if validated else None
    period = validated.period if validated else None
    stem = Path(file.name).stem
    return write_feedback(
        folder / f"{stem}-feedback.xlsx",
        heading=FeedbackHeading(
            partner_name=partner.name if partner else "unknown partner",
            period=str(period) if period else "an unknown period",
            version=None,
            filename=file.name,
            status="accepted (self-check)" if check.accepted else "not accepted (self-check)",
        ),
        findings=check.findings,
        grids=check.raw.grids if check.raw else None,
        changes_note="A self-check is not compared with earlier versions: the cycle does that when you send it.",
    )
