"""Who may run which command once alliance.yaml has `roles:`: every command against every kind of caller.

Each case runs the real entry point (`cli.app.main`) in this process on its own copy of a small
workspace (two partners' October returns, a draft payment run waiting for an officer, their messages in
the outbox). A refusal is exit 4 with one line naming what is missing; an allowed caller gets the
command's own outcome (success, or the same usage error any operator would get). Commands that start
Prefect flows are replaced by stubs for the allowed path (the refusal comes before any flow starts).
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer

from cli.app import app
from domain.access import PERMISSIONS
from domain.periods import Period
from integrations.workspace import Workspace
from tests.cli.in_process import in_process
from tests.helpers import return_bytes

ROLES = """
roles:
  officers: [U01OFFICER, "Olive Officer"]
  board: ["Sam Chair"]
  partners: {harbour-trust: ["Ann Harbour"], city-mind: [U0CITYMIND, "Raj Patel"]}
"""
OFFICER, BOARD, HARBOUR, CITY, UNKNOWN, NOBODY = (
    "Olive Officer",
    "Sam Chair",
    "Ann Harbour",
    "Raj Patel",
    "Mallory",
    None,
)
CALLERS = [OFFICER, BOARD, HARBOUR, CITY, UNKNOWN, NOBODY]
ACCESS_WORDS = ("is not listed under roles", "say who you are", " acts for ", "would record someone else")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]  # after the command's name; {ws} is the workspace, {file} harbour-trust's return
    allowed: frozenset[str | None]  # callers who may (partner scoping included)
    exit_when_allowed: int  # the command's own outcome on this workspace
    output: str = ""  # a fragment of what an allowed caller is told


PERIOD = ("--period", "2026-10")
# The matrix: a caller not in `allowed` is refused with exit 4.
MATRIX: dict[str, Case] = {
    "findings": Case((), frozenset(CALLERS), 0, "# Findings"),
    "demo": Case(("--dir", "{ws}/demo"), frozenset(CALLERS), 0, "demo stub"),
    "db upgrade": Case(("-w", "{ws}"), frozenset(CALLERS), 0, "newest schema"),
    "validate": Case(("{file}", "-w", "{ws}"), frozenset({OFFICER, HARBOUR}), 0, "accepted (partner harbour-trust"),
    "templates": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "harbour-trust-2026-10.xlsx"),
    "expectations": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "expect_column_values_to_be_unique"),
    "cycle run": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "cycle stub"),
    "serve": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "serve stub"),
    "reminders": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "looked at"),
    "payments show": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER, BOARD, HARBOUR, CITY}), 0, "run v1 (draft)"),
    "payments approve": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "approved by Olive Officer"),
    "payments export": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 2),  # a draft is not payable yet
    "period unlock": Case(
        (*PERIOD, "--partner", "harbour-trust", "--reason", "r", "-w", "{ws}"), frozenset({OFFICER}), 2
    ),  # not locked: the draft was not approved
    "period send-back": Case(
        (*PERIOD, "--partner", "northfield-works", "--feedback", "f", "-w", "{ws}"), frozenset({OFFICER}), 2
    ),  # northfield-works has no accepted return to send back
    "status": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "harbour-trust"),
    "notifications": Case(("-w", "{ws}"), frozenset({OFFICER, HARBOUR, CITY}), 0, "#"),
    "notifications send": Case(("-w", "{ws}"), frozenset({OFFICER}), 2),  # no SLACK_BOT_TOKEN here
    "notifications retry": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "queued again"),
    "audit show": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "payment_run.created"),
    "audit verify": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "audit log intact"),
    "review show": Case(("--year", "1", "-w", "{ws}"), frozenset({OFFICER, BOARD, HARBOUR, CITY}), 0, "preview"),
    "review run": Case(("--year", "1", "-w", "{ws}"), frozenset({OFFICER}), 0, "flagged: none"),
    "review reply": Case(
        ("--year", "1", "--partner", "harbour-trust", "--text", "t", "-w", "{ws}"), frozenset({HARBOUR}), 2
    ),  # there is no review yet
    "review decide": Case(
        ("--year", "1", "--partner", "harbour-trust", "--decision", "no_action", "--reason", "r", "-w", "{ws}"),
        frozenset({BOARD}),
        2,
    ),  # there is no review yet
    "report": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "public"),
    "web": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "web stub"),
    "users invite": Case(
        (
            "--email",
            "new@harbour.org",
            "--role",
            "partner",
            "--partner",
            "harbour-trust",
            "--name",
            "New",
            "-w",
            "{ws}",
        ),
        frozenset({OFFICER}),
        0,
        "invitation link",
    ),
    "users list": Case(("-w", "{ws}"), frozenset({OFFICER}), 0, "no accounts yet"),
    "users disable": Case(("--email", "nobody@harbour.org", "-w", "{ws}"), frozenset({OFFICER}), 2),  # no account
    "users reset": Case(("--email", "nobody@harbour.org", "-w", "{ws}"), frozenset({OFFICER}), 2),  # no account
    "checks list": Case((*PERIOD, "-w", "{ws}"), frozenset({OFFICER}), 0, "no claims drawn for 2026-10"),
    "checks record": Case(
        (*PERIOD, "--partner", "harbour-trust", "--participant", "P000", "--measure", "wellbeing_up")
        + ("--result", "verified", "-w", "{ws}"),
        frozenset({OFFICER}),
        2,
    ),  # nothing has been drawn for checking
}


def registered_commands(group: Any, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every runnable command path of the typer app (a group that runs without a subcommand counts too)."""
    found = set()
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            if getattr(command, "invoke_without_command", False):
                found.add(" ".join(path))
            found |= registered_commands(command, path)
        else:
            found.add(" ".join(path))
    return found


