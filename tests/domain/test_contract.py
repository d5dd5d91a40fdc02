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


# Issue 31, case 5: what YAML 1.1 would read silently must be refused, naming the key.
def test_a_key_given_twice_is_refused_naming_the_key_and_its_line() -> None:
    text = EXAMPLE.read_text().replace("annual_core: 48000,", "annual_core: 48000, annual_core: 4800000,")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "4800000" in row)
    with pytest.raises(ConfigError, match=rf"at line {line}, .*'annual_core' is given twice \(first at line {line}\)"):
        parse_yaml(text, "test.yaml")


def test_a_section_given_twice_is_refused_even_on_other_lines() -> None:
    text = EXAMPLE.read_text() + "deadlines: {due_day: 28}\n"
    with pytest.raises(ConfigError, match=r"'deadlines' is given twice \(first at line \d+\)"):
        parse_yaml(text, "test.yaml")


@pytest.mark.parametrize("written", ["1:30", "0x1F", "0b11", "1:30.5"])
def test_a_number_yaml_1_1_reads_in_another_base_is_not_a_number_of_pounds(written: str) -> None:
    problems = problems_of(EXAMPLE.read_text().replace("annual_core: 48000,", f"annual_core: {written},"))
    assert problems == ["partners[0].annual_core: must be a number written in digits (e.g. 48000 or 310000.50)"]


def test_a_leading_zero_is_a_decimal_number_not_octal() -> None:
    text = EXAMPLE.read_text().replace("due_day: 14", "due_day: 010")
    assert parse_contract(parse_yaml(text, "test.yaml")).deadlines.due_day == 10


@pytest.mark.parametrize("start", ["２０２６-04", "2026-０４"])
def test_a_contract_start_in_full_width_digits_is_refused_at_its_key(start: str) -> None:
    problems = problems_of(EXAMPLE.read_text().replace("contract_start: 2026-04", f"contract_start: {start}"))
    assert problems == [f"alliance.contract_start: period {start!r} is not a month written YYYY-MM (e.g. 2026-10)"]


# Issue 31, case 10: amounts the records and the money context cannot hold are refused when the contract is read.
@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("annual_core: 48000,", "annual_core: 1.0e+20,", "partners[0].annual_core: must be <= 1000000000000"),
        ("annual_outcome_pool: 600000", "annual_outcome_pool: 1e13", "payments.annual_outcome_pool: must be <="),
        ("weight: 3,", "weight: 1.0e+40,", "framework.measures[0].weight: must be <= 1000000"),
        ("monthly_target: 40}", "monthly_target: 1e30}", "framework.measures[0].monthly_target: must be <= 1000000"),
        ("complex: 1.5,", "complex: 1e40,", "framework.bands.complex: must be <= 1000000"),
        ("cap: 1.2,", "cap: 1e30,", "payments.cap: must be <= 100"),
        ("right_of_reply_days: 14,", "right_of_reply_days: 100000000000,", "review.right_of_reply_days: must be <="),
    ],
)
def test_amounts_beyond_what_the_records_hold_are_refused_naming_the_field(old: str, new: str, problem: str) -> None:
    text = EXAMPLE.read_text()
    assert old in text
    [found] = problems_of(text.replace(old, new))
    assert found.startswith(problem)


def test_the_reviews_rule_is_checked_by_name_and_leaves_the_payment_fingerprint_alone(contract: Contract) -> None:
    text = EXAMPLE.read_text()
    assert "persistence: true, first_year: both_halves, rank_by: z" in text  # the defaults, stated
    bad = text.replace("first_year: both_halves", "first_year: halves").replace("rank_by: z", "rank_by: oe")
    problems = problems_of(bad)
    assert "review.first_year: must be one of 'both_halves' or 'limit_998'" in problems
    assert "review.rank_by: must be one of 'z' or 'ratio'" in problems
    other = text.replace("persistence: true, first_year: both_halves, rank_by: z", "persistence: false, rank_by: ratio")
    changed = parse_contract(parse_yaml(other, "test.yaml"))
    assert not changed.review.persistence and changed.review.rank_by == "ratio"
    assert changed.fingerprint() == contract.fingerprint() == "01ac2b6f0341b80c"
