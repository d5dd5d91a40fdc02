import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from domain.errors import UsageError
from domain.periods import Period
from flows.monthly_cycle import monthly_cycle
from integrations.workspace import Workspace
from models import ledger, repo
from models.db import session_scope
from models.tables import Submission
from services.demo import run_demo
from services.deps import Deps, production_deps
from services.payment_reports import payment_report
from services.payments import is_provisional
from tests.conftest import REPO, require_or_skip
from tests.helpers import clean_rows, return_bytes

CYCLE_AT = datetime(2026, 11, 16, 9, tzinfo=UTC)


def deps_for(workspace: Workspace) -> Deps:
    return production_deps(workspace, clock=lambda: CYCLE_AT)


def test_an_empty_inbox_still_pays_core_and_reports_everyone_missing(workspace: Workspace) -> None:
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert [(row["status"], row["timeliness"], row["due"]) for row in report.status] == [
        ("missing", "late", "14/11/2026")
    ] * 3
    assert report.runs[0].run.payable_pence == 0
    with session_scope(deps_for(workspace).engine) as session:
        shown = payment_report(session, contract=workspace.load_contract(), period=Period(2026, 10))
    assert all(p["core_pence"] > 0 and p["outcome_pence"] == 0 for p in shown["partners"])


def test_a_non_excel_file_is_refused_and_officers_are_told(workspace: Workspace) -> None:
    workspace.inbox.mkdir()
    (workspace.inbox / "return.xlsx").write_text("id,date\n1,2\n")
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert [(o.status, [f.code for f in o.findings]) for o in report.outcomes] == [("quarantined", ["FILE_TEXT"])]
    with session_scope(deps_for(workspace).engine) as session:
        kinds = [(n.kind, n.channel) for n in repo.notifications(session)]
    assert ("quarantined_file", "#alliance-officers") in kinds


def test_running_the_cycle_twice_changes_nothing(workspace: Workspace) -> None:
    for partner in ("harbour-trust", "city-mind"):  # returns come from the partner's own folder
        (workspace.inbox / partner).mkdir(parents=True)
    (workspace.inbox / "harbour-trust" / "harbour.xlsx").write_bytes(return_bytes(workspace.load_contract()))
    first = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    second = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert [o.status for o in first.outcomes] == ["accepted"]
    assert second.outcomes == []
    assert second.runs[0].run.id == first.runs[0].run.id and not second.runs[0].created
    with session_scope(deps_for(workspace).engine) as session:
        keys = [n.dedup_key for n in repo.notifications(session)]
    assert len(keys) == len(set(keys))
    assert sum(k.startswith("return-processed") for k in keys) == 1


@pytest.mark.parametrize("achieved", ["Yes", "No"], ids=["outcomes", "no-outcome-expected"])
def test_a_month_with_one_return_before_the_due_date_finishes_the_cycle(workspace: Workspace, achieved: str) -> None:
    """Issue 30: a cycle run when only one partner has returned (and, the second time, with no outcome achieved,
    so every partner's expected count is zero) pays, monitors, reports and leaves a review preview to show."""
    from services.review import review_table

    rows = [{**row, "housing_sustained": achieved, "wellbeing_up": achieved} for row in clean_rows()]
    for partner in ("harbour-trust", "city-mind"):  # returns come from the partner's own folder
        (workspace.inbox / partner).mkdir(parents=True)
    (workspace.inbox / "harbour-trust" / "harbour.xlsx").write_bytes(return_bytes(workspace.load_contract(), rows=rows))
    deps = production_deps(workspace, clock=lambda: datetime(2026, 11, 10, 9, tzinfo=UTC))
    report = monthly_cycle(period="2026-10", deps=deps)
    assert [(o.partner_id, o.status) for o in report.outcomes] == [("harbour-trust", "accepted")]
    assert [r.run.period for r in report.runs] == ["2026-10"]
    assert len(report.published) == 6  # the month's and the year's page for each audience
    assert all(Path(page).is_file() for page in report.published)
    stored, preview = review_table(deps, year=1)
    assert not stored
    assert sorted(r["partner"] for r in preview) == ["city-mind", "harbour-trust", "northfield-works"]
    assert all(r["reason"] for r in preview)


