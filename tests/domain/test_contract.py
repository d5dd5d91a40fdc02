from decimal import Decimal
from pathlib import Path

import pytest

from domain.contract import Contract, parse_contract
from domain.errors import ConfigError
from integrations.workspace import load_contract, parse_yaml
from tests.conftest import EXAMPLE, EXAMPLE_CONTRACT


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_contract(parse_yaml(text, "test.yaml"), source="test.yaml")
    return caught.value.problems


def test_the_example_contract_loads_with_exact_money(contract: Contract) -> None:
    city = contract.partner("city-mind")
    assert city is not None and city.annual_core_pence == 31000050
    assert contract.payments.collar == Decimal("0.8")
    assert contract.framework.target_points() == Decimal(3 * 40 + 2 * 25 + 90)


def test_each_problem_names_its_key_path() -> None:
    text = EXAMPLE.read_text().replace("annual_core: 48000", "annual_core: -5").replace("due_day: 14", "due_day: 40")
    problems = problems_of(text)
    assert "partners[0].annual_core: must be > 0" in problems
    assert "deadlines.due_day: must be <= 28" in problems
    assert len(problems) == 2


def test_money_with_fractions_of_a_penny_is_refused() -> None:
    problems = problems_of(EXAMPLE.read_text().replace("annual_core: 48000", "annual_core: 48000.001"))
    assert problems == ["partners[0].annual_core: must have at most 2 decimal places"]


def test_unknown_keys_and_missing_sections_are_reported() -> None:
    text = EXAMPLE.read_text().replace("deadlines:", "deadlinez:")
    problems = problems_of(text)
    assert "deadlines: is required" in problems
    assert "deadlinez: is not a known key" in problems


def test_duplicate_partner_ids_are_refused() -> None:
    text = EXAMPLE.read_text().replace("id: city-mind", "id: harbour-trust")
    assert any("repeated: harbour-trust" in p for p in problems_of(text))


def test_measure_ids_and_band_names_longer_than_the_records_hold_are_refused() -> None:
    long = "into_work_" + "x" * 60
    text = EXAMPLE.read_text().replace("id: into_work,", f"id: {long},").replace("very_complex: 2.0", f"{long}: 2.0")
    problems = problems_of(text)
    assert "framework.measures[1].id: must have at most 64 characters" in problems
    assert any(p.startswith("framework.bands: band name into_work_xxxx") and "at most 64" in p for p in problems)


def test_collar_above_cap_is_refused() -> None:
    text = EXAMPLE.read_text().replace("collar: 0.8", "collar: 1.5")
    assert any("collar must not be greater than cap" in p for p in problems_of(text))


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "alliance.yaml"
    path.write_text("alliance: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_contract(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--workspace"):
        load_contract(tmp_path / "alliance.yaml")


def test_fingerprint_changes_with_the_contract(contract: Contract) -> None:
    other = parse_contract(parse_yaml(EXAMPLE.read_text().replace("cap: 1.2", "cap: 1.3"), "x"))
    assert contract.fingerprint() != other.fingerprint()


def test_report_grades_and_spot_check_sizes_are_checked_with_their_key_paths() -> None:
    text = EXAMPLE.read_text() + (
        "report: {suppress_below: 0, figures: {partner_payments: officers, spot_checks: secret}}\n"
        "spot_checks: {sample_size: 5, max_sample: 2}\n"
    )
    problems = problems_of(text)
    assert "report.suppress_below: must be >= 1" in problems
    assert any(p.startswith("report.figures.spot_checks: must be one of") for p in problems)
    assert "spot_checks: max_sample must not be less than sample_size" in problems
    unknown = problems_of(EXAMPLE.read_text() + "report: {figures: {league_table: public}}\n")
    assert unknown == [
        "report.figures.league_table: is not a figure of the report (figures: "
        "alliance_outcomes, alliance_factor, partner_volumes, partner_outcomes, partner_performance, "
        "partner_payments, returns_on_time, review_decisions, spot_checks, gaming_monitors)"
    ]


def test_what_is_published_and_how_much_is_checked_make_no_new_payment_run(contract: Contract) -> None:
    text = EXAMPLE.read_text() + "report: {suppress_below: 10, figures: {spot_checks: public}}\n"
    text += "spot_checks: {sample_size: 6, max_sample: 20}\n"
    changed = parse_contract(parse_yaml(text, "test.yaml"))
    assert changed.report.suppress_below == 10 and changed.spot_checks.sample_size == 6
    assert changed.fingerprint() == contract.fingerprint() == "01ac2b6f0341b80c"  # as before these sections existed


def test_runs_wait_for_an_officer_unless_the_contract_says_otherwise() -> None:
    example = load_contract(EXAMPLE_CONTRACT)
    assert example.payments.require_officer_approval
    silent = EXAMPLE_CONTRACT.read_text().replace("require_officer_approval: true,", "")
    assert "require_officer_approval" not in silent
    payments = parse_contract(parse_yaml(silent, "test.yaml"), source="test.yaml").payments
    assert payments.require_officer_approval
    assert (payments.recovery_max_share, payments.notify_change_pence) == (Decimal("0.25"), 100)


def test_a_recovery_share_outside_nothing_to_everything_is_refused() -> None:
    for share in ("0", "1.5"):
        problems = problems_of(EXAMPLE.read_text().replace("recovery_max_share: 0.25", f"recovery_max_share: {share}"))
        assert any("recovery_max_share" in p for p in problems)


def test_approval_by_default_and_recovery_settings_leave_the_fingerprint_of_a_paid_month_alone() -> None:
    said_no = parse_contract(parse_yaml(EXAMPLE.read_text(), "test.yaml"))
    assert not said_no.payments.require_officer_approval
    silent = parse_contract(
        parse_yaml(EXAMPLE.read_text().replace("require_officer_approval: false,", ""), "test.yaml")
    )
    assert silent.payments.require_officer_approval  # silence now means approval ...
    assert silent.fingerprint() == said_no.fingerprint()  # ... yet the months paid when it meant none stay paid
    other = EXAMPLE.read_text().replace("recovery_max_share: 0.25", "recovery_max_share: 0.1")
    other = other.replace("notify_change_pence: 100", "notify_change_pence: 500")
    assert parse_contract(parse_yaml(other, "test.yaml")).fingerprint() == said_no.fingerprint()
