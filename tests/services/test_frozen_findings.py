"""The faster reading and checking (issue 26) find exactly what the old path found, on every file frozen in
``tests/golden/findings/`` before it changed (see ``tests/frozen_findings.py``)."""

from domain.contract import Contract
from expectations import quality
from tests.conftest import require_or_skip
from tests.frozen_findings import (
    CORPUS,
    corpus_files,
    findings_of,
    findings_together,
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


def test_files_checked_together_each_give_their_frozen_findings(contract: Contract) -> None:
    """The cycle checks partners' returns together, one Great Expectations validation for many (issue 26): every
    frozen file, checked in batches with others, finds exactly what it found alone. Batches mix clean and damaged
    files, large and small, unreadable ones and (with the corpus beside the project) other people's workbooks."""
    files = [*mutated_returns(contract), *generated_returns(contract)]
    expected = {**frozen("mutations"), **frozen("generated")}
    if CORPUS.is_dir():
        files += [(p.name, p.read_bytes()) for p in corpus_files()]
        expected.update(frozen("corpus"))
    files.sort(key=lambda item: item[0][::-1])  # interleaved: each batch holds every kind
    actual: dict = {}
    for start in range(0, len(files), quality.RETURNS_TOGETHER):
        actual.update(findings_together(files[start : start + quality.RETURNS_TOGETHER], contract))
    assert _differences(expected, actual) == []