def regex_search(pattern: str, text: str) -> str:
    import re

    found = re.search(pattern, text)
    assert found, text
    return found.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo of four months, run once for the tests that read it."""
    lines: list[str] = []

    def run_cycle(period: Period, deps: Deps) -> object:
        return monthly_cycle(period=str(period), deps=deps)

    root = tmp_path_factory.mktemp("demo-run")
    run_demo(root / "demo", partners=6, months=4, seed=7, echo=lines.append, run_cycle=run_cycle, slack="local")
    return root, lines


def test_the_demos_year_report_publishes_every_alliance_wide_count(demo: tuple[Path, list[str]]) -> None:
    """Issue 28: each outcome each month and year to date, and every 'All partners' row, is a number (none
    withheld) for every audience; the protection of small counts is in the partners' cells."""
    root, _ = demo
    for audience in ("public", "alliance", "officers"):
        page = json.loads((root / "demo" / "out" / "report" / audience / "year-1" / "figures.json").read_text())
        figures = {f["id"]: f for f in page["figures"]}
        outcomes = figures["alliance_outcomes"]["rows"]
        assert len(outcomes) == 3 * (4 + 1)  # three outcomes, four months and the year to date
        cells = [r["achieved"] for r in outcomes]
        for figure in (figures["partner_volumes"], figures["partner_outcomes"]):
            counted = [c["key"] for c in figure["columns"] if c["kind"] == "count"]
            cells += [r[k] for r in figure["rows"] if r["partner"] == "All partners" for k in counted]
        assert [c for c in cells if not isinstance(c, int)] == [], audience
        assert all(isinstance(r["of_target"], float) for r in outcomes)


