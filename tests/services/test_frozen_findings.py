"""The faster reading and checking (issue 26) find exactly what the old path found, on every file frozen in
``tests/golden/findings/`` before it changed (see ``tests/frozen_findings.py``)."""

from domain.contract import Contract
from tests.conftest import require_or_skip
from tests.frozen_findings import (
    CORPUS,
    corpus_files,
    findings_of,
    frozen,
    generated_returns,
    mutated_returns,
)


def _differences(expected: dict, actual: dict) -> list[str]:
    assert sorted(actual) == sorted(expected)
    return [
        f"{name}: frozen {expected[name]}, now {actual[name]}" for name in expected if actual[name] != expected[name]
    ]


def test_every_corpus_workbook_gives_the_frozen_findings(contract: Contract) -> None:
    if not CORPUS.is_dir():
        require_or_skip(f"the shared corpus is not beside the project at {CORPUS}")
    actual = {p.name: findings_of(p.name, p.read_bytes(), contract) for p in corpus_files()}
    assert _differences(frozen("corpus"), actual) == []


def test_every_mutated_return_gives_the_frozen_findings(contract: Contract) -> None:
    actual = {name: findings_of(name, content, contract) for name, content in mutated_returns(contract)}
    assert _differences(frozen("mutations"), actual) == []


def test_generated_returns_with_usual_mistakes_give_the_frozen_findings(contract: Contract) -> None:
    actual = {name: findings_of(name, content, contract) for name, content in generated_returns(contract)}
    assert _differences(frozen("generated"), actual) == []
