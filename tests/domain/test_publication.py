import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.publication import (
    FIGURES,
    WITHHELD,
    Grade,
    Shown,
    show_count,
    show_with_total,
    show_year_total,
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


def test_a_small_part_beside_a_total_always_takes_one_with_it_needed_or_not() -> None:
    """A * that appeared only when the small parts would otherwise be pinned down (all 0, all 4) would tell a
    reader who knows the rule just that: rows alike but for their small parts' values publish alike."""
    needed, _ = show_with_total({"a": 0, "b": 0, "c": 10, "d": 20}, 30, 5)
    not_needed, _ = show_with_total({"a": 1, "b": 3, "c": 9, "d": 20}, 33, 5)
    assert [needed[k].text for k in "abcd"] == [not_needed[k].text for k in "abcd"] == ["<5", "<5", WITHHELD, "20"]
    for values in itertools.product(range(10), repeat=3):
        parts, total = show_with_total(dict(zip("abc", values, strict=True)), sum(values), 5)
        if any(v < 5 for v in values) and not total.hidden:
            assert any(p.text == WITHHELD for p in parts.values()), values
    everything_small, total = show_with_total({"a": 1, "b": 4, "c": 2}, 7, 5)
    assert total.text == WITHHELD and all(p.text == "<5" for p in everything_small.values())


def test_parts_add_up_to_the_total_or_are_refused() -> None:
    with pytest.raises(ValueError):
        show_with_total({"a": 3}, 4, 5)


def compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 0:
        return [()] if total == 0 else []
    return [(first, *rest) for first in range(total + 1) for rest in compositions(total - first, parts - 1)]


@settings(max_examples=300, deadline=None)  # a brute force over every table the reader could be looking at
@given(
    st.dictionaries(st.sampled_from("abcd"), st.integers(0, 9), min_size=1, max_size=4),
    st.integers(2, 6),
)
def test_no_hidden_part_can_be_pinned_down_from_the_table_and_the_rules_bounds(
    counts: dict[str, int], threshold: int
) -> None:
    """A reader knows the total, the parts shown and the rule: a part shown as <5 is 0 to 4, a withheld one (*) is
    at least 5 and at most the smallest part shown. Trying every set of values that fits, each hidden part must
    be able to take two of them (the true one included)."""
    parts, total = show_with_total(counts, sum(counts.values()), threshold)
    for key, shown in parts.items():
        assert shown.value is None or (shown.value >= threshold and shown.value == counts[key])
        if counts[key] < threshold:
            assert shown.text == f"<{threshold}"
    hidden = [k for k, v in parts.items() if v.hidden]
    if total.value is None or not hidden:
        return
    shown_values = [v.value for v in parts.values() if v.value is not None]
    remaining = total.value - sum(shown_values)
    cap = min(shown_values, default=remaining)
    seen: dict[str, set[int]] = {k: set() for k in hidden}
    for values in compositions(remaining, len(hidden)):
        fits = all(
            v < threshold if parts[k].text.startswith("<") else threshold <= v <= cap
            for k, v in zip(hidden, values, strict=True)
        )
        if fits:
            for k, v in zip(hidden, values, strict=True):
                seen[k].add(v)
    for key in hidden:
        assert counts[key] in seen[key]
        assert len(seen[key]) >= 2, (counts, parts, total, key, seen[key])


def test_the_part_withheld_to_protect_another_is_not_given_away_by_being_the_smallest() -> None:
    # Withholding only b (5) would leave b <= c = 5 and b >= 5: both b and a (3) known. c goes too.
    parts, total = show_with_total({"a": 3, "b": 5, "c": 5}, 13, 5)
    assert [parts[k].text for k in "abc"] == ["<5", WITHHELD, WITHHELD] and total.value == 13


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=1, max_size=5), st.integers(3, 5))
def test_year_to_date_totals_month_by_month_never_give_a_hidden_month_away(months: list[int], threshold: int) -> None:
    """A partner's month is published alone (hidden under the threshold), and its year to date every month. A
    reader who re-runs the rule on every possible set of months that would have been published exactly so
    finds each hidden month two possible values."""

    def published(values: list[int]) -> tuple[list[Shown], list[Shown]]:
        alone = [show_count(v, threshold) for v in values]
        to_date = [show_year_total(alone[:k], sum(values[:k]), threshold) for k in range(1, len(values) + 1)]
        return alone, to_date

    seen_by_reader = published(months)
    hidden = [i for i, s in enumerate(seen_by_reader[0]) if s.hidden]
    possible: dict[int, set[int]] = {i: set() for i in hidden}
    for values in itertools.product(range(threshold), repeat=len(hidden)):
        candidate = list(months)
        for i, v in zip(hidden, values, strict=True):
            candidate[i] = v
        if published(candidate) == seen_by_reader:
            for i, v in zip(hidden, values, strict=True):
                possible[i].add(v)
    for i in hidden:
        assert months[i] in possible[i] and len(possible[i]) >= 2, (months, seen_by_reader, i, possible[i])


def test_a_year_total_over_a_hidden_month_is_withheld() -> None:
    months = [Shown(30, "30"), Shown(None, "<5"), Shown(25, "25")]
    assert show_year_total(months, 58, 5).text == WITHHELD
    assert show_year_total([Shown(30, "30"), Shown(25, "25")], 55, 5).value == 55
    assert show_year_total([Shown(None, "<5")], 3, 5).text == "<5"


def replayed(counts: tuple[int, ...], threshold: int = 5, cap: int = 20) -> dict[int, set[int]]:
    """What a reader who knows the rule learns of each part shown as small: the values it takes across every
    table that would have been published exactly so (the shown parts as shown, the total if shown)."""
    keys = "abcdefgh"[: len(counts)]

    def published(values: tuple[int, ...]) -> tuple[tuple[int | str, ...], int | str]:
        parts, total = show_with_total(dict(zip(keys, values, strict=True)), sum(values), threshold)
        return tuple(p.json() for p in parts.values()), total.json()

    seen, total = published(counts)
    hidden = [i for i, p in enumerate(seen) if not isinstance(p, int)]
    left = total - sum(p for p in seen if isinstance(p, int)) if isinstance(total, int) else cap
    ranges = [range(threshold) if seen[i] == f"<{threshold}" else range(threshold, left + 1) for i in hidden]
    learnt: dict[int, set[int]] = {i: set() for i in hidden if seen[i] == f"<{threshold}"}
    for guess in itertools.product(*ranges):
        if isinstance(total, int) and sum(guess) != left:
            continue
        values = list(counts)
        for i, v in zip(hidden, guess, strict=True):
            values[i] = v
        if published(tuple(values)) == (seen, total):
            for i in learnt:
                learnt[i].add(values[i])
    return learnt


def test_replaying_the_rule_pins_no_small_part_between_its_edges() -> None:
    """The residue, measured: over every table of three parts 0-12, a reader who replays the rule can pin a
    small part only where the rule's own steps say it sat at 0 (three tables); never at 1 to 3."""
    pinned = [
        (values, i, next(iter(v)))
        for values in itertools.product(range(13), repeat=3)
        for i, v in replayed(values).items()
        if len(v) == 1
    ]
    assert all(value == 0 for _, _, value in pinned) and len(pinned) <= 3, pinned
    assert replayed((1, 3, 9, 20)) == {0: set(range(5)), 1: set(range(5))}
