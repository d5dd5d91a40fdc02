import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import select

from domain.errors import UsageError
from domain.money import apply_rate
from domain.payments import core_instalment
from domain.periods import Period
from models import repo, reviews
from models.audit import verify_chain
from models.db import session_scope
from models.tables import AuditEntry, FundingAdjustment, Notification
from services import board_decisions, review
from services.deps import Deps
from services.payments import run_payments
from tests.services.review_helpers import PARTNERS, REVIEW_AT, WEAK, Clock, review_deps, seed_year

AFTER_REPLY = REVIEW_AT + timedelta(days=15)  # the right of reply (14 days) has closed
JUNE_1 = datetime(2027, 6, 1, 9, tzinfo=UTC)  # the first step-down's month has begun: its core can be paid


@pytest.fixture
def clock() -> Clock:
    return Clock(REVIEW_AT)


@pytest.fixture
def deps(tmp_path: Path, clock: Clock) -> Deps:
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6})
    return deps


def outbox(deps: Deps) -> list[Notification]:
    with session_scope(deps.engine) as session:
        return repo.notifications(session)


def core_line(deps: Deps, period: str, partner_id: str) -> int:
    with session_scope(deps.engine) as session:
        run = repo.latest_run(session, period=period)
        assert run is not None and run.id is not None
        lines = repo.lines_of(session, run_id=run.id)
        return sum(line.amount_pence for line in lines if line.partner_id == partner_id and line.kind == "core")


def decide_step_down(deps: Deps, **overrides: object) -> board_decisions.DecisionResult:
    arguments: dict[str, object] = {
        "year": 1,
        "partner_id": WEAK,
        "kind": "step_down",
        "step_down_percent": 25,
        "effective": "2027-06",
        "decided_by": "Board (chair A. Khan)",
        "reason": "Outcomes well below expected for two quarters running; reply did not explain the shortfall.",
    }
    arguments.update(overrides)
    return board_decisions.decide(deps, **arguments)  # type: ignore[arg-type]


def test_the_review_flags_the_weak_partner_once_and_tells_only_it_and_the_board(deps: Deps) -> None:
    started = review.start_review(deps, year=1)

    assert started.created
    assert [c.partner_id for c in started.flagged] == [WEAK]
    assert len(started.cases) == len(PARTNERS)
    assert all(c.reason for c in started.cases)
    # Year 1 has no previous year: the first-year rule (each half of the year on its own) decided, and says so.
    assert started.flagged[0].basis == "REVIEW_FLAGGED_FIRST_YEAR"
    assert all("Rule applied: the first-year rule" in c.reason for c in started.cases)
    folder = deps.workspace.reviews_dir / "1"
    assert (folder / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pack = load_workbook(folder / f"{WEAK}-review-1.xlsx")
    assert pack.sheetnames == ["Summary", "Funnel plot", "Monthly trend", "Case mix", "Data quality", "Method"]
    assert len(pack["Funnel plot"]._images) == 1  # type: ignore[attr-defined]
    messages = outbox(deps)
    partner_messages = [m for m in messages if m.partner_id is not None]
    assert [(m.partner_id, m.channel, m.kind) for m in partner_messages] == [(WEAK, f"#{WEAK}", "review_evidence")]
    assert json.loads(partner_messages[0].payload)["file"] == f"1/{WEAK}-review-1.xlsx"
    assert sorted(m.channel for m in messages if m.partner_id is None) == ["#alliance-board", "#alliance-officers"]

    again = review.start_review(deps, year=1)
    assert not again.created
    assert again.review.id == started.review.id
    assert len(outbox(deps)) == len(messages)


def test_a_year_is_reviewed_only_after_it_ends(deps: Deps, clock: Clock) -> None:
    clock.now = REVIEW_AT.replace(year=2027, month=3, day=31)
    with pytest.raises(UsageError, match="runs until 31/03/2027"):
        review.start_review(deps, year=1)


def test_a_partner_that_sent_too_few_months_is_watched_not_flagged(tmp_path: Path, clock: Clock) -> None:
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6}, months={WEAK: 6})

    started = review.start_review(deps, year=1)

    case = next(c for c in started.cases if c.partner_id == WEAK)
    assert (case.standing, case.basis) == ("watch", "REVIEW_INCOMPLETE")
    assert "6 of the 9 months" in case.reason
    assert started.flagged == []