def test_every_command_is_in_the_permission_table_and_the_matrix() -> None:
    commands = registered_commands(typer.main.get_command(app))
    assert "payments approve" in commands and "notifications" in commands  # the walk sees groups and callbacks
    assert sorted(commands - set(PERMISSIONS)) == [], "a command without an entry in domain.access.PERMISSIONS"
    assert sorted(set(PERMISSIONS) - commands) == [], "PERMISSIONS names a command that does not exist"
    assert set(MATRIX) == commands


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two partners' accepted October returns and a draft payment run, then `roles:` added to the contract."""
    from services.payments import run_payments
    from tests.conftest import EXAMPLE
    from tests.services.conftest import CYCLE_AT
    from tests.services.payments_helpers import submit, with_approval

    root = tmp_path_factory.mktemp("template")
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    deps = with_approval(Workspace(root=root, database_url=f"sqlite:///{root / 'alliance.db'}"), CYCLE_AT)
    for partner_id in ("harbour-trust", "city-mind"):
        submit(deps, f"{partner_id}.xlsx", return_bytes(deps.contract, partner_id))
    run_payments(deps, Period(2026, 10))
    deps.engine.dispose()
    (root / "alliance.yaml").write_text((root / "alliance.yaml").read_text() + ROLES)
    return root


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(template, copy)
    return copy


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.delenv("ALLIANCE_USER", raising=False)
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return in_process(monkeypatch, capsys)


