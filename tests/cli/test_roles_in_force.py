"""Issue 31, case 7 (SQLite and PostgreSQL): the roles in force are the database's record, not whichever
alliance.yaml `--workspace` names. A copy of the contract without `roles:` (or with the caller made an officer),
pointed at the real database through ALLIANCE_DATABASE_URL, gives nobody more than the record allows; roles
edited in the real alliance.yaml apply once an officer of the roles in force has run a command."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import production_deps
from services.payments import run_payments
from tests.cli.in_process import Outcome, in_process
from tests.conftest import EXAMPLE
from tests.helpers import return_bytes
from tests.services.payments_helpers import submit

ROLES = """
roles:
  officers: ["Olive Officer"]
  board: ["Sam Chair"]
  partners: {harbour-trust: ["Ann Harbour"]}
"""
PERIOD = ("--period", "2026-10")


@pytest.fixture
def alliance(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    monkeypatch.delenv("ALLIANCE_USER", raising=False)
    return in_process(monkeypatch, capsys)


def real_alliance(root: Path, url: str) -> None:
    """The real workspace: roles in its contract, two partners' October returns and a payment run."""
    root.mkdir()
    (root / "alliance.yaml").write_text(EXAMPLE.read_text() + ROLES)
    deps = production_deps(Workspace(root=root, database_url=url))
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    for partner_id in ("harbour-trust", "city-mind"):
        submit(deps, f"{partner_id}.xlsx", return_bytes(deps.contract, partner_id))
    run_payments(deps, Period(2026, 10))
    deps.engine.dispose()


def test_a_copied_contract_pointed_at_the_real_database_gives_nobody_more(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alliance: Callable[..., Outcome]
) -> None:
    run = alliance
    url = engine.url.render_as_string(hide_password=False)
    real_alliance(tmp_path / "real", url)
    engine.dispose()
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "alliance.yaml").write_text(EXAMPLE.read_text())  # the contract without its roles
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", url)

    refused = run("status", *PERIOD, "-w", str(copy), caller="Mallory")
    assert refused.code == 4, refused.out
    assert "`alliance status` is for officers; Mallory is not listed under roles" in refused.err
    assert "harbour-trust" not in refused.out
    nobody = run("audit", "show", "-w", str(copy))
    assert nobody.code == 4 and "say who you are" in nobody.err
    shown = run("payments", "show", *PERIOD, "--json", "-w", str(copy), caller="Ann Harbour")
    assert shown.code == 0, shown.err
    assert [p["partner"] for p in json.loads(shown.out)["partners"]] == ["harbour-trust"]

    # A copy that makes the caller an officer is not the record either.
    (copy / "alliance.yaml").write_text(
        EXAMPLE.read_text() + ROLES.replace('"Olive Officer"', '"Olive Officer", Mallory')
    )
    again = run("status", *PERIOD, "-w", str(copy), caller="Mallory")
    assert again.code == 4 and "the roles in force are those recorded in the database" in again.err


def test_roles_edited_in_alliance_yaml_apply_once_an_officer_runs_a_command(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alliance: Callable[..., Outcome]
) -> None:
    run = alliance
    url = engine.url.render_as_string(hide_password=False)
    real = tmp_path / "real"
    real_alliance(real, url)
    engine.dispose()
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", url)
    contract = real / "alliance.yaml"
    contract.write_text(contract.read_text().replace('board: ["Sam Chair"]', 'board: ["Sam Chair", "Nia New"]'))

    before = run("payments", "show", *PERIOD, "-w", str(real), caller="Nia New")
    assert before.code == 4 and "an officer's next command records them" in before.err
    assert run("status", *PERIOD, "-w", str(real), caller="Olive Officer").code == 0
    after = run("payments", "show", *PERIOD, "-w", str(real), caller="Nia New")
    assert after.code == 0, after.err
    recorded = run("audit", "show", "--action", "roles.", "--json", "-w", str(real), caller="Olive Officer")
    actors = [entry["actor"] for entry in json.loads(recorded.out)]
    assert actors == ["Olive Officer", "alliance.yaml (the first roles this database met)"]
