"""The findings the offline check gives, frozen per file: every workbook of the shared corpus, a fixed run of
mutated returns, and generated returns carrying partners' usual mistakes.

Frozen on 2026-12-05, before the reading and checking were made faster (issue 26), so that a faster path is
proved to find exactly what the old one found. Write them again only for a deliberate change of a finding,
and read the diff: ``python -m tests.frozen_findings``.
"""

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from domain.contract import Contract
from domain.findings import Finding
from domain.periods import Period
from integrations.inbox import InboxFile
from integrations.workspace import load_contract
from services.intake import ToCheck, check_file, check_files

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "excel-real"
FROZEN = REPO / "tests" / "golden" / "findings"
MUTATION_SEED = 20261205
MUTATIONS = 300
BASE_RETURN = FROZEN / "base-return.xlsx"  # return_bytes(contract, rows=clean_rows(6)) on 2026-12-05
RECEIVED = datetime(2026, 11, 10, 10, tzinfo=UTC)


def _file(name: str, content: bytes) -> InboxFile:
    return InboxFile(
        name=name,
        path=f"inbox/{name}",
        received_at=RECEIVED,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


def _shown(finding: Finding) -> list[Any]:
    params = {key: str(value) for key, value in sorted(finding.params.items())}
    return [finding.code, finding.sheet, finding.cell, finding.row, finding.column, finding.value, params]


def findings_of(name: str, content: bytes, contract: Contract) -> list[list[Any]]:
    _, findings, _ = check_file(_file(name, content), contract)
    return [_shown(f) for f in findings]


def findings_together(files: list[tuple[str, bytes]], contract: Contract) -> dict[str, list[list[Any]]]:
    """The findings of each file, the files checked together as the cycle checks partners' returns (issue 26)."""
    answers = check_files([ToCheck(_file(name, content)) for name, content in files], contract)
    found = {}
    for (name, _), answer in zip(files, answers, strict=True):
        assert not isinstance(answer, BaseException), f"{name}: {answer!r}"
        found[name] = [_shown(f) for f in answer[1]]
    return found


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file())


def mutated_returns(contract: Contract) -> Iterator[tuple[str, bytes]]:
    """The mutation suite's kinds of damage, drawn from a fixed seed (the same files every time)."""
    from tests.services.test_intake_mutations import MUTATIONS as KINDS

    rng = random.Random(MUTATION_SEED)
    base = BASE_RETURN.read_bytes()  # kept: a return written today differs in its timestamps
    for number in range(1, MUTATIONS + 1):
        mutation = rng.choice(KINDS)
        yield f"m{number:04d}-{mutation.__name__}", mutation(rng, base)


def generated_returns(contract: Contract) -> Iterator[tuple[str, bytes]]:
    """Large returns, clean and with a bad cell of each usual kind every so many rows."""
    from bench.feedback import _file as filled
    from bench.feedback import _rows

    october = Period(2026, 10)
    for rows, problems in ((5000, 0), (5000, 50), (700, 140)):
        data = _rows(contract, october, rows, "H", problems=problems)
        yield f"generated-{rows}-{problems}", filled(contract, "harbour-trust", october, data)
    data = _rows(contract, october, 300, "H")
    data[10]["referral_date"] = "03/10/26"
    data[11]["referral_date"] = date(2030, 1, 1)
    data[12]["participant_id"] = data[13]["participant_id"]
    data[14]["into_work"] = "=1+1"
    yield "generated-300-mixed", filled(contract, "harbour-trust", october, data)


def collect(contract: Contract) -> dict[str, dict[str, list[list[Any]]]]:
    return {
        "corpus": {p.name: findings_of(p.name, p.read_bytes(), contract) for p in corpus_files()},
        "mutations": {name: findings_of(name, content, contract) for name, content in mutated_returns(contract)},
        "generated": {name: findings_of(name, content, contract) for name, content in generated_returns(contract)},
    }


def frozen(part: str) -> dict[str, list[list[Any]]]:
    return json.loads((FROZEN / f"{part}.json").read_text())


def main() -> None:
    contract = load_contract(REPO / "alliance.yaml")
    for part, answers in collect(contract).items():
        lines = [f"{json.dumps(name)}: {json.dumps(answers[name], ensure_ascii=False)}" for name in sorted(answers)]
        text = "{\n" + ",\n".join(lines) + "\n}\n"  # one file a line: a changed finding is a one-line diff
        (FROZEN / f"{part}.json").write_text(text)
        print(f"{part}: {len(answers)} files, {sum(map(len, answers.values()))} findings", file=sys.stderr)


if __name__ == "__main__":
    main()