@pytest.fixture
def stub_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flows and the demo the allowed callers would start: stubs that say they ran."""
    import flows.deployments
    import flows.monthly_cycle
    import flows.partner_review
    import services.demo

    def cycle(**kwargs: Any) -> Any:
        typer.echo("cycle stub")
        return flows.monthly_cycle.CycleReport(period=kwargs["period"])

    def review(**kwargs: Any) -> Any:
        return SimpleNamespace(flagged=[], watch=[], decisions={}, timed_out=[])

    monkeypatch.setattr(flows.monthly_cycle, "monthly_cycle", cycle)
    monkeypatch.setattr(flows.partner_review, "partner_review", review)
    monkeypatch.setattr(services.demo, "run_demo", lambda *a, **k: typer.echo("demo stub"))
    monkeypatch.setattr(flows.deployments, "serve_all", lambda *a, **k: typer.echo("serve stub"))
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: typer.echo("web stub"))


def refusal(action: str, caller: str | None) -> str:
    """The fragment a refused caller must see."""
    if caller is None:
        return "say who you are with --as NAME or ALLIANCE_USER"
    if caller == UNKNOWN:
        return f"{UNKNOWN} is not listed under roles in alliance.yaml"
    if (action, caller) == ("validate", CITY):
        return f"{CITY} acts for city-mind only; harbour-trust.xlsx is another partner's, so it is not shown"
    if (action, caller) == ("review reply", CITY):
        return f"{CITY} acts for city-mind only; this reply is for harbour-trust"
    return f"`alliance {action}` is for "


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: (c or "nobody").replace(" ", "-"))
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_the_access_matrix(action: str, caller: str | None, ws: Path, run: Any, stub_flows: None) -> None:
    case = MATRIX[action]
    args = [a.format(ws=ws, file=ws / "harbour-trust.xlsx") for a in case.args]
    result = run(*action.split(), *args, caller=caller)
    if caller in case.allowed:
        assert result.code == case.exit_when_allowed, result.err
        assert not any(word in result.err for word in ACCESS_WORDS), result.err
        assert case.output in result.out
    else:
        assert result.code == 4, result.out + result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("alliance: error: "), lines
        assert refusal(action, caller) in lines[0]
        assert result.out == ""


def test_a_partner_sees_only_its_own_payment_lines_and_officers_and_board_see_all(ws: Path, run: Any) -> None:
    def partners(caller: str) -> list[str]:
        shown = run("payments", "show", *PERIOD, "--json", "-w", str(ws), caller=caller)
        assert shown.code == 0, shown.err
        return [p["partner"] for p in json.loads(shown.out)["partners"]]

    everyone = ["city-mind", "harbour-trust", "northfield-works"]
    assert partners(OFFICER) == everyone and partners(BOARD) == everyone
    assert partners(HARBOUR) == ["harbour-trust"] and partners("U0CITYMIND") == ["city-mind"]
    text = run("payments", "show", *PERIOD, "-w", str(ws), caller=HARBOUR).out
    assert "harbour-trust" in text and "city-mind" not in text and "northfield-works" not in text


def test_a_partner_sees_only_its_own_review_row(ws: Path, run: Any) -> None:
    def rows(caller: str) -> list[str]:
        shown = run("review", "show", "--year", "1", "--json", "-w", str(ws), caller=caller)
        assert shown.code == 0, shown.err
        return [r["partner"] for r in json.loads(shown.out)["partners"]]

    assert sorted(rows(BOARD)) == ["city-mind", "harbour-trust", "northfield-works"]
    assert rows(CITY) == ["city-mind"]


def test_a_partner_sees_only_the_messages_to_its_own_channel(ws: Path, run: Any) -> None:
    def channels(caller: str) -> set[str]:
        listed = run("notifications", "-w", str(ws), caller=caller)
        assert listed.code == 0, listed.err
        return {line.split()[2] for line in listed.out.splitlines() if line.strip() and line.split()[0].isdigit()}

    assert channels(OFFICER) == {"#harbour-trust", "#city-mind", "#alliance-officers"}
    assert channels(HARBOUR) == {"#harbour-trust"}


def test_an_approval_records_the_caller_and_refuses_anothers_name(ws: Path, run: Any) -> None:
    refused = run("payments", "approve", *PERIOD, "--by", "U01OFFICER", "-w", str(ws), caller="olive  OFFICER")
    assert refused.code == 4 and "you act as Olive Officer; --by U01OFFICER would record someone else" in refused.err
    approved = run("payments", "approve", *PERIOD, "-w", str(ws), caller="olive  OFFICER")
    assert approved.code == 0, approved.err
    audit = json.loads(
        run("audit", "show", "--action", "payment_run.approved", "--json", "-w", str(ws), caller=OFFICER).out
    )
    assert [e["actor"] for e in audit] == ["Olive Officer"]


def test_alliance_user_names_the_caller_when_as_is_not_given(
    ws: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_USER", "U01OFFICER")
    assert run("audit", "verify", "-w", str(ws)).code == 0
    assert run("audit", "verify", "-w", str(ws), caller=HARBOUR).code == 4  # --as wins


def test_without_roles_nobody_needs_to_say_who_they_are(tmp_path: Path, run: Any) -> None:
    from tests.conftest import EXAMPLE

    (tmp_path / "alliance.yaml").write_text(EXAMPLE.read_text())
    assert run("audit", "verify", "-w", str(tmp_path)).code == 0
    assert run("templates", *PERIOD, "-w", str(tmp_path), caller="anyone at all").code == 0
