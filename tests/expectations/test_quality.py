import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from domain.contract import Contract
from domain.returns import RawReturn, RawRow, RawTable, ReturnContext
from expectations.participants import quality_frame, to_frame
from expectations.quality import run_suite, suite_json, suite_text, validate_together
from tests.helpers import clean_rows

REPO = Path(__file__).resolve().parents[2]


def test_the_kept_suite_is_the_one_the_example_framework_generates(contract: Contract) -> None:
    assert (REPO / "expectations" / "suites" / "participants.json").read_text() == suite_text(contract.framework)


def test_every_expectation_names_its_finding_and_column(contract: Contract) -> None:
    suite = suite_json(contract.framework)
    findings = {e["meta"]["finding"] for e in suite["expectations"]}
    assert {"ID_DUPLICATE", "BAND_UNKNOWN", "DATE_AFTER_PERIOD", "DATE_TOO_EARLY", "POSTCODE_INVALID"} <= findings
    assert {"DUPLICATE_CLAIM", "OUTCOME_CLAIMED_BEFORE"} <= findings
    assert all(e["meta"]["cell_column"] in contract.framework.columns for e in suite["expectations"])
    claimed = [e for e in suite["expectations"] if e["meta"]["finding"] == "OUTCOME_CLAIMED_BEFORE"]
    assert [e["meta"]["cell_column"] for e in claimed] == contract.framework.measure_ids


def test_the_suite_follows_the_framework(contract: Contract) -> None:
    changed = contract.framework.model_copy(update={"bands": {"standard": 1, "intensive": 3}})
    band_set = next(e for e in suite_json(changed)["expectations"] if e["meta"]["finding"] == "BAND_UNKNOWN")
    assert band_set["kwargs"]["value_set"] == ["standard", "intensive"]


def _checked(contract: Contract, rows: list[dict], context: ReturnContext) -> pd.DataFrame:
    raw = RawReturn(table=RawTable.of(RawRow(row=n, values=values) for n, values in enumerate(rows, start=2)))
    raw.columns = {c: c for c in contract.framework.columns}
    return quality_frame(to_frame(raw, contract.framework), contract.framework, context)


def test_returns_validated_together_get_exactly_what_each_gets_alone(contract: Contract) -> None:
    """The cycle's threads hand their frames in together: the same unexpected cells, each to its own return, and an
    id repeated across two returns is no repeat in either."""
    plain = clean_rows(5)
    repeated = clean_rows(4) + [clean_rows(2)[1]]  # P001 twice
    odd = clean_rows(6)
    odd[0]["complexity_band"] = "hard"
    odd[1]["referral_date"] = date(2031, 1, 1)
    odd[2]["referral_date"] = date(1990, 1, 1)
    odd[3]["postcode_district"] = "NF1 2AB"
    claims = ReturnContext(
        claimed_in_other_months={"P004": {"housing_sustained": "2026-09"}}, claimed_elsewhere=frozenset({"P005"})
    )
    frames = [
        _checked(contract, plain, ReturnContext()),
        _checked(contract, repeated, ReturnContext()),
        _checked(contract, odd, claims),
    ]
    parameters = {"period_end": pd.Timestamp(date(2026, 10, 31)), "earliest_referral": pd.Timestamp(date(2016, 4, 1))}
    text = suite_text(contract.framework)
    alone = [validate_together(text, [frame], parameters)[0] for frame in frames]
    assert validate_together(text, frames, parameters) == alone
    assert alone[0] == [] and {u.finding for u in alone[1]} == {"ID_DUPLICATE"}
    assert {u.finding for u in alone[2]} == {
        "BAND_UNKNOWN",
        "DATE_AFTER_PERIOD",
        "DATE_TOO_EARLY",
        "POSTCODE_INVALID",
        "DUPLICATE_CLAIM",
        "OUTCOME_CLAIMED_BEFORE",
    }


