"""A twelve-partner alliance with a year of accepted returns stored directly (no workbooks), for review tests."""

import random
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.periods import Period
from integrations.inbox import open_inbox
from integrations.workspace import Workspace, load_contract
from models import repo
from models.db import ensure_schema, make_engine, session_scope
from models.tables import ParticipantRecord, Submission
from services.deps import Deps

PARTNERS = [f"partner-{i:02d}" for i in range(1, 13)]
WEAK = "partner-03"
START = Period(2026, 4)
# After contract year 1 (2026-04 to 2027-03) has ended and its last returns are in.
REVIEW_AT = datetime(2027, 4, 20, 9, tzinfo=UTC)
BASE_RATES = {"housing_sustained": 0.30, "into_work": 0.20, "wellbeing_up": 0.60}
BAND_FACTOR = {"standard": 1.0, "complex": 0.6, "very_complex": 0.35}


def contract_yaml(partners: list[str] = PARTNERS, start: Period = START) -> str:
    lines = [
        f"alliance: {{name: Test Alliance, commissioner: Test Council, contract_start: {start},",
        '           officers_channel: "#alliance-officers", board_channel: "#alliance-board"}',
        "partners:",
    ]
    for i, pid in enumerate(partners):
        lines.append(
            f"  - {{id: {pid}, name: Partner {i + 1:02d}, size: medium, annual_core: {60000 + 1000 * i}.37,"
            f' slack_channel: "#{pid}"}}'
        )
    lines += [
        "framework:",
        "  version: 1",
        "  bands: {standard: 1.0, complex: 1.5, very_complex: 2.0}",
        "  measures:",
        "    - {id: housing_sustained, label: Housing sustained, weight: 3, monthly_target: 40}",
        "    - {id: into_work, label: Into work, weight: 2, monthly_target: 25}",
        "    - {id: wellbeing_up, label: Wellbeing up, weight: 1, monthly_target: 90}",
        "payments: {annual_outcome_pool: 600000, collar: 0.8, cap: 1.2, require_officer_approval: false}",
        "review: {bottom_fraction: 0.10, min_accepted_months: 9, control_limit_z: 1.96, overdispersion: true,",
        "         right_of_reply_days: 14, board_timeout_days: 30, step_down_percent_options: [10, 25, 50, 100],",
        "         board_chair: U0CHAIR}",
        "deadlines: {due_day: 14, reminder_days_before: [3, 1]}",
    ]
    return "\n".join(lines) + "\n"


class Clock:
    """A clock the test moves; ``sleep`` moves it instead of waiting."""

    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)


def review_deps(root: Path, clock: Clock, engine: Engine | None = None, start: Period = START) -> Deps:
    root.mkdir(parents=True, exist_ok=True)
    (root / "alliance.yaml").write_text(contract_yaml(start=start))
    url = str(engine.url.render_as_string(hide_password=False)) if engine else f"sqlite:///{root / 'alliance.db'}"
    engine = engine or make_engine(url)
    ensure_schema(engine)
    contract = load_contract(root / "alliance.yaml")
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
    return Deps(
        workspace=Workspace(root=root, database_url=url),
        engine=engine,
        inbox=open_inbox(root / "inbox"),
        contract=contract,
        clock=clock,
        sleep=clock.sleep,
    )


def seed_year(
    deps: Deps,
    *,
    quality: dict[str, float] | None = None,
    months: dict[str, int] | None = None,
    rows_per_month: int = 40,
    seed: int = 7,
    year_start: Period = START,
) -> None:
    """Accepted returns for every partner and month; ``quality`` scales its achievement rates (1 = average)."""
    rng = random.Random(seed)
    quality = quality or {}
    months = months or {}
    with session_scope(deps.engine) as session:
        for pid in PARTNERS:
            for m in range(months.get(pid, 12)):
                period = year_start.plus(m)
                submission = Submission(
                    sha256=f"{pid}-{period}".ljust(64, "0"),
                    filename=f"{pid}-{period}.xlsx",
                    stored_path="archive/x",
                    received_at=datetime(period.next().year, period.next().month, 10, tzinfo=UTC),
                    partner_id=pid,
                    period=str(period),
                    version=1,
                    status="accepted",
                    on_time=True,
                    row_count=rows_per_month,
                )
                session.add(submission)
                session.flush()
                assert submission.id is not None
                rows = []
                for r in range(rows_per_month):
                    band = rng.choice(list(BAND_FACTOR))
                    achieved = sorted(
                        m_id
                        for m_id, rate in BASE_RATES.items()
                        if rng.random() < rate * BAND_FACTOR[band] * quality.get(pid, 1.0)
                    )
                    rows.append(
                        ParticipantRecord(
                            submission_id=submission.id,
                            participant_id=f"{pid}-{period}-{r}",
                            referral_date=date(period.year, period.month, 1),
                            complexity_band=band,
                            achieved=",".join(achieved),
                        )
                    )
                session.add_all(rows)


def core_paid(deps: Deps, period: Period, partner_id: str) -> int:
    """The partner's core line in the period's payment run for the current inputs (posted if new); paid as on the
    month's first day when the clock is earlier (a month still to come is never paid: issue 31, case 3)."""
    from dataclasses import replace

    from services.payments import run_payments

    begun = datetime(period.year, period.month, 1, 9, tzinfo=UTC)
    run = run_payments(replace(deps, clock=lambda: max(deps.clock(), begun)), period).run
    with session_scope(deps.engine) as session:
        assert run.id is not None
        lines = repo.lines_of(session, run_id=run.id)
    return sum(line.amount_pence for line in lines if line.partner_id == partner_id and line.kind == "core")
