from pathlib import Path

from domain.contract import Contract
from expectations.quality import suite_json, suite_text

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
