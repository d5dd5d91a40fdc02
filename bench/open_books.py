"""Open books at national scale: a cycle's spot-check draws, gaming monitors and alliance report on SQLite.

`python -m bench open-books --partners 200 --rows 5000 --months 3`: accepted returns stored directly (two thirds
of each month's participants continue from the month before, so the cycling monitor has history), every month
paid, then the steps the monthly cycle adds for the last month are timed, each against the floor: a plain
SELECT, through sqlite3, of every participant row of those months.
"""

import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.payment_run import floor_seconds
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import Submission
from services.demo import contract_yaml
from services.deps import fixed_clock, production_deps
from services.payments import run_payments
from services.report import build_cycle_reports, build_report, year_alerts
from services.spot_checks import draw_spot_checks

START = Period(2026, 4)
FLOOR_QUERY = "SELECT submission_id, participant_id, referral_date, complexity_band, achieved FROM participant_row"
INSERT_ROW = (
    "INSERT INTO participant_row (submission_id, participant_id, sheet_row, referral_date, complexity_band, "
    "achieved) VALUES (?, ?, ?, ?, ?, ?)"
)
RATES = {"housing_sustained": 0.07, "into_work": 0.05, "wellbeing_up": 0.18}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _build(root: Path, partners: int, rows: int, months: int, seed: int) -> tuple[Any, Path, float]:
    start = time.perf_counter()
    (root / "alliance.yaml").write_text(contract_yaml(partners), encoding="utf-8")
    database = root / "alliance.db"
    last = START.plus(months - 1)
    deps = production_deps(
        Workspace(root=root, database_url=f"sqlite:///{database}"),
        clock=fixed_clock(datetime(last.next().year, last.next().month, 16, 9, tzinfo=UTC)),
    )
    contract = deps.contract
    bands = list(contract.framework.bands)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=contract)
        submissions = {
            (partner.id, START.plus(m)): Submission(
                sha256=f"{index:032x}{m:032x}",
                filename=f"{partner.id}-{START.plus(m)}.xlsx",
                stored_path="archive/bench",
                received_at=datetime(START.plus(m).next().year, START.plus(m).next().month, 5, tzinfo=UTC),
                partner_id=partner.id,
                period=str(START.plus(m)),
                version=1,
                status="accepted",
                on_time=True,
                row_count=rows,
            )
            for index, partner in enumerate(contract.partners)
            for m in range(months)
        }
        session.add_all(submissions.values())
        session.flush()
        ids = {key: s.id for key, s in submissions.items()}
    rng = random.Random(seed)
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for index, partner in enumerate(contract.partners):
            caseload: list[tuple[str, str, str]] = []  # (participant id, referral date, band)
            for m in range(months):
                period = START.plus(m)
                kept = rng.sample(caseload, min(len(caseload), rows * 2 // 3))
                fresh = [
                    (
                        f"N{index:03d}-{m:02d}-{n:05d}",
                        date(period.year, period.month, 1 + n % 28).isoformat(),
                        rng.choice(bands),
                    )
                    for n in range(rows - len(kept))
                ]
                caseload = kept + fresh
                connection.executemany(
                    INSERT_ROW,
                    [
                        (
                            ids[partner.id, period],
                            pid,
                            n + 2,
                            referred,
                            band,
                            ",".join(sorted(k for k, rate in RATES.items() if rng.random() < rate)),
                        )
                        for n, (pid, referred, band) in enumerate(caseload)
                    ],
                )
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    for m in range(months):
        run_payments(deps, START.plus(m))
    return deps, database, time.perf_counter() - start


def _timed(step: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def open_books(partners: int = 200, rows: int = 5000, months: int = 3, seed: int = 2026) -> dict[str, Any]:
    last = START.plus(months - 1)
    with tempfile.TemporaryDirectory(prefix="bench-open-books-") as folder:
        deps, database, setup = _build(Path(folder), partners, rows, months, seed)
        draw_seconds, draws = _timed(lambda: draw_spot_checks(deps, last))

        def monitors() -> Any:
            with session_scope(deps.engine) as session:
                return year_alerts(session, contract=deps.contract, year=1)

        monitor_seconds, alerts = _timed(monitors)
        # As the cycle publishes: the month's report and the year's to date, from one reading of the records.
        reports_seconds, _ = _timed(lambda: build_cycle_reports(deps, [last], {1: alerts}))
        period_seconds, _ = _timed(lambda: build_report(deps, period=last))  # by hand: its own monitors
        published = sum(p.stat().st_size for p in (deps.workspace.out / "report").rglob("*") if p.is_file())
        deps.engine.dispose()
        peak_before_floor = _peak_rss_mib()
        floor = floor_seconds(
            database, expected=partners * rows * months, query=FLOOR_QUERY
        )  # last: its fetched rows raise the peak
    added = draw_seconds + monitor_seconds + reports_seconds
    return {
        "partners": partners,
        "rows_per_partner_month": rows,
        "months": months,
        "rows": partners * rows * months,
        "setup_seconds": round(setup, 2),
        "floor_select_seconds": round(floor, 3),
        "floor_note": f"best of 3: {FLOOR_QUERY}, fetchall through sqlite3, every month",
        "draw_spot_checks_seconds": round(draw_seconds, 3),
        "claims_drawn": sum(len(d.sample) for d in draws),
        "monitors_year_to_date_seconds": round(monitor_seconds, 3),
        "alerts": len(alerts),
        "cycle_reports_seconds": round(reports_seconds, 3),
        "cycle_adds_seconds": round(added, 3),
        "ratio_cycle_adds_to_floor": round(added / floor, 2),
        "alliance_report_period_by_hand_seconds": round(period_seconds, 3),
        "published_bytes": published,
        "peak_rss_mib_before_floor": round(peak_before_floor, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }
