"""Every workbook in the shared corpus (written by Microsoft Excel, none of them a return) is refused
with a specific finding: by `alliance validate`, and by the cycle's intake with nothing but the refusal
recorded."""

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from domain.findings import CATALOGUE
from integrations.inbox import read_file
from integrations.workspace import Workspace
from models.db import session_scope
from models.tables import (
    AuditEntry,
    FindingRecord,
    FundingAdjustment,
    Notification,
    ParticipantRecord,
    PaymentLine,
    PaymentRun,
    PeriodRecord,
    Submission,
)
from services.deps import production_deps
from services.intake import process_file
from tests.cli.test_cli import REPO, alliance
from tests.conftest import require_or_skip
from tests.helpers import EXCEPTION_TEXT

CORPUS = REPO.parent / "shared" / "corpus" / "excel-real"


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        require_or_skip(f"the shared corpus is not beside the project at {CORPUS}")
    files = sorted(p for p in CORPUS.iterdir() if p.is_file())
    assert len(files) > 990
    return files


def test_alliance_validate_refuses_every_corpus_file_with_a_specific_finding(workspace: Workspace) -> None:
    files = corpus_files()
    result = alliance("validate", "--json", *map(str, files), cwd=workspace.root)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    answers = json.loads(result.stdout)
    assert [a["file"] for a in answers] == [str(f) for f in files]
    for answer in answers:
        assert answer["status"] == "rejected", answer
        assert answer["findings"], answer
        assert all(f["code"] in CATALOGUE and f["severity"] == "error" for f in answer["findings"]), answer
        assert not any(EXCEPTION_TEXT.search(f["message"]) for f in answer["findings"]), answer


def test_the_cycle_records_only_the_refusal_for_each_corpus_file(workspace: Workspace) -> None:
    files = corpus_files()
    deps = production_deps(workspace, clock=lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
    statuses = {
        process_file(deps, read_file(path, received_at=datetime(2026, 11, 10, tzinfo=UTC))).status for path in files
    }
    assert statuses == {"quarantined", "duplicate"}  # the corpus holds a few byte-identical files
    with session_scope(deps.engine) as session:

        def count(table: type) -> int:
            return int(session.exec(select(func.count()).select_from(table)).one())

        distinct = len({read_file(p).sha256 for p in files})
        assert count(Submission) == count(Notification) == count(AuditEntry) == distinct
        assert count(FindingRecord) >= distinct
        for table in (ParticipantRecord, PeriodRecord, PaymentRun, PaymentLine, FundingAdjustment):
            assert count(table) == 0, table.__name__