def test_the_demo_pays_exactly(demo: tuple[Path, list[str]]) -> None:
    tmp_path, lines = demo
    workspace = Workspace(root=tmp_path / "demo", database_url=f"sqlite:///{tmp_path / 'demo' / 'alliance.db'}")
    contract = workspace.load_contract()
    engine = production_deps(workspace).engine
    with session_scope(engine) as session:
        for month in range(4):
            period = Period(2026, 4).plus(month)
            runs = repo.runs_of(session, period=str(period))
            assert runs, period
            for run in runs:
                outcome = sum(
                    line.amount_pence for line in repo.lines_of(session, run_id=run.id or 0) if line.kind == "outcome"
                )
                assert outcome == run.payable_pence
        statuses = {s.status for s in repo.submissions_for_period(session, period="2026-04")}
        assert {"accepted", "rejected"} <= statuses  # the return with mistakes, then its correction
        late = repo.runs_of(session, period="2026-05")
        # The late return was paid as a correction (and May's first draft was made again once April's correction,
        # approved after it was computed, changed what Harbour Trust owes).
        assert len(late) >= 2 and late[-1].base_version is not None
        april = repo.runs_of(session, period="2026-04")
        assert is_provisional(april[0]) and april[0].payable_pence == 0  # the early cycle: core only
        assert not is_provisional(april[-1]) and april[-1].payable_pence > 0
        states = [s for m in range(4) for s in ledger.run_states(session, period=str(Period(2026, 4).plus(m)))]
        assert {s.status for s in states} <= {"approved", "superseded"}  # the demo's officer approved each run
        assert any(s.status == "approved" for s in states)
    assert (workspace.feedback_dir / "2026-04").is_dir()
    assert any(workspace.statements_dir.rglob("*.xlsx"))
    assert any("Payments due" in line for line in lines)
    assert len(contract.partners) == 6
    with session_scope(engine) as session:
        assert {n.status for n in repo.notifications(session)} == {"sent"}  # through the local Slack server
    shown = lines.index(next(line for line in lines if line.startswith("What each Slack channel received")))
    channels = [line.split(":")[0].strip() for line in lines[shown + 1 :] if line.startswith("  #")]
    assert sorted(channels) == sorted([p.slack_channel for p in contract.partners] + ["#alliance-officers"])
    # Each partner's channel: its feedback workbooks and statements (the early month's two statements: core, then
    # the outcomes; a correction's only where the partner's payment changed by £1 or more).
    shared = [line for line in lines[shown + 1 :] if line.startswith("  #") and "officers" not in line]
    assert all(int(regex_search(r"(\d+) file\(s\)", line)) >= 5 for line in shared), shared
    # `alliance status` agrees with `payments show` on every cell of the demo's months: the version accepted is the
    # version paid, and the grid is the same data.
    from typer.testing import CliRunner

    from cli.app import app

    runner = CliRunner()
    shown = runner.invoke(app, ["status", "--year", "1", "--json", "-w", str(tmp_path / "demo")])
    assert shown.exit_code == 0, shown.output
    grid = json.loads(shown.output)
    compared = 0
    for month in range(4):
        period = str(Period(2026, 4).plus(month))
        paid = runner.invoke(app, ["payments", "show", "--period", period, "--json", "-w", str(tmp_path / "demo")])
        assert paid.exit_code == 0, paid.output
        versions = {p["partner"]: p["return_version"] for p in json.loads(paid.output)["partners"]}
        for row in grid["partners"]:
            cell = next(c for c in row["months"] if c["period"] == period)
            assert cell["accepted_version"] == versions[row["partner"]], (row["partner"], period)
            assert (cell["standing"] in ("accepted", "locked")) == (cell["accepted_version"] is not None)
            compared += 1
    assert compared == 24
    # ... and with the officers' returns grid, on every cell of the demo's contract year.
    import re as regex

    from starlette.testclient import TestClient

    from web.app import create_app

    password = next(m.group(1) for line in lines if (m := regex.search(r"the password '([^']+)'", line)))
    with TestClient(create_app(deps=production_deps(workspace)), base_url="http://127.0.0.1:8000") as client:
        page = client.get("/account/sign-in").text
        token = regex.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        signed = client.post(
            "/account/sign-in",
            data={
                "csrf_token": token.group(1),
                "email": "officer@demo.alliance.test",
                "password": password,
                "next": "/",
            },
        )
        assert signed.status_code == 200, signed.text[-500:]
        grid_page = client.get("/office/returns?year=1").text
    shown = dict(
        ((partner, period), standing)
        for partner, period, standing in regex.findall(
            r'data-partner="([^"]+)" data-period="([^"]+)" data-standing="([^"]+)"', grid_page
        )
    )
    said = {(row["partner"], c["period"]): c["standing"] for row in grid["partners"] for c in row["months"]}
    assert len(said) == 6 * 12 and shown == said
    # The portal can be tried at once: one account per role, signed in with the password the demo printed.
    import re

    from services.accounts import sign_in

    assert any(f"alliance web --workspace {tmp_path / 'demo'}" in line for line in lines)
    password = next(m.group(1) for line in lines if (m := re.search(r"the password '([^']+)'", line)))
    roles = {line.split()[0] for line in lines if line.startswith("  ") and "@demo.alliance.test" in line}
    assert roles == {"officer", "board", "partner"}
    _, signed_in = sign_in(production_deps(workspace), email="harbour-trust@demo.alliance.test", password=password)
    assert signed_in.principal.partner_ids == {"harbour-trust"}
    _the_demo_money_story(workspace, engine)


