"""The finance system's file: what a payable run pays each partner, one CSV row per partner with an amount due,
and a row of its own for each recovery; no zero rows."""

import csv
import io
import json
from decimal import Decimal

from sqlmodel import Session

from domain.contract import Contract
from domain.errors import UsageError
from domain.money import pence_to_pounds
from domain.payments import ENTITLEMENT_KINDS
from domain.periods import Period
from domain.settlement import BROUGHT_FORWARD, CARRIED, RECOVERY
from models import repo
from models.tables import PaymentLine
from services.payment_reports import paid_by_kind
from services.payments import posted_runs

COLUMNS = (
    "reference",
    "period",
    "run_version",
    "status",
    "partner_id",
    "partner_name",
    "row",  # payment | recovery: a recovery is a row of its own
    "reason",
    "runs",  # the run the row comes from; for a recovery, the runs that overpaid
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
    base = f"{run.period}/v{run.version}" + (f" (correcting v{run.base_version})" if run.base_version else "")
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [line for line in lines if line.partner_id == partner.id]
        paid = paid_by_kind(own, partner.id)
        recovered = sum(line.amount_pence for line in own if line.kind == RECOVERY)
        payment = paid["core"] + paid["outcome"] + paid["settled"] - recovered
        reference = f"ALLIANCE-{run.period}-v{run.version}-{partner.id}"
        common = [run.period, run.version, chosen.status, partner.id, _text(partner.name)]
        if payment:
            writer.writerow(
                [
                    reference,
                    *common,
                    "payment",
                    _text(_payment_reason(run.base_version is not None, paid, own)),
                    base,
                    f"{pence_to_pounds(paid['core'])}",
                    f"{pence_to_pounds(paid['outcome'])}",
                    f"{pence_to_pounds(payment)}",
                    payment,
                ]
            )
        if recovered:
            working = json.loads(next(line for line in own if line.kind == RECOVERY).working)
            sources = working.get("sources", [])
            remaining = -working["balance_after_pence"] if working["balance_after_pence"] < 0 else 0
            writer.writerow(
                [
                    f"{reference}-RECOVERY",
                    *common,
                    "recovery",
                    f"recovery of an overpayment, at most {Decimal(working['recovery_max_share']) * 100:f}% of this "
                    f"payment; {pence_to_pounds(remaining)} remains to recover",
                    "; ".join(f"{run_ref} (overpaid {pence_to_pounds(over)})" for run_ref, over, _ in sources),
                    "0.00",
                    "0.00",
                    f"{pence_to_pounds(recovered)}",
                    recovered,
                ]
            )
    return out.getvalue(), note


def _payment_reason(correction: bool, paid: dict[str, int], own: list[PaymentLine]) -> str:
    """Why a partner's payment row is what it is, in words a finance officer can file."""
    parts = []
    if correction:
        changes = [
            f"{kind} {'+' if paid[kind] >= 0 else ''}{pence_to_pounds(paid[kind])}" for kind in ENTITLEMENT_KINDS
        ]
        parts.append(f"correction ({', '.join(changes)})")
    else:
        core = next((json.loads(x.working) for x in own if x.kind == "core"), None)
        if core is not None:
            parts.append(f"core instalment {core['month_of_year']} of 12")
        outcome: dict[str, object] = next((json.loads(x.working) for x in own if x.kind == "outcome"), {})
        parts.append("outcomes provisional: not paid yet" if "provisional_pence" in outcome else "outcomes")
    for line in own:
        if line.kind == CARRIED and line.amount_pence > 0:
            parts.append(f"{pence_to_pounds(line.amount_pence)} overpaid held back, recovered from later payments")
        elif line.kind == CARRIED:
            parts.append(
                f"{pence_to_pounds(-line.amount_pence)} under the notice threshold carried to the next payment"
            )
        elif line.kind == BROUGHT_FORWARD:
            parts.append(f"{pence_to_pounds(line.amount_pence)} brought forward from earlier corrections")
    return "; ".join(parts)