def test_a_reply_is_kept_with_its_file_and_refused_after_the_window(deps: Deps, clock: Clock, tmp_path: Path) -> None:
    review.start_review(deps, year=1)
    letter = tmp_path / "our reply.pdf"
    letter.write_bytes(b"%PDF-1.4 the shortfall was a data entry backlog")

    saved = review.reply(deps, year=1, partner_id=WEAK, by="CEO, Partner 03", text="See the letter.", file=letter)

    assert saved.sha256 and saved.stored_path
    assert (deps.workspace.root / saved.stored_path).read_bytes() == letter.read_bytes()
    board = [m for m in outbox(deps) if m.kind == "review_reply" and m.channel == "#alliance-board"]
    assert len(board) == 1 and "See the letter." in board[0].text
    with pytest.raises(UsageError, match="not under review"):
        review.reply(deps, year=1, partner_id="partner-01", by="x", text="we want a say too")
    with pytest.raises(UsageError, match="needs --text or --file"):
        review.reply(deps, year=1, partner_id=WEAK, by="x")
    clock.now = AFTER_REPLY
    with pytest.raises(UsageError, match="closed on 04/05/2027"):
        review.reply(deps, year=1, partner_id=WEAK, by="CEO", text="one more thing")


def test_the_board_cannot_decide_before_the_reply_window_closes_or_off_the_options(deps: Deps, clock: Clock) -> None:
    review.start_review(deps, year=1)
    with pytest.raises(UsageError, match="right of reply runs until 04/05/2027"):
        decide_step_down(deps)
    clock.now = AFTER_REPLY
    with pytest.raises(UsageError, match="one of 10, 25, 50, 100") as refused:
        decide_step_down(deps, step_down_percent=33, reason="")
    assert "give the reason" in str(refused.value)
    with pytest.raises(UsageError, match="2027-06 or later"):
        decide_step_down(deps, effective="2027-04")
    with pytest.raises(UsageError, match="not under review"):
        decide_step_down(deps, partner_id="partner-01")
    with session_scope(deps.engine) as session:
        assert list(session.exec(select(FundingAdjustment))) == []


def test_a_step_down_reduces_the_next_core_instalment_exactly_and_is_audited(deps: Deps, clock: Clock) -> None:
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY

    result = decide_step_down(deps)

    assert result.created and result.rerun_periods == []
    clock.now = JUNE_1  # a month's core is paid once the month has begun, never before (issue 31, case 3)
    run_payments(deps, Period(2027, 6))
    partner = deps.contract.partner(WEAK)
    assert partner is not None
    instalment = core_instalment(partner.annual_core_pence, 3)  # June is month 3 of contract year 2
    assert core_line(deps, "2027-06", WEAK) == instalment - apply_rate(instalment, Decimal("0.25"))
    assert core_line(deps, "2027-06", "partner-01") == core_instalment(
        deps.contract.partner("partner-01").annual_core_pence,  # type: ignore[union-attr]
        3,
    )
    told = [m for m in outbox(deps) if m.kind == "board_decision"]
    assert sorted(m.channel for m in told) == ["#alliance-board", "#alliance-officers", f"#{WEAK}"]
    assert "reduced by 25%" in told[0].text
    with session_scope(deps.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "review.board_decision")).one()
        assert entry.actor == "Board (chair A. Khan)"
        assert json.loads(entry.detail)["percent"] == 25
        assert verify_chain(session).ok


def test_the_same_decision_twice_is_recorded_once_and_a_different_one_goes_through_appeal(
    deps: Deps, clock: Clock
) -> None:
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    first = decide_step_down(deps)

    repeat = decide_step_down(deps)
    assert not repeat.created and repeat.record.id == first.record.id
    with pytest.raises(UsageError, match="already decided"):
        decide_step_down(deps, step_down_percent=50)
    with session_scope(deps.engine) as session:
        assert len(list(session.exec(select(FundingAdjustment)))) == 1