def _the_demo_money_story(workspace: Workspace, engine: Any) -> None:
    """Issue 27 in the demo: an overpayment recovered over two months within the quarter, a penny moved by a
    correction carried silently (no statement) into a later one, and the statements read as a finance officer sees
    them: rendered by LibreOffice, to PNG in test-artifacts/statements/, their text read back for the net lines."""
    with session_scope(engine) as session:
        settling = [
            (state.run, line)
            for m in range(4)
            for state in ledger.run_states(session, period=str(Period(2026, 4).plus(m)))
            if state.payable
            for line in repo.lines_of(session, run_id=state.run.id or 0)
            if line.kind in ("carried", "recovery", "brought_forward")
        ]
        runs = {run.id: repo.lines_of(session, run_id=run.id or 0) for run, _ in settling}
    overpaid = {
        line.amount_pence for run, line in settling if line.partner_id == "harbour-trust" and line.kind == "carried"
    }
    recoveries = [
        (run, line) for run, line in settling if line.partner_id == "harbour-trust" and line.kind == "recovery"
    ]
    assert len(overpaid) == 1 and len({run.period for run, _ in recoveries}) >= 2  # spread over two months
    assert -sum(line.amount_pence for _, line in recoveries) == overpaid.pop()  # to the penny
    for run, line in recoveries:
        payment = sum(x.amount_pence for x in runs[run.id] if x.partner_id == "harbour-trust" and x.kind != "recovery")
        assert -line.amount_pence <= payment // 4
    silent = [(run, line) for run, line in settling if line.kind == "carried" and abs(line.amount_pence) < 100]
    assert silent, "no correction moved a partner by less than £1"
    for run, line in silent:
        folder = workspace.statements_dir / run.period / f"v{run.version}"
        assert not (folder / f"{line.partner_id}-{run.period}-v{run.version}.xlsx").exists()  # no statement for it
        brought = [x for r, x in settling if x.partner_id == line.partner_id and x.kind == "brought_forward"]
        assert sum(x.amount_pence for x in brought) == -line.amount_pence  # carried into a later statement

    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None or shutil.which("pdftoppm") is None:
        require_or_skip("rendering statements needs soffice and poppler-utils (apt-get install -y poppler-utils)")
    assert soffice is not None and pdftotext is not None
    artifacts = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "statements"
    artifacts.mkdir(parents=True, exist_ok=True)
    for run, line in recoveries:
        book = (
            workspace.statements_dir
            / run.period
            / f"v{run.version}"
            / f"harbour-trust-{run.period}-v{run.version}.xlsx"
        )
        text = _rendered(soffice, book, artifacts)
        payable = sum(x.amount_pence for x in runs[run.id] if x.partner_id == "harbour-trust")
        assert "Recovery of an earlier overpayment" in text and "remains to be recovered" in text  # the why
        assert f"-£{-line.amount_pence / 100:,.2f}" in text  # the recovery line, in pounds to the penny
        assert regex_search(r"payable by this statement\s+(£[\d,]+\.\d\d)", text) == f"£{payable / 100:,.2f}"
        assert "###" not in text  # every amount fits its column


def _rendered(soffice: str, book: Path, artifacts: Path) -> str:
    """The workbook as LibreOffice prints it: PDF, its first page as PNG in ``artifacts``, and the PDF's text."""
    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "profile"
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                scratch,
                str(book),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pdf = Path(scratch) / f"{book.stem}.pdf"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(artifacts / book.stem)],
            check=True,
            timeout=60,
        )
        assert (artifacts / f"{book.stem}.png").stat().st_size > 0
        return subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
        ).stdout


def test_the_cycle_ends_by_delivering_its_messages_to_slack(workspace: Workspace) -> None:
    from integrations.slack.fake_server import TOKEN, running
    from integrations.slack.notifier import SlackNotifier

    contract = workspace.load_contract()
    for partner in ("harbour-trust", "city-mind"):  # returns come from the partner's own folder
        (workspace.inbox / partner).mkdir(parents=True)
    (workspace.inbox / "harbour-trust" / "harbour.xlsx").write_bytes(return_bytes(contract))
    channels = [p.slack_channel for p in contract.partners] + [contract.alliance.officers_channel]
    with running(channels) as slack:
        deps = replace(deps_for(workspace), notifier=SlackNotifier(token=TOKEN, base_url=slack.url))
        report = monthly_cycle(period="2026-10", deps=deps)
        shares = slack.shares()
        received = {
            channel: [m.text.splitlines()[0] for m in messages if not m.files]
            for channel, messages in slack.received().items()
        }
    assert report.delivery is not None and report.delivery.pending == 0 and not report.delivery.failed
    assert received["#harbour-trust"][0].startswith("*Harbour Trust*: your return for *2026-10*")
    assert received["#alliance-officers"][-1].startswith("Monthly cycle for *2026-10*")
    assert all(
        any(m.startswith(f"*{p.name}*: payment statement") for m in received[p.slack_channel])
        for p in contract.partners
    )
    statements = sorted(channel for channel, file in shares if "feedback" not in file.name)
    assert statements == sorted(p.slack_channel for p in contract.partners)
    # Harbour Trust's message carries its feedback workbook, to its own channel only.
    assert [(c, f.name) for c, f in shares if "feedback" in f.name] == [
        ("#harbour-trust", "harbour-trust-2026-10-v1-feedback.xlsx")
    ]


