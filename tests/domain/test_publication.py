import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.publication import (
    FIGURES,
    WITHHELD,
    Grade,
    Shown,
    show_count,
    show_row_total,
    show_with_total,
    visible_to,
)


def test_each_audience_sees_its_grade_and_those_below() -> None:
    assert visible_to(Grade.public, Grade.public)
    assert visible_to(Grade.public, Grade.officers)
    assert visible_to(Grade.alliance, Grade.officers)
    assert not visible_to(Grade.alliance, Grade.public)
    assert not visible_to(Grade.officers, Grade.alliance)


def test_gaming_monitors_and_spot_checks_are_for_officers_unless_the_contract_says_otherwise() -> None:
    assert FIGURES["gaming_monitors"].grade is Grade.officers
    assert FIGURES["spot_checks"].grade is Grade.officers


def test_a_count_under_the_threshold_is_shown_as_under_it_zero_included() -> None:
    assert show_count(4, 5) == Shown(None, "<5")
    assert show_count(0, 5) == Shown(None, "<5")
    assert show_count(5, 5) == Shown(5, "5")
    assert show_count(2, 10).text == "<10"
    with pytest.raises(ValueError):
        show_count(-1, 5)


def test_one_small_part_beside_a_total_hides_another_so_it_cannot_be_subtracted() -> None:
    parts, total = show_with_total({"a": 3, "b": 40, "c": 12}, 55, 5)
    assert parts["a"].text == "<5" and parts["c"].text == WITHHELD and parts["b"].value == 40
    assert total.value == 55


def test_parts_add_up_to_the_total_or_are_refused() -> None:
    with pytest.raises(ValueError):
        show_with_total({"a": 3}, 4, 5)


def possible_values(
    parts: dict[str, Shown], counts: dict[str, int], total: Shown, threshold: int
) -> dict[str, set[int]]:
    """What a reader could conclude each hidden part to be, by trying every value the rule allows (brute force)."""
    hidden = [k for k, s in parts.items() if s.hidden]
    if total.hidden or not hidden:
        return {}
    remaining = total.value - sum(s.value for s in parts.values() if s.value is not None)  # type: ignore[operator]
    ranges = [range(0, threshold) if parts[k].text.startswith("<") else range(threshold, remaining + 1) for k in hidden]
    seen: dict[str, set[int]] = {k: set() for k in hidden}
    for values in itertools.product(*ranges):
        if sum(values) == remaining:
            for k, v in zip(hidden, values, strict=True):
                seen[k].add(v)
    return seen


@given(
    st.dictionaries(st.sampled_from("abcde"), st.integers(0, 12), min_size=1, max_size=4),
    st.integers(2, 6),
)
def test_no_hidden_part_can_be_worked_out_from_what_is_shown(counts: dict[str, int], threshold: int) -> None:
    parts, total = show_with_total(counts, sum(counts.values()), threshold)
    for key, shown in parts.items():
        assert shown.value is None or shown.value >= threshold
        assert shown.value is None or shown.value == counts[key]
        if counts[key] < threshold:
            assert shown.text == f"<{threshold}"
    assert total.value is None or total.value >= threshold
    for key, values in possible_values(parts, counts, total, threshold).items():
        assert len(values) >= 2, (counts, parts, total, key, values)
        assert counts[key] in values


def test_a_year_total_over_months_with_one_hidden_is_withheld() -> None:
    months = {"2026-04": 30, "2026-05": 3, "2026-06": 25}
    hidden = {"2026-04": False, "2026-05": True, "2026-06": False}
    assert show_row_total(hidden, months, 5).text == WITHHELD
    assert show_row_total(dict.fromkeys(months, False), months, 5).value == 58
    # Two months hidden whose sum leaves either free: the total can be shown.
    assert show_row_total({"2026-04": False, "2026-05": True, "2026-06": True}, {**months, "2026-06": 4}, 5).value == 37