def test_an_appeal_restores_what_the_step_down_withheld_by_adjustment(deps: Deps, clock: Clock) -> None:
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    decide_step_down(deps)
    clock.now = JUNE_1.replace(month=8)
    run_payments(deps, Period(2027, 6))
    run_payments(deps, Period(2027, 7))
    partner = deps.contract.partner(WEAK)
    assert partner is not None
    withheld = {m: apply_rate(core_instalment(partner.annual_core_pence, m), Decimal("0.25")) for m in (3, 4)}

    result = board_decisions.decide(
        deps, year=1, partner_id=WEAK, kind="reverse", decided_by="Board", reason="Appeal upheld: data backlog proven"
    )

    assert result.rerun_periods == ["2027-06", "2027-07"]
    for period, month in (("2027-06", 3), ("2027-07", 4)):
        with session_scope(deps.engine) as session:
            run = repo.latest_run(session, period=period)
            assert run is not None and run.id is not None and run.version == 2
            # A correcting version restates the period and takes off what was paid: its net is the change.
            net = sum(line.amount_pence for line in repo.lines_of(session, run_id=run.id) if line.partner_id == WEAK)
            others = sum(line.amount_pence for line in repo.lines_of(session, run_id=run.id) if line.partner_id != WEAK)
        assert net == withheld[month]
        assert others == 0
    run_payments(deps, Period(2027, 8))
    assert core_line(deps, "2027-08", WEAK) == core_instalment(partner.annual_core_pence, 5)
    with pytest.raises(UsageError, match="no step-down or withdrawal in force"):
        board_decisions.decide(deps, year=1, partner_id=WEAK, kind="reverse", decided_by="Board", reason="again")


def test_a_timeout_tells_the_chair_once_and_changes_no_funding(deps: Deps, clock: Clock) -> None:
    review.start_review(deps, year=1)
    clock.now = REVIEW_AT + timedelta(days=60)

    assert board_decisions.record_timeout(deps, year=1, partner_id=WEAK)
    assert board_decisions.record_timeout(deps, year=1, partner_id=WEAK)

    timeouts = [m for m in outbox(deps) if m.kind == "review_timeout"]
    assert len(timeouts) == 1
    assert timeouts[0].channel == "#alliance-board" and timeouts[0].text.startswith("<@U0CHAIR>")
    with session_scope(deps.engine) as session:
        assert reviews.active_adjustments(session) == []
    run_payments(deps, Period(2027, 6))
    partner = deps.contract.partner(WEAK)
    assert partner is not None
    assert core_line(deps, "2027-06", WEAK) == core_instalment(partner.annual_core_pence, 3)


def test_no_timeout_is_recorded_once_the_board_has_decided(deps: Deps, clock: Clock) -> None:
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    decide_step_down(deps, kind="improvement_plan", step_down_percent=None, effective=None)

    assert not board_decisions.record_timeout(deps, year=1, partner_id=WEAK)
    assert [m for m in outbox(deps) if m.kind == "review_timeout"] == []


def test_the_table_is_a_preview_until_the_review_is_stored(deps: Deps) -> None:
    stored, preview = review.review_table(deps, year=1)
    assert not stored
    review.start_review(deps, year=1)
    stored, rows = review.review_table(deps, year=1)
    assert stored
    assert rows == preview
    weak = next(r for r in rows if r["partner"] == WEAK)
    assert weak["flagged"] and not weak["watch"] and weak["ratio"] < weak["lower_limit"]


def test_review_and_decision_hold_on_each_database(engine: Engine, tmp_path: Path) -> None:
    clock = Clock(REVIEW_AT)
    deps = review_deps(tmp_path / "ws", clock, engine=engine)
    seed_year(deps, quality={WEAK: 0.6})

    started = review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    decide_step_down(deps)

    assert [c.partner_id for c in started.flagged] == [WEAK]
    with session_scope(engine) as session:
        assert [(a.partner_id, a.percent, a.from_period) for a in reviews.active_adjustments(session)] == [
            (WEAK, 25, "2027-06")
        ]