def test_threads_handing_in_frames_at_once_each_get_their_own_answer(contract: Contract) -> None:
    rows = clean_rows(5)
    rows[4]["complexity_band"] = "hard"
    frame = _checked(contract, rows, ReturnContext())
    parameters = {"period_end": pd.Timestamp(date(2026, 10, 31)), "earliest_referral": pd.Timestamp(date(2016, 4, 1))}
    text = suite_text(contract.framework)
    expected = run_suite(text, frame, parameters)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: run_suite(text, frame, parameters), range(12)))
    assert answers == [expected] * 12 and [u.rows for u in expected] == [[6]]


def test_a_frame_the_suite_cannot_run_on_fails_alone_not_the_frames_validated_with_it(
    contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expectations import quality

    good = _checked(contract, clean_rows(3), ReturnContext())
    bad = good.copy()
    bad["participant_id"] = pd.Series(["P000", "BOOM", "P002"], index=bad.index, dtype=object)
    parameters = {"period_end": pd.Timestamp(date(2026, 10, 31)), "earliest_referral": pd.Timestamp(date(2016, 4, 1))}
    text = suite_text(contract.framework)
    expected = run_suite(text, good, parameters)
    validate = quality._validate

    def failing_on_boom(text: str, frame: pd.DataFrame, parameters: dict) -> list:
        if any(isinstance(v, str) and v.endswith("BOOM") for v in frame["participant_id"]):
            raise quality.SuiteFailed("the suite could not run on this return")  # as GX's raised exception becomes
        return validate(text, frame, parameters)

    monkeypatch.setattr(quality, "_validate", failing_on_boom)
    together: list[int] = []
    monkeypatch.setattr(
        quality,
        "validate_together",
        lambda t, frames, p: together.append(len(frames)) or validate_together(t, frames, p),
    )

    def check(frame: pd.DataFrame) -> object:
        try:
            return run_suite(text, frame, parameters)
        except quality.SuiteFailed as failed:
            return failed

    # Hold the validation lock until all three have handed their frames in: they are then validated as one batch.
    with ThreadPoolExecutor(max_workers=3) as pool:
        with quality._ONE_AT_A_TIME:
            futures = [pool.submit(check, frame) for frame in (good, bad, good)]
            deadline = time.monotonic() + 30
            while sum(len(w) for w in quality._waiting.values()) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
        answers = [f.result(timeout=60) for f in futures]
    assert together == [3]  # tried as one batch, which failed; then each alone
    assert answers[0] == answers[2] == expected and isinstance(answers[1], quality.SuiteFailed)


def test_only_the_expectations_a_return_fails_are_asked_for_their_cells(
    contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: a return meeting every expectation costs one quick validation; one failing costs a second, of the
    failed expectations alone, and gets the same cells as before."""
    from expectations import quality

    asked: list[tuple[int, ...] | None] = []
    suite = quality._suite
    monkeypatch.setattr(quality, "_suite", lambda text, only=None: asked.append(only) or suite(text, only))
    parameters = {"period_end": pd.Timestamp(date(2026, 10, 31)), "earliest_referral": pd.Timestamp(date(2016, 4, 1))}
    text = suite_text(contract.framework)
    assert quality._validate(text, _checked(contract, clean_rows(5), ReturnContext()), parameters) == []
    assert asked == [None]
    rows = clean_rows(5)
    rows[1]["complexity_band"] = "hard"
    rows[3]["postcode_district"] = "NF1 2AB"
    asked.clear()
    found = quality._validate(text, _checked(contract, rows, ReturnContext()), parameters)
    names = [e["meta"]["finding"] for e in suite_json(contract.framework)["expectations"]]
    assert asked == [None, (names.index("BAND_UNKNOWN"), names.index("POSTCODE_INVALID"))]
    assert [(u.finding, u.rows, u.values) for u in found] == [
        ("BAND_UNKNOWN", [3], ["hard"]),
        ("POSTCODE_INVALID", [5], ["NF1 2AB"]),
    ]
