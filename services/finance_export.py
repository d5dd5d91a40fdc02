"""The finance system's file: what a payable run pays each partner, one CSV row per partner."""

import csv
import io

from sqlmodel import Session

from domain.contract import Contract
from domain.errors import UsageError
from domain.money import pence_to_pounds
from domain.periods import Period
from models import repo
from services.payments import paid_by_kind, posted_runs

COLUMNS = (
    "reference",
    "period",
    "run_version",
    "status",
    "partner_id",
    "partner_name",
    "core",  # paid by this version: a correcting version's net change, like every column
    "outcome",
    "total",
    "total_pence",
)
# A spreadsheet opening the CSV would run a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def export_csv(session: Session, *, contract: Contract, period: Period, version: int | None = None) -> tuple[str, str]:
    """(CSV text, a note for the officer) for the period's last payable run, or ``version``.

    A version after the first pays only the difference from the version before it: the finance
    system pays each version's rows once, by reference.
    """
    states = posted_runs(session, period=period)
    if version is not None:
        chosen = next((s for s in states if s.run.version == version), None)
        if chosen is None:
            raise UsageError(f"{period} has no run version {version}; versions: {[s.run.version for s in states]}")
        if not chosen.payable:
            raise UsageError(f"run v{version} of {period} is {chosen.status}: only an approved or final run is paid")
    else:
        payable = [s for s in states if s.payable]
        if not payable:
            raise UsageError(
                f"run v{states[-1].run.version} of {period} is a draft awaiting approval: "
                f"`alliance payments approve --period {period} --by NAME` first"
            )
        chosen = payable[-1]
    note = ""
    if states[-1].status == "draft" and states[-1] is not chosen:
        note = f"run v{states[-1].run.version} of {period} is a draft awaiting approval and is not in this file"
    run = chosen.run
    assert run.id is not None
    lines = repo.lines_of(session, run_id=run.id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for partner in sorted(contract.partners, key=lambda p: p.id):
        paid = paid_by_kind(lines, partner.id)
        total = paid["core"] + paid["outcome"]
        writer.writerow(
            [
                f"ALLIANCE-{run.period}-v{run.version}-{partner.id}",
                run.period,
                run.version,
                chosen.status,
                partner.id,
                _text(partner.name),
                f"{pence_to_pounds(paid['core'])}",
                f"{pence_to_pounds(paid['outcome'])}",
                f"{pence_to_pounds(total)}",
                total,
            ]
        )
    return out.getvalue(), note