def test_a_reversal_interrupted_before_its_rerun_is_finished_by_giving_it_again(
    deps: Deps, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    decide_step_down(deps)
    clock.now = JUNE_1
    run_payments(deps, Period(2027, 6))
    appeal = {"year": 1, "partner_id": WEAK, "kind": "reverse", "decided_by": "Board", "reason": "Appeal upheld"}

    def crash(_deps: Deps, _from: str) -> list[str]:
        raise OSError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(board_decisions, "_rerun_payments", crash)
        with pytest.raises(OSError):
            board_decisions.decide(deps, **appeal)  # type: ignore[arg-type]

    again = board_decisions.decide(deps, **appeal)  # type: ignore[arg-type]

    assert not again.created and again.rerun_periods == ["2027-06"]
    assert board_decisions.decide(deps, **appeal).rerun_periods == []  # type: ignore[arg-type]
    with session_scope(deps.engine) as session:
        assert reviews.active_adjustments(session) == []
        run = repo.latest_run(session, period="2027-06")
        assert run is not None and run.version == 2


def test_decisions_racing_record_one_and_the_others_are_told_plainly(engine: Engine, tmp_path: Path) -> None:
    """Two board members (or the Prefect form and the CLI) deciding at once: one decision, one adjustment, and
    the others get "already recorded" or a refusal, not a database error (which would crash a paused flow)."""
    import threading

    clock = Clock(REVIEW_AT)
    deps = review_deps(tmp_path / "ws", clock, engine=engine)
    seed_year(deps, quality={WEAK: 0.6})
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def decide(percent: int) -> None:
        barrier.wait()
        try:
            outcomes.append(decide_step_down(deps, step_down_percent=percent))
        except Exception as exc:  # noqa: BLE001 - examined below
            outcomes.append(exc)

    threads = [threading.Thread(target=decide, args=(p,)) for p in (25, 25, 25, 50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert [type(o).__name__ for o in outcomes if not isinstance(o, board_decisions.DecisionResult | UsageError)] == []
    assert sum(1 for o in outcomes if isinstance(o, board_decisions.DecisionResult) and o.created) == 1
    with session_scope(engine) as session:
        assert len(list(session.exec(select(FundingAdjustment)))) == 1
        assert verify_chain(session).ok


def test_a_later_years_step_down_from_the_same_month_is_the_one_in_force(tmp_path: Path, clock: Clock) -> None:
    """Year 1's board stepped down 10% from 2028-07; year 2's board 50% from 2028-07: the later decision governs."""
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6})
    seed_year(deps, quality={WEAK: 0.6}, year_start=Period(2027, 4), seed=8)
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    decide_step_down(deps, step_down_percent=10, effective="2028-07")
    clock.now = REVIEW_AT.replace(year=2028)
    assert [c.partner_id for c in review.start_review(deps, year=2).flagged] == [WEAK]
    clock.now = AFTER_REPLY.replace(year=2028)
    decide_step_down(deps, year=2, step_down_percent=50, effective="2028-07")

    clock.now = JUNE_1.replace(year=2028, month=7)
    run_payments(deps, Period(2028, 7))

    partner = deps.contract.partner(WEAK)
    assert partner is not None
    instalment = core_instalment(partner.annual_core_pence, 4)
    assert core_line(deps, "2028-07", WEAK) == instalment - apply_rate(instalment, Decimal("0.5"))


def test_a_partners_reply_cannot_write_the_boards_form(deps: Deps, clock: Clock) -> None:
    """The reply is quoted in the Prefect form's markdown as text: no headings, links, images or emphasis of its own."""
    review.start_review(deps, year=1)
    sneaky = (
        "We disagree.\n\n### Board decision: no_action recommended by the alliance office\n"
        "![x](http://tracker.example/p.png) [evidence](http://evil.example) **urgent** <img src=x>"
    )
    review.reply(deps, year=1, partner_id=WEAK, by="CEO\n# Chair", text=sneaky)

    [case] = board_decisions.board_cases(deps, year=1)

    reply_lines = [line for line in case.brief.splitlines() if "We disagree." in line]
    assert len(reply_lines) == 1
    assert not any(line.startswith("#") for line in case.brief.splitlines()[1:])
    for made in ("![x](", "[evidence](", "**urgent**"):
        assert made not in case.brief
    assert "\\<img" in case.brief and case.brief.count("<img") == 1  # shown, escaped, not an HTML tag


def test_a_reply_file_with_a_long_odd_name_is_archived(deps: Deps, tmp_path: Path) -> None:
    review.start_review(deps, year=1)
    letter = tmp_path / ("Réponse au conseil – " + "x" * 215 + " (final).pdf")
    letter.write_bytes(b"%PDF-1.4 our reply")

    saved = review.reply(deps, year=1, partner_id=WEAK, by="CEO", file=letter)

    assert saved.filename == letter.name and saved.stored_path is not None
    stored = deps.workspace.root / saved.stored_path
    assert stored.read_bytes() == letter.read_bytes() and stored.suffix == ".pdf"


def test_with_a_quorum_a_step_down_takes_effect_once_enough_different_members_confirm_it(
    tmp_path: Path, clock: Clock
) -> None:
    from dataclasses import replace

    deps = review_deps(tmp_path / "ws", clock)
    deps = replace(
        deps,
        contract=deps.contract.model_copy(
            update={"review": deps.contract.review.model_copy(update={"decision_quorum": 2})}
        ),
    )
    assert deps.contract.review.decision_quorum == 2
    seed_year(deps, quality={WEAK: 0.6})
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY

    first = decide_step_down(deps, decided_by="Ann Chair")
    again = decide_step_down(deps, decided_by="ann chair")  # the same member again: counted once
    other = decide_step_down(deps, decided_by="Bo Member", step_down_percent=50)  # a different decision
    assert first.record is None and again.record is None and other.record is None
    assert first.confirmations is not None and first.confirmations.members == ["Ann Chair"]
    assert again.confirmations is not None and again.confirmations.members == ["Ann Chair"]
    with session_scope(deps.engine) as session:
        assert list(session.exec(select(FundingAdjustment))) == []

    confirmed = decide_step_down(deps, decided_by="Bo Member", reason="Agreed.")

    assert confirmed.created and confirmed.record is not None
    assert confirmed.record.decided_by == "Ann Chair and Bo Member" and confirmed.record.step_down_percent == 25
    with session_scope(deps.engine) as session:
        assert len(list(session.exec(select(FundingAdjustment)))) == 1
        actions = [e.action for e in session.exec(select(AuditEntry))]
    assert actions.count("review.board_confirmation") == 3 and actions.count("review.board_decision") == 1
    with pytest.raises(UsageError, match="one of 10, 25, 50, 100"):
        decide_step_down(deps, decided_by="Cy Member", step_down_percent=33)  # refused before it is counted


def test_a_quorum_counts_a_person_once_whether_they_confirm_in_the_portal_or_on_the_command_line(
    tmp_path: Path, clock: Clock
) -> None:
    from dataclasses import replace

    from domain.access import Role, for_account

    deps = review_deps(tmp_path / "ws", clock)
    terms = deps.contract.review.model_copy(update={"decision_quorum": 2})
    deps = replace(deps, contract=deps.contract.model_copy(update={"review": terms}))
    seed_year(deps, quality={WEAK: 0.6})
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    account = for_account(
        account_id=7, who="Ann Chair (ann@board.org)", role=Role.board, partner_id=None, name="Ann Chair"
    )

    in_portal = decide_step_down(deps, decided_by=account)
    on_the_command_line = decide_step_down(deps, decided_by="ann  CHAIR")

    assert in_portal.record is None and on_the_command_line.record is None
    assert on_the_command_line.confirmations is not None and len(on_the_command_line.confirmations.members) == 1


def test_an_account_whose_person_acts_for_the_partner_cannot_decide_its_case(tmp_path: Path, clock: Clock) -> None:
    from dataclasses import replace

    from domain.access import Role, for_account
    from domain.contract import Roles
    from domain.errors import AccessDenied

    deps = review_deps(tmp_path / "ws", clock)
    roles = Roles(officers=["Olive Officer"], board=["Sam Chair"], partners={WEAK: ["Sam Chair"]})
    deps = replace(deps, contract=deps.contract.model_copy(update={"roles": roles}))
    seed_year(deps, quality={WEAK: 0.6})
    review.start_review(deps, year=1)
    clock.now = AFTER_REPLY
    account = for_account(
        account_id=3, who="Sam Chair (sam@board.org)", role=Role.board, partner_id=None, name="Sam Chair"
    )

    with pytest.raises(AccessDenied, match=f"acts for {WEAK}"):
        decide_step_down(deps, decided_by=account)
