"""One period's payment run for a national alliance: 200 partners x 5,000 accepted rows (1M) on SQLite.

The database is built directly (partners synced, one accepted submission per partner, its rows
bulk-inserted through sqlite3), not through the spreadsheet intake: only the run is measured.
"""

import json
import random
import resource
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.contract import Contract
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import Submission
from services.demo import contract_yaml
from services.deps import Deps, fixed_clock, production_deps
from services.payments import run_payments
from services.statements import write_statements

PERIOD = Period(2026, 10)
RECEIVED = datetime(2026, 11, 5, 10, tzinfo=UTC)
CYCLE = datetime(2026, 11, 16, 9, tzinfo=UTC)  # two days after the due date, as the monthly cycle runs
BASE_RATES = {"housing_sustained": 0.07, "into_work": 0.05, "wellbeing_up": 0.18}
FLOOR_QUERY = "SELECT submission_id, complexity_band, achieved FROM participant_row"
INSERT_ROW = (
    "INSERT INTO participant_row (submission_id, participant_id, sheet_row, referral_date, complexity_band, "
    "achieved, postcode_district) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Built:
    deps: Deps
    database: Path
    partners: int
    rows: int
    seconds: float


def _partner_rows(
    rng: random.Random, contract: Contract, index: int, submission_id: int, rows: int
) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """One partner's rows; its own outcome rates and band mix, so points differ between partners."""
    bands = list(contract.framework.bands)
    measures = contract.framework.measure_ids
    scale = rng.uniform(0.5, 1.5)
    rates = [BASE_RATES.get(m, 0.1) * scale for m in measures]
    band_weights = [rng.uniform(1, 5) for _ in bands]
    chosen_bands = rng.choices(bands, weights=band_weights, k=rows)
    first = PERIOD.first_day
    counts = dict.fromkeys(sorted(measures), 0)
    data = []
    for n in range(rows):
        achieved = sorted(m for m, rate in zip(measures, rates, strict=True) if rng.random() < rate)
        for m in achieved:
            counts[m] += 1
        referred: date = first - timedelta(days=n % 300)
        data.append(
            (
                submission_id,
                f"N{index:03d}-{n:05d}",
                n + 2,
                referred.isoformat(),
                chosen_bands[n],
                ",".join(achieved),
                f"NF{n % 9 + 1}",
            )
        )
    return data, counts


def build_database(root: Path, *, partners: int, rows: int, seed: int = 2026) -> Built:
    """A workspace under ``root`` with ``partners`` accepted returns of ``rows`` rows each for PERIOD."""
    start = time.perf_counter()
    (root / "alliance.yaml").write_text(contract_yaml(partners), encoding="utf-8")
    database = root / "alliance.db"
    workspace = Workspace(root=root, database_url=f"sqlite:///{database}")
    deps = production_deps(workspace, clock=fixed_clock(CYCLE))
    contract = deps.contract
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=contract)
        submissions = [
            Submission(
                sha256=f"{index:064x}",
                filename=f"{partner.name} return {PERIOD}.xlsx",
                stored_path=str(workspace.archive / f"{index:064x}.xlsx"),
                received_at=RECEIVED,
                partner_id=partner.id,
                period=str(PERIOD),
                version=1,
                status="accepted",
                on_time=True,
                processed_at=RECEIVED,
            )
            for index, partner in enumerate(contract.partners)
        ]
        session.add_all(submissions)
        session.flush()
        ids = [s.id for s in submissions]
    rng = random.Random(seed)
    counts_by_submission = {}
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for index, submission_id in enumerate(ids):
            assert submission_id is not None
            data, counts = _partner_rows(rng, contract, index, submission_id, rows)
            connection.executemany(INSERT_ROW, data)
            counts_by_submission[submission_id] = counts
        # As the intake records them: each return's rows counted by band and measures achieved.
        connection.execute(
            "INSERT INTO achievement_group (submission_id, complexity_band, achieved, rows) "
            "SELECT submission_id, complexity_band, achieved, count(*) FROM participant_row "
            "GROUP BY submission_id, complexity_band, achieved"
        )
        connection.executemany(
            "UPDATE submission SET row_count = ?, measure_counts = ? WHERE id = ?",
            [(rows, json.dumps(c, sort_keys=True), sid) for sid, c in counts_by_submission.items()],
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return Built(deps, database, partners, rows, time.perf_counter() - start)


def floor_seconds(database: Path, *, expected: int, repeats: int = 3, query: str = FLOOR_QUERY) -> float:
    """The unavoidable read of the inputs (by default the run's: every row's submission, band and measures), via
    sqlite3, best of ``repeats``."""
    best = float("inf")
    connection = sqlite3.connect(database)
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            fetched = connection.execute(query).fetchall()
            best = min(best, time.perf_counter() - start)
            assert len(fetched) == expected
            del fetched
    finally:
        connection.close()
    return best


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def payment_run(partners: int = 200, rows: int = 5000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-payment-run-") as folder:
        built = build_database(Path(folder), partners=partners, rows=rows)
        deps = built.deps
        peak_after_setup = _peak_rss_mib()

        start = time.perf_counter()
        first = run_payments(deps, PERIOD)
        run_seconds = time.perf_counter() - start
        assert first.created and first.run.id is not None
        peak_after_run = _peak_rss_mib()

        start = time.perf_counter()
        written = write_statements(deps, first.run)
        statements_seconds = time.perf_counter() - start

        start = time.perf_counter()
        again = run_payments(deps, PERIOD)
        rerun_seconds = time.perf_counter() - start
        assert not again.created and again.run.id == first.run.id

        with session_scope(deps.engine) as session:
            lines = repo.lines_of(session, run_id=first.run.id)
        deps.engine.dispose()
        peak_before_floor = _peak_rss_mib()
        floor = floor_seconds(built.database, expected=partners * rows)  # last: its 1M tuples raise the peak
    return {
        "partners": partners,
        "rows_per_partner": rows,
        "rows": partners * rows,
        "setup_seconds": round(built.seconds, 3),
        "run_payments_seconds": round(run_seconds, 3),
        "statements_seconds": round(statements_seconds, 3),
        "rerun_seconds": round(rerun_seconds, 4),
        "payment_lines": len(lines),
        "statement_files_written": len(written),
        "floor_select_seconds": round(floor, 3),
        "floor_note": f"best of 3: {FLOOR_QUERY}, fetchall through sqlite3",
        "ratio_run_payments_to_floor": round(run_seconds / floor, 2),
        "alliance_factor": first.run.alliance_factor,
        "payable_pence": first.run.payable_pence,
        "peak_rss_mib_after_setup": round(peak_after_setup, 1),
        "peak_rss_mib_after_run_payments": round(peak_after_run, 1),
        "peak_rss_mib_before_floor": round(peak_before_floor, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }
