"""The command line: one clear line and an exit code for every bad input, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from integrations.workspace import Workspace
from tests.helpers import clean_rows, return_bytes

REPO = Path(__file__).resolve().parents[2]


def alliance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout, not whichever one is installed
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_contract(tmp_path: Path) -> None:
    assert_one_clear_line(alliance("payments", "show", "--period", "2026-10", cwd=tmp_path), 2, "no alliance.yaml")


def test_malformed_contract(tmp_path: Path) -> None:
    (tmp_path / "alliance.yaml").write_text("alliance: {name: [\n")
    assert_one_clear_line(alliance("templates", "--period", "2026-10", cwd=tmp_path), 2, "not valid YAML at line")


def test_invalid_contract_gives_one_line_per_problem(workspace: Workspace) -> None:
    text = workspace.contract_path.read_text().replace("annual_core: 48000", "annual_core: 0")
    workspace.contract_path.write_text(text.replace("due_day: 14", "due_day: 31"))
    result = alliance("templates", "--period", "2026-10", cwd=workspace.root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"{workspace.contract_path}: partners[0].annual_core: must be > 0",
        f"{workspace.contract_path}: deadlines.due_day: must be <= 28",
    ]


@pytest.mark.parametrize("period", ["2026-13", "2025-01"])
def test_unknown_period(workspace: Workspace, period: str) -> None:
    assert_one_clear_line(alliance("templates", "--period", period, cwd=workspace.root), 2, period)


def test_no_payment_run_yet(workspace: Workspace) -> None:
    assert_one_clear_line(alliance("payments", "show", "--period", "2026-10", cwd=workspace.root), 2, "no payment run")


def test_templates_are_written_per_partner(workspace: Workspace) -> None:
    result = alliance("templates", "--period", "2026-10", cwd=workspace.root)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert (workspace.templates_dir / "2026-10" / "harbour-trust-2026-10.xlsx").is_file()


def test_validate_json_for_an_accepted_return(workspace: Workspace) -> None:
    contract = workspace.load_contract()
    path = workspace.root / "return.xlsx"
    path.write_bytes(return_bytes(contract))
    result = alliance("validate", str(path), "--json", cwd=workspace.root)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [entry] = data
    only_cycle = entry.pop("checked_only_in_the_cycle")
    assert entry == {
        "file": str(path),
        "status": "accepted",
        "partner": "harbour-trust",
        "period": "2026-10",
        "findings": [],
        "feedback": None,
    }
    assert any("earlier month" in check for check in only_cycle) and any("late" in check for check in only_cycle)


def test_validate_a_non_excel_file(workspace: Workspace) -> None:
    path = workspace.root / "return.xlsx"
    path.write_text("participant_id,referral_date\n")
    result = alliance("validate", str(path), "--json", cwd=workspace.root)
    assert result.returncode == 1
    [data] = json.loads(result.stdout)
    assert data["status"] == "rejected"
    assert [f["code"] for f in data["findings"]] == ["FILE_TEXT"]
    assert set(data["findings"][0]) == {"code", "severity", "sheet", "cell", "row", "column", "value", "message", "fix"}


def test_validate_several_files_exits_1_if_any_is_rejected(workspace: Workspace) -> None:
    good, bad = workspace.root / "good.xlsx", workspace.root / "bad.xlsx"
    good.write_bytes(return_bytes(workspace.load_contract()))
    bad.write_bytes(b"")
    result = alliance("validate", str(good), str(bad), cwd=workspace.root)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "good.xlsx: accepted (partner harbour-trust, period 2026-10)"
    assert "FILE_EMPTY" in result.stdout


def test_validate_rejects_a_return_with_a_reader_error(workspace: Workspace) -> None:
    path = workspace.root / "twice.xlsx"
    rows = clean_rows()
    path.write_bytes(return_bytes(workspace.load_contract(), rows=rows, extra_column=("into work", ["No"] * 4)))
    result = alliance("validate", str(path), "--json", cwd=workspace.root)
    assert result.returncode == 1
    [data] = json.loads(result.stdout)
    assert (data["status"], [f["code"] for f in data["findings"]]) == ("rejected", ["COLUMN_DUPLICATE"])


def test_validate_shows_each_fix_writes_the_feedback_workbook_and_names_the_checks_only_the_cycle_runs(
    workspace: Workspace,
) -> None:
    rows = clean_rows()
    rows[0]["into_work"] = "N/A"
    path = workspace.root / "mine.xlsx"
    path.write_bytes(return_bytes(workspace.load_contract(), rows=rows))
    folder = workspace.root / "checked"
    result = alliance("validate", str(path), "--feedback", str(folder), cwd=workspace.root)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "YESNO_INVALID" in line)
    assert "'N/A' under Started work or training is not Yes or No." in lines[at]
    assert lines[at + 1].strip() == "How to fix: Enter Yes or No."
    written = folder / "mine-feedback.xlsx"
    assert f"feedback workbook: {written}" in result.stdout and written.is_file()
    issues = load_workbook(written)["Issues"]
    assert any(c.value == "YESNO_INVALID" for row in issues.iter_rows() for c in row)
    assert lines[-1].startswith("Checked offline. Only the cycle checks, when the return is sent:")
    assert "earlier month" in lines[-1] and "another partner" in lines[-1] and "late" in lines[-1]


def test_validate_a_missing_file(workspace: Workspace) -> None:
    assert_one_clear_line(alliance("validate", "nope.xlsx", cwd=workspace.root), 2, "no such file")


def test_notifications_on_a_new_workspace(workspace: Workspace) -> None:
    result = alliance("notifications", cwd=workspace.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no notifications"
    assert (workspace.root / "alliance.db").is_file()  # migrations ran on first use


def test_reminders_twice_the_same_day_queue_nothing_the_second_time(workspace: Workspace) -> None:
    first = alliance("reminders", cwd=workspace.root)
    second = alliance("reminders", cwd=workspace.root)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "looked at" in first.stdout.splitlines()[0]
    assert not any(line.startswith("queued ") for line in second.stdout.splitlines())
    assert [line.removeprefix("queued").strip() for line in first.stdout.splitlines()[1:]] == [
        line.removeprefix("already queued").strip() for line in second.stdout.splitlines()[1:]
    ]


def test_approve_export_and_unlock_from_the_command_line(workspace: Workspace) -> None:
    from domain.periods import Period
    from services.payments import run_payments
    from tests.services.conftest import CYCLE_AT
    from tests.services.payments_helpers import submit, with_approval

    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, Period(2026, 10))
    deps.engine.dispose()
    period = ("--period", "2026-10")

    shown = json.loads(alliance("payments", "show", *period, "--json", cwd=workspace.root).stdout)
    assert (shown["status"], shown["version"]) == ("draft", 1)
    assert_one_clear_line(alliance("payments", "export", *period, cwd=workspace.root), 2, "draft awaiting approval")

    approved = alliance("payments", "approve", *period, "--by", "Ada Officer", cwd=workspace.root)
    assert approved.returncode == 0, approved.stderr
    assert "locked returns: harbour-trust" in approved.stdout
    assert (workspace.out / "statements" / "2026-10" / "v1" / "harbour-trust-2026-10-v1.xlsx").is_file()

    exported = alliance("payments", "export", *period, cwd=workspace.root)
    assert exported.returncode == 0, exported.stderr
    header, *rows = exported.stdout.splitlines()
    assert header.startswith("reference,period,run_version,status,partner_id")
    assert len(rows) == len(deps.contract.partners)

    unlock = ("period", "unlock", *period, "--partner", "harbour-trust", "--reason", "two rows in the wrong month")
    assert alliance(*unlock, "--by", "Ada Officer", cwd=workspace.root).returncode == 0
    assert_one_clear_line(alliance(*unlock, cwd=workspace.root), 2, "is not locked")
    assert_one_clear_line(
        alliance("period", "unlock", *period, "--partner", "nobody", "--reason", "x", cwd=workspace.root),
        2,
        "no partner 'nobody'",
    )


def test_notifications_send_delivers_reports_failures_and_retry_requeues(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from integrations.slack.fake_server import TOKEN, running
    from models import repo
    from models.db import ensure_schema, make_engine, session_scope

    unset = alliance("notifications", "-w", str(workspace.root), "send", cwd=workspace.root.parent)
    assert_one_clear_line(unset, 2, "neither SLACK_BOT_TOKEN nor ALLIANCE_SMTP_HOST is set")
    contract = workspace.load_contract()
    engine = make_engine(workspace.database_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        for partner in contract.partners:
            repo.enqueue(
                session,
                dedup_key=f"hello:{partner.id}",
                channel=partner.slack_channel,
                partner_id=partner.id,
                kind="return_processed",
                text=f"*{partner.name}*: hello",
                at=datetime(2026, 11, 16, tzinfo=UTC),
            )
    engine.dispose()
    missing = "#city-mind"  # the bot cannot see this partner's channel yet
    with running([p.slack_channel for p in contract.partners if p.slack_channel != missing]) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("ALLIANCE_SLACK_BASE_URL", slack.url)
        sent = alliance("notifications", "send", cwd=workspace.root)
        assert sent.returncode == 1, sent.stderr
        assert sent.stdout.splitlines()[0].startswith(f"sent {len(contract.partners) - 1}, to retry 0, failed 1")
        listed = alliance("notifications", "--status", "failed", cwd=workspace.root).stdout
        assert_one_clear_line(alliance("notifications", "--status", "lost", cwd=workspace.root), 2, "--status")
        assert missing in listed and "last error: channel_not_found" in listed
        slack.channel_ids["city-mind"] = "C999999"  # the channel is created and the bot invited
        slack.channel_names["C999999"] = "city-mind"
        assert "queued again: " in alliance("notifications", "retry", cwd=workspace.root).stdout
        again = alliance("notifications", "send", cwd=workspace.root)
        assert again.returncode == 0 and again.stdout.startswith("sent 1,"), again.stdout + again.stderr
        assert sorted(slack.received()) == sorted(p.slack_channel for p in contract.partners)


def test_review_show_reply_and_decide_from_the_command_line(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from domain.periods import Period
    from services.review import start_review
    from tests.services.review_helpers import WEAK, Clock, review_deps, seed_year

    # A contract year long past, so that the command line's real clock is after the right of reply.
    start = Period(2024, 4)
    root = tmp_path / "ws"
    deps = review_deps(root, Clock(datetime(2025, 4, 20, 9, tzinfo=UTC)), start=start)
    seed_year(deps, quality={WEAK: 0.6}, year_start=start)

    preview = alliance("review", "show", "--year", "1", "--json", cwd=root)
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)
    assert shown["stored"] is False
    assert [p["partner"] for p in shown["partners"] if p["flagged"]] == [WEAK]
    assert {"O", "E", "ratio", "z", "lower_limit", "upper_limit", "flagged", "watch", "reason"} <= set(
        shown["partners"][0]
    )

    start_review(deps, year=1)
    reply = ["review", "reply", "--year", "1", "--partner", WEAK, "--by", "CEO", "--text", "x"]
    assert_one_clear_line(alliance(*reply, cwd=root), 2, "right of reply closed on 04/05/2025")
    decide = ["review", "decide", "--year", "1", "--partner", WEAK, "--by", "Board", "--reason", "shortfall"]
    assert_one_clear_line(alliance(*decide, "--decision", "bogus", cwd=root), 2, "decision 'bogus' is not one of")
    refused = alliance(*decide, "--decision", "step_down", "--percent", "33", "--effective", "2025-01", cwd=root)
    assert_one_clear_line(refused, 2, "one of 10, 25, 50, 100", "effective month must be")
    decided = alliance(*decide, "--decision", "improvement_plan", cwd=root)
    assert decided.returncode == 0, decided.stderr
    assert "recorded: improvement_plan" in decided.stdout
    shown = alliance("audit", "show", "--action", "review.", "--json", cwd=root)
    assert shown.returncode == 0, shown.stderr
    audit = json.loads(shown.stdout)
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("review.board_decision", "Board"),
        ("review.started", "partner-review"),
    ]
    assert audit[0]["detail"]["kind"] == "improvement_plan" and audit[0]["detail"]["reason"] == "shortfall"
    assert_one_clear_line(alliance("review", "show", "--year", "0", cwd=root), 2, "contract year 0 does not exist")


@pytest.mark.parametrize(
    "args",
    [
        ("review", "decide", "--year", "1", "--partner", "city-mind"),  # --decision, --by, --reason missing
        ("review", "show", "--year", "one"),
        ("review", "bogus"),
    ],
)
def test_a_malformed_command_line_is_a_usage_error_not_an_internal_one(workspace: Workspace, args: tuple[str]) -> None:
    result = alliance(*args, cwd=workspace.root)
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_decision_before_the_review_points_to_a_command_that_exists(workspace: Workspace) -> None:
    result = alliance(
        "review", "decide", "--year", "1", "--partner", "city-mind", "--decision", "no_action",
        "--by", "Board", "--reason", "r", cwd=workspace.root,
    )  # fmt: skip
    assert_one_clear_line(result, 2, "no review for contract year 1")
    command = result.stderr.split("`alliance ", 1)[1].split("`", 1)[0]
    assert alliance(*command.split(), "--help", cwd=workspace.root).returncode == 0, command


def test_spot_checks_and_the_report_from_the_command_line(tmp_path: Path) -> None:
    from tests.services.report_helpers import LAST, open_books_deps

    deps = open_books_deps(tmp_path / "ws")
    deps.engine.dispose()
    ws = str(deps.workspace.root)
    listed = alliance(
        "checks", "list", "--period", str(LAST), "--partner", "partner-06", "--json", "-w", ws, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    [claim, *_] = json.loads(listed.stdout)
    assert claim["result"] == "to_check" and claim["seed"]
    base = ("checks", "record", "--period", str(LAST), "--partner", "partner-06", "--participant")
    recorded = alliance(
        *base,
        claim["participant_id"],
        "--measure",
        claim["measure"],
        "--result",
        "not_verified",
        "--reason",
        "no letter on file",
        "--by",
        "Olive Officer",
        "-w",
        ws,
        cwd=tmp_path,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "not_verified recorded" in recorded.stdout and "the next payment run for 2026-09" in recorded.stdout
    again = alliance(
        *base, claim["participant_id"], "--measure", claim["measure"], "--result", "not_verified",
        "--reason", "another reason", "--by", "Olive Officer", "-w", ws, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "not_verified was already recorded by Olive Officer" in again.stdout
    assert "(no letter on file)" in again.stdout and "your --reason was not recorded" in again.stdout
    bad = alliance(
        *base, claim["participant_id"], "--measure", claim["measure"], "--result", "maybe", "-w", ws, cwd=tmp_path
    )
    assert_one_clear_line(bad, 2, "--result must be verified or not_verified")
    final = alliance(
        *base, claim["participant_id"], "--measure", claim["measure"], "--result", "verified", "-w", ws, cwd=tmp_path
    )
    assert_one_clear_line(final, 3, "a spot check's finding is final")
    built = alliance("report", "--year", "1", "-w", ws, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert [line.split()[0] for line in built.stdout.splitlines()] == ["public", "alliance", "officers"]
    steps = built.stderr.splitlines()  # progress on standard error, each line with the seconds since the start
    assert [line.split("s  ", 1)[1].split(":")[0] for line in steps] == [
        "records read",
        "report year-1 written for 3 audience(s)",
    ]
    assert "10 figure(s) and 4 plot(s) built" in steps[0]
    assert_one_clear_line(alliance("report", "-w", ws, cwd=tmp_path), 2, "either --period YYYY-MM or --year N")
    empty = alliance("report", "--period", "2027-02", "-w", ws, cwd=tmp_path)
    assert_one_clear_line(empty, 2, "2027-02 has no accepted return or payment run yet: nothing to report")
    assert not (Path(ws) / "out" / "report" / "public" / "2027-02").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("checks", "list", "--period", "2026-10", "--partner", "harbor-trust"),
        ("notifications", "--partner", "harbor-trust"),
        ("period", "send-back", "--period", "2026-10", "--partner", "harbor-trust", "--feedback", "x", "--by", "Ada"),
    ],
)
def test_an_unknown_partner_is_refused_with_the_valid_ids(workspace: Workspace, args: tuple[str, ...]) -> None:
    assert_one_clear_line(
        alliance(*args, cwd=workspace.root),
        2,
        "no partner 'harbor-trust'",
        "city-mind, harbour-trust, northfield-works",
    )


def test_review_show_refuses_a_year_not_begun(workspace: Workspace) -> None:
    assert_one_clear_line(alliance("review", "show", "--year", "9", cwd=workspace.root), 2, "has not begun")


def test_a_cycle_for_a_month_still_to_come_is_refused_in_one_line(workspace: Workspace) -> None:
    # Issue 31, case 3: in 2026-12, `cycle run --period 2030-01` paid core for a month to come.
    result = alliance("cycle", "run", "--period", "2099-01", cwd=workspace.root)
    assert_one_clear_line(result, 2, "period 2099-01 has not begun", "01/01/2099")
    assert not (workspace.root / "alliance.db").exists() or "payment run" not in result.stdout