def test_a_participant_claimed_by_two_partners_is_found_in_the_cycle(workspace: Workspace) -> None:
    contract = workspace.load_contract()
    for partner in ("harbour-trust", "city-mind"):  # returns come from the partner's own folder
        (workspace.inbox / partner).mkdir(parents=True)
    (workspace.inbox / "harbour-trust" / "harbour.xlsx").write_bytes(return_bytes(contract))
    (workspace.inbox / "city-mind" / "city.xlsx").write_bytes(
        return_bytes(contract, "city-mind")
    )  # the same ids P000..P003
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert sorted(o.status for o in report.outcomes) == ["accepted", "accepted"]
    assert report.duplicate_claims == {"2026-10": {f"P00{n}": ["city-mind", "harbour-trust"] for n in range(4)}}
    second = next(o for o in report.outcomes if o.version == 1 and "DUPLICATE_CLAIM" in {f.code for f in o.findings})
    with session_scope(deps_for(workspace).engine) as session:
        kinds = {(n.kind, n.channel) for n in repo.notifications(session)}
        first = next(o for o in report.outcomes if o is not second)
        told = repo.findings_of(session, submission_id=first.submission_id or 0)
    assert ("duplicate_claims", "#alliance-officers") in kinds
    assert len([f for f in told if f.code == "DUPLICATE_CLAIM"]) == 4


def test_a_scheduled_cycle_runs_the_latest_period_due(workspace: Workspace) -> None:
    report = monthly_cycle(deps=deps_for(workspace))  # no period: 16 November runs October
    assert report.period == "2026-10" and report.runs[0].run.period == "2026-10"


def test_a_scheduled_cycle_before_the_first_period_is_due_does_nothing(workspace: Workspace) -> None:
    # The contract starts 2026-04, whose returns are due 14 May: on 16 April the latest period due is March.
    before = production_deps(workspace, clock=lambda: datetime(2026, 4, 16, 8, tzinfo=UTC))
    report = monthly_cycle(deps=before)
    assert report.period == "" and report.runs == [] and report.outcomes == []
    with session_scope(before.engine) as session:
        assert repo.periods_with_runs(session) == []


def test_partners_processed_side_by_side_keep_each_partners_versions_in_arrival_order(workspace: Workspace) -> None:
    contract = workspace.load_contract()
    partners = ["harbour-trust", "city-mind", "northfield-works"]
    arrived = datetime(2026, 11, 3, 10, tzinfo=UTC).timestamp()
    expected: dict[str, list[str]] = {}
    for n in range(3):  # three versions each, interleaved across partners, a minute apart
        for k, partner in enumerate(partners):
            folder = workspace.inbox / partner
            folder.mkdir(parents=True, exist_ok=True)
            rows = [{**row, "participant_id": f"{partner[:4]}-{i}"} for i, row in enumerate(clean_rows(count=4 + n))]
            path = folder / f"{partner}-v{n + 1}.xlsx"
            path.write_bytes(return_bytes(contract, partner, rows=rows))
            stamp = arrived + 60 * (3 * n + k)
            os.utime(path, (stamp, stamp))
            expected.setdefault(partner, []).append(path.name)
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert [o.status for o in report.outcomes] == ["accepted"] * 9
    assert [o.filename for o in report.outcomes] == [f"{p}-v{n}.xlsx" for n in (1, 2, 3) for p in partners]
    with session_scope(deps_for(workspace).engine) as session:
        for partner in partners:
            filed = sorted(
                (s for s in repo.submissions_for_period(session, period="2026-10") if s.partner_id == partner),
                key=lambda s: s.version or 0,
            )
            assert [s.filename for s in filed] == expected[partner]
            assert [s.version for s in filed] == [1, 2, 3]
            assert [s.status for s in filed] == ["superseded", "superseded", "accepted"]
            assert filed[-1].row_count == 6


