"""An alliance with small partners and half a year of returns stored directly, paid, spot-checked: for the report."""

import csv
import html
import itertools
import json
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from models import checks
from models.db import session_scope
from models.tables import ParticipantRecord, Submission
from services.deps import Deps
from services.payments import run_payments
from services.spot_checks import draw_spot_checks, record_check
from tests.services.review_helpers import BAND_FACTOR, BASE_RATES, START, Clock, review_deps

MONTHS = 6
LAST = START.plus(MONTHS - 1)  # 2026-09
REPORT_AT = datetime(2026, 10, 20, 9, tzinfo=UTC)
# Rows a month: partner-01 is tiny (every count of it is small), partner-02 small, the rest ordinary.
ROWS = {"partner-01": 3, "partner-02": 12} | {f"partner-{i:02d}": 45 + 3 * i for i in range(3, 13)}
MISSING = ("partner-01", START.plus(2))  # a month the tiny partner sent nothing accepted


def participant_id(rng: random.Random) -> str:
    return f"Z{rng.getrandbits(40):010X}"  # nothing else in a report looks like this


def open_books_deps(root: Path, engine: Engine | None = None, seed: int = 11) -> Deps:
    deps = review_deps(root, Clock(REPORT_AT), engine=engine)
    counter = itertools.count()
    deps.seeds = lambda: f"report-seed-{next(counter)}"
    rng = random.Random(seed)
    with session_scope(deps.engine) as session:
        for pid, rows_a_month in ROWS.items():
            for m in range(MONTHS):
                period = START.plus(m)
                if (pid, period) == MISSING:
                    continue
                submission = Submission(
                    sha256=f"{pid}-{period}".ljust(64, "0"),
                    filename=f"{pid}-{period}.xlsx",
                    stored_path="archive/x",
                    received_at=datetime(period.next().year, period.next().month, 10, tzinfo=UTC),
                    partner_id=pid,
                    period=str(period),
                    version=1,
                    status="accepted",
                    on_time=m != 1,
                    row_count=rows_a_month,
                )
                session.add(submission)
                session.flush()
                for _ in range(rows_a_month):
                    band = rng.choice(list(BAND_FACTOR))
                    achieved = [k for k, rate in BASE_RATES.items() if rng.random() < rate * BAND_FACTOR[band]]
                    session.add(
                        ParticipantRecord(
                            submission_id=submission.id or 0,
                            participant_id=participant_id(rng),
                            referral_date=date(period.year, period.month, 1),
                            complexity_band=band,
                            achieved=",".join(sorted(achieved)),
                        )
                    )
    for m in range(MONTHS):
        period = START.plus(m)
        run_payments(deps, period)
        draw_spot_checks(deps, period)
    with session_scope(deps.engine) as session:
        [draw] = [d for d in checks.draws_in(session, periods=[str(LAST)]) if d.partner_id == "partner-04"]
        claim = checks.checked_claims(session, draw_ids=[draw.id or 0])[0].claim
    record_check(
        deps,
        period=LAST,
        partner_id="partner-04",
        participant_id=claim.participant_id,
        measure=claim.measure,
        result="not_verified",
        by="Olive Officer",
        reason="no evidence on file",
    )
    run_payments(deps, LAST)  # the recovery
    return deps


def participant_ids(deps: Deps) -> set[str]:
    with session_scope(deps.engine) as session:
        return set(session.exec(select(ParticipantRecord.participant_id)).all())


def published_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def count_cells(root: Path) -> list[tuple[Path, str, Any]]:
    """(file, column, value) of every count published: JSON and CSV by the columns the JSON declares counts,
    HTML by its count cells."""
    found: list[tuple[Path, str, Any]] = []
    for figures in root.rglob("figures.json"):
        document = json.loads(figures.read_text())
        for figure in document["figures"]:
            counted = [c["key"] for c in figure["columns"] if c["kind"] == "count"]
            found += [(figures, key, row[key]) for row in figure["rows"] for key in counted]
            csv_path = figures.parent / f"{figure['id']}.csv"
            lines = csv_path.read_text().splitlines()
            header = lines[0].split(",")
            for line in lines[1:]:
                [cells] = list(csv.reader([line]))
                found += [(csv_path, key, cells[header.index(key)]) for key in counted]
    for page in root.rglob("*.html"):
        cells = re.findall(r'<td class="count" data-count="([^"]*)"', page.read_text())
        found += [(page, "td.count", html.unescape(v)) for v in cells]
    # No value (a partner without an accepted return) is not a count.
    return [c for c in found if c[2] not in (None, "", "n/a")]
