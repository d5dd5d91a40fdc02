import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.publication import (
    FIGURES,
    WITHHELD,
    Grade,
    Shown,
    grid,
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
        if any(v < 5 for v in values) and any(v >= 5 for v in values):
            assert any(p.text == WITHHELD for p in parts.values()), values
    everything_small, total = show_with_total({"a": 1, "b": 4, "c": 2}, 7, 5)
    assert total.value == 7 and all(p.text == "<5" for p in everything_small.values())


def test_the_alliance_total_is_published_exactly_and_the_partner_cells_take_the_protection() -> None:
    """Where keeping every small partner cell from being worked out needs every partner cell, every partner
    cell is hidden; the alliance's total, a headline figure, is never withheld."""
    parts, total = show_with_total({"a": 3, "b": 5, "c": 5}, 13, 5)
    assert total.value == 13 and [parts[k].text for k in "abc"] == ["<5", WITHHELD, WITHHELD]
    parts, total = show_with_total({"a": 2, "b": 40}, 42, 5)
    assert total.value == 42 and [parts[k].text for k in "ab"] == ["<5", WITHHELD]
    for values in itertools.product(range(12), repeat=3):
        _, total = show_with_total(dict(zip("abc", values, strict=True)), sum(values), 5)
        assert total.value == sum(values) if sum(values) >= 5 else total.text == "<5"


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
    at least 5 and at most the smallest part shown. Trying every set of values that fits, each small part must be
    able to take two of them (the true one included), unless it sat at an edge of its range (0 or 4): with the
    total always shown, (0, 0, 5) can only be 0, 0 and 5."""
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
        if parts[key].text.startswith("<") and counts[key] not in (0, threshold - 1):
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
    """The residue, measured: over every table of three parts 0-12 (1,685 with a small part), a reader who replays
    the rule can pin a small part only at an edge of its range: at 0 in 6 tables, at 4 in one (4, 4, 4: the total
    12, always shown, over three parts all under 5); never at 1 to 3."""
    pinned = {
        values: {next(iter(v)) for v in replayed(values).values() if len(v) == 1}
        for values in itertools.product(range(13), repeat=3)
    }
    pinned = {values: at for values, at in pinned.items() if at}
    assert set().union(*pinned.values()) <= {0, 4}, pinned
    assert len(pinned) == 7 and sum(1 for at in pinned.values() if 4 in at) == 1, pinned
    assert replayed((1, 3, 9, 20)) == {0: set(range(5)), 1: set(range(5))}


def published_reports(values: list[dict[str, int]], threshold: int = 5) -> tuple[Any, ...]:
    """Everything the reports of a year publish of one count: each month's report (its partner cells and the
    alliance's total) and the year-to-date report rebuilt after each month (every month's total to date, each
    partner's year to date and the alliance's)."""

    def seen(cells: Mapping[str, Shown]) -> tuple[tuple[str, int | str], ...]:
        return tuple(sorted((k, v.json()) for k, v in cells.items()))

    reports: list[Any] = []
    for k in range(1, len(values) + 1):
        g = grid(dict(enumerate(values[:k])), threshold)
        reports.append((seen(g.months[k - 1]), g.month_totals[k - 1].json()))
        reports.append((tuple(t.json() for t in g.month_totals.values()), seen(g.year), g.year_total.json()))
    return tuple(reports)


def month_candidates(month: dict[str, int], threshold: int) -> list[dict[str, int]]:
    """The months a reader who knows the rule cannot tell from ``month`` by its own report: the hidden cells filled
    with every value their marks allow that adds up to the total (under the threshold, when that is hidden)."""
    parts, total = show_with_total(month, sum(month.values()), threshold)
    hidden = [k for k, v in parts.items() if v.hidden]
    left = total.value - sum(v.value or 0 for v in parts.values()) if total.value is not None else threshold - 1
    ranges = [range(threshold) if parts[k].text == f"<{threshold}" else range(threshold, left + 1) for k in hidden]
    found = []
    for guess in itertools.product(*ranges):
        if sum(guess) != left and total.value is not None or sum(guess) > left:
            continue
        candidate = month | dict(zip(hidden, guess, strict=True))
        if show_with_total(candidate, sum(candidate.values()), threshold) == (parts, total):
            found.append(candidate)
    return found


def learnt_across_reports(values: list[dict[str, int]], threshold: int = 5) -> dict[tuple[int, str], set[int]]:
    """Each small partner cell (month, partner) shown as <5: the values it takes in every year of months that would
    have published every report exactly as ``values`` did."""
    target = published_reports(values, threshold)
    learnt: dict[tuple[int, str], set[int]] = {
        (m, k): set() for m, month in enumerate(values) for k, v in month.items() if v < threshold
    }
    for months in itertools.product(*(month_candidates(month, threshold) for month in values)):
        if published_reports(list(months), threshold) == target:
            for m, k in learnt:
                learnt[m, k].add(months[m][k])
    return learnt


def test_a_partners_year_to_date_says_nothing_its_months_did_not() -> None:
    """Partner a had 3 then 1 (each <5, with b withheld beside it); each month's report alone leaves a at 3 or 4,
    then 1 or 2. Its year to date, 4, shown as <5, would have told a reader the two add up to under 5: 3 and 1,
    both pinned. It is withheld (*) like any year over a hidden month, and the reader is left where the months
    left them."""
    values = [{"a": 3, "b": 6, "c": 6, "d": 20}, {"a": 1, "b": 6, "c": 6, "d": 20}]
    year = grid(dict(enumerate(values)), 5)
    assert year.year["a"].text == WITHHELD and year.year_total.value == 68 and year.year["d"].value == 40
    assert learnt_across_reports(values) == {(0, "a"): {3, 4}, (1, "a"): {1, 2}}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"a": st.integers(0, 6), "b": st.integers(0, 9), "c": st.integers(3, 12)})
        | st.fixed_dictionaries({"a": st.integers(0, 6), "b": st.integers(0, 12)}),
        min_size=1,
        max_size=3,
    )
)
def test_every_report_of_a_year_together_pins_no_small_partner_cell_between_its_edges(
    values: list[dict[str, int]],
) -> None:
    """The rule-aware reader across every report: the alliance's totals exact every month and year to date, each
    month's partner cells, and each year-to-date report's partner cells, rebuilt month after month. Trying every
    year of months that would have published all of them alike, a partner's small cell is never pinned at 1 to 3
    (at 0 or 4 it can be, as in one table on its own); every alliance-wide total is a number."""
    for m, cells in learnt_across_reports(values).items():
        value = values[m[0]][m[1]]
        assert value in cells
        assert len(cells) >= 2 or value in (0, 4), (values, m, cells)
    g = grid(dict(enumerate(values)), 5)
    for total, month in zip(g.month_totals.values(), values, strict=True):
        assert total.value == sum(month.values()) or (total.text == "<5" and sum(month.values()) < 5)
    assert g.year_total.value == sum(map(sum, (m.values() for m in values))) or any(
        t.hidden for t in g.month_totals.values()
    )


def _solutions(cells: Mapping[str, Any], total: int, upper: Mapping[str, int]) -> list[dict[str, int]]:
    """Every value of a table's hidden cells a reader finds consistent with what is shown and the rule's bounds
    (``<5``: 0 to 4, ``*``: 5 or more), each cell at most ``upper`` (what another table tells of it)."""
    shown = {k: c.value for k, c in cells.items() if not c.hidden}
    hidden = [k for k, c in cells.items() if c.hidden]
    ranges = [
        range(0, min(4, upper[k]) + 1) if cells[k].text.startswith("<") else range(5, min(total, upper[k]) + 1)
        for k in hidden
    ]
    left = total - sum(shown.values())
    return [
        {**shown, **dict(zip(hidden, values, strict=True))}
        for values in itertools.product(*ranges)
        if sum(values) == left
    ]


@pytest.mark.parametrize(
    ("participants", "achieved"),
    [
        ({"A": 10, "B": 5, "C": 30}, {"A": 2, "B": 5, "C": 20}),  # the reviewer's: B withheld at 5 is all its people
        (  # a month a solver found: participants pin p0's outcome, which pins its participants
            {"p0": 2, "p1": 54, "p2": 13, "p3": 12, "p4": 5, "p5": 26},
            {"p0": 2, "p1": 33, "p2": 8, "p3": 8, "p4": 4, "p5": 20},
        ),
    ],
)
def test_an_outcome_count_no_larger_than_its_participants_pins_no_small_cell_across_the_two_tables(
    participants: dict[str, int], achieved: dict[str, int]
) -> None:
    from domain.publication import count_grids

    volumes, outcomes = count_grids({"m": participants}, {"m": {"housing": achieved}}, 5)
    people, housing = volumes.months["m"], outcomes["housing"].months["m"]
    people_total, housing_total = sum(participants.values()), sum(achieved.values())
    readings = [
        (p, h)
        for p in _solutions(people, people_total, dict.fromkeys(participants, people_total))
        for h in _solutions(housing, housing_total, p)  # an outcome count is at most the partner's participants
        if all(h[k] <= p[k] for k in p)
    ]
    assert (participants, achieved) in readings
    for table, cells in (("participants", people), ("housing", housing)):
        for pid, cell in cells.items():
            if cell.hidden and cell.text.startswith("<"):
                seen = {(p if table == "participants" else h)[pid] for p, h in readings}
                assert len(seen) > 1 or seen <= {0, 4}, (table, pid, seen)