def test_partners_first_files_are_checked_together_in_waves_and_filed_as_alone(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: each wave of partners' first files is one Great Expectations validation; a partner's second file is
    checked in its turn, after its first is filed (waves of two here: three partners make two waves)."""
    import flows.intake as cycle
    from expectations import quality

    contract = workspace.load_contract()
    partners = ["city-mind", "harbour-trust", "northfield-works"]
    arrived = datetime(2026, 11, 3, 10, tzinfo=UTC).timestamp()
    for k, name in enumerate([f"{p}/{p}.xlsx" for p in partners] + ["city-mind/city-mind-v2.xlsx"]):
        partner = name.split("/")[0]
        rows = [{**row, "participant_id": f"{partner[:4]}-{i}"} for i, row in enumerate(clean_rows(count=3 + k))]
        (workspace.inbox / partner).mkdir(parents=True, exist_ok=True)
        (workspace.inbox / name).write_bytes(return_bytes(contract, partner, rows=rows))
        os.utime(workspace.inbox / name, (arrived + 60 * k, arrived + 60 * k))
    monkeypatch.setattr(cycle, "CHECKED_TOGETHER", 2)
    batches: list[int] = []
    validate_together = quality.validate_together
    monkeypatch.setattr(
        quality,
        "validate_together",
        lambda t, frames, p: batches.append(len(frames)) or validate_together(t, frames, p),
    )
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert sorted(batches) == [1, 1, 2]  # city and harbour together; northfield; city's second version in its turn
    assert [(o.filename, o.status, o.version, o.findings) for o in report.outcomes] == [
        ("city-mind.xlsx", "accepted", 1, []),
        ("harbour-trust.xlsx", "accepted", 1, []),
        ("northfield-works.xlsx", "accepted", 1, []),
        ("city-mind-v2.xlsx", "accepted", 2, []),
    ]
    with session_scope(deps_for(workspace).engine) as session:
        filed = {(s.partner_id, s.version): s.row_count for s in repo.submissions_for_period(session, period="2026-10")}
    assert filed == {("city-mind", 1): 3, ("harbour-trust", 1): 4, ("northfield-works", 1): 5, ("city-mind", 2): 6}


def test_a_wave_that_cannot_be_checked_together_is_checked_file_by_file(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.intake as cycle

    contract = workspace.load_contract()
    for partner in ["city-mind", "harbour-trust", "northfield-works"]:
        (workspace.inbox / partner).mkdir(parents=True)
        rows = [{**row, "participant_id": f"{partner[:4]}-{i}"} for i, row in enumerate(clean_rows())]
        (workspace.inbox / partner / f"{partner}.xlsx").write_bytes(return_bytes(contract, partner, rows=rows))

    def broken(deps: Deps, files: Any) -> Any:
        raise RuntimeError("the batch went wrong")

    monkeypatch.setattr(cycle, "check_ahead", broken)
    report = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert sorted((o.filename, o.status) for o in report.outcomes) == [
        ("city-mind.xlsx", "accepted"),
        ("harbour-trust.xlsx", "accepted"),
        ("northfield-works.xlsx", "accepted"),
    ]


def test_a_file_that_fails_fails_the_cycle_once_every_other_partner_is_processed(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.intake as cycle

    contract = workspace.load_contract()
    partners = ["city-mind", "harbour-trust", "northfield-works"]
    for partner in partners:
        (workspace.inbox / partner).mkdir(parents=True)
        rows = [{**row, "participant_id": f"{partner[:4]}-{i}"} for i, row in enumerate(clean_rows())]
        (workspace.inbox / partner / f"{partner}.xlsx").write_bytes(return_bytes(contract, partner, rows=rows))
    processed = cycle.process_file

    def fails_for_harbour(deps: Deps, file: Any, **options: Any) -> Any:
        if file.sender == "harbour-trust":
            raise RuntimeError("the disk went away")
        return processed(deps, file, **options)  # its checks run with the others' (check_ahead)

    monkeypatch.setattr(cycle, "process_file", fails_for_harbour)
    with pytest.raises(RuntimeError, match="the disk went away"):
        monthly_cycle(period="2026-10", deps=deps_for(workspace))
    with session_scope(deps_for(workspace).engine) as session:
        filed = {s.partner_id: s.status for s in repo.submissions_for_period(session, period="2026-10")}
        runs = repo.periods_with_runs(session)
    assert filed == {"city-mind": "accepted", "northfield-works": "accepted"}
    assert runs == []  # nothing paid on a cycle that failed


def test_the_cycle_draws_spot_checks_publishes_the_report_and_recovers_a_withdrawn_claim_next_month(
    workspace: Workspace,
) -> None:
    from services.spot_checks import record_check

    for partner in ("harbour-trust", "city-mind"):  # returns come from the partner's own folder
        (workspace.inbox / partner).mkdir(parents=True)
    contract = workspace.load_contract()
    (workspace.inbox / "harbour-trust" / "harbour.xlsx").write_bytes(return_bytes(contract, "harbour-trust"))
    (workspace.inbox / "city-mind" / "city.xlsx").write_bytes(return_bytes(contract, "city-mind"))
    october = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert sorted(d.partner_id for d in october.spot_checks) == ["city-mind", "harbour-trust"]
    for audience in ("public", "alliance", "officers"):
        assert (workspace.out / "report" / audience / "2026-10" / "index.html").is_file()
        assert (workspace.out / "report" / audience / "year-1" / "index.html").is_file()
    assert len(october.published) == 6
    with session_scope(deps_for(workspace).engine) as session:
        summary = next(n for n in repo.notifications(session) if n.kind == "cycle_summary")
    assert "Gaming monitors: nothing unusual" in summary.text

    drawn = next(d for d in october.spot_checks if d.partner_id == "harbour-trust").sample[0]
    november = replace(deps_for(workspace), clock=lambda: datetime(2026, 12, 16, 9, tzinfo=UTC))
    record_check(
        november,
        period=Period(2026, 10),
        partner_id="harbour-trust",
        participant_id=drawn.participant_id,
        measure=drawn.measure,
        result="not_verified",
        by="Olive Officer",
        reason="no evidence",
    )
    report = monthly_cycle(period="2026-11", deps=november)
    assert [(str(r.run.period), r.run.version, r.created) for r in report.runs] == [
        ("2026-10", 2, True),
        ("2026-11", 1, True),
    ]
    with session_scope(november.engine) as session:
        lines = repo.lines_of(session, run_id=report.runs[0].run.id or 0)
        following = repo.lines_of(session, run_id=report.runs[1].run.id or 0)
    own = [x for x in lines if x.partner_id == "harbour-trust"]
    taken_back = -sum(x.amount_pence for x in own if x.kind not in ("carried", "recovery", "brought_forward"))
    assert taken_back > 0 and sum(x.amount_pence for x in own) == 0  # held back, never a negative payment
    mine = [x for x in following if x.partner_id == "harbour-trust"]
    payment = sum(x.amount_pence for x in mine if x.kind != "recovery")
    recovered = [x for x in mine if x.kind == "recovery"]
    # From November's payment, within the quarter of it that a recovery may take; the rest from later months.
    assert [x.amount_pence for x in recovered] == [-min(taken_back, payment // 4)]
    assert f"£{(taken_back - payment // 4) / 100:,.2f} remains" in recovered[0].explanation
    again = monthly_cycle(period="2026-11", deps=november)
    assert [r.created for r in again.runs] == [False]  # recovered once: October is not paid again


def test_a_cycle_for_a_month_still_to_come_is_refused_before_it_takes_anything_in(workspace: Workspace) -> None:
    # Issue 31, case 3: `cycle run --period 2030-01` made a final run paying core for a month to come.
    workspace.inbox.mkdir()
    (workspace.inbox / "harbour.xlsx").write_bytes(return_bytes(workspace.load_contract()))
    with pytest.raises(UsageError, match="period 2030-01 has not begun"):
        monthly_cycle(period="2030-01", deps=deps_for(workspace))
    with session_scope(deps_for(workspace).engine) as session:
        assert repo.periods_with_runs(session) == [] and session.exec(select(Submission)).all() == []
