"""The Participants sheet's columns as the checks see them: read column by column, as they were row by row."""

from datetime import date, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from domain.returns import RawRow, RawTable
from expectations.participants import _days, _normalised, normalise_id, normalise_yes_no


@given(st.lists(st.one_of(st.none(), st.dates())))
def test_dates_become_the_days_numpy_makes_of_them(dates: list[date | None]) -> None:
    ours, numpys = _days(dates), np.array(dates, dtype="datetime64[D]")
    assert ours.dtype == numpys.dtype
    assert ours.tolist() == numpys.tolist()


cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.sampled_from(["Yes", "no", " y ", "1", "0", "TRUE", "P001"]),
    st.dates(),
    st.datetimes(),
)


@given(st.lists(cells))
def test_a_column_normalised_once_per_value_is_each_value_normalised(values: list[object]) -> None:
    for normalise in (normalise_yes_no, normalise_id):
        once = _normalised(values, normalise)
        each = [normalise(v) for v in values]
        # The same values of the same types: True, 1 and 1.0 are equal yet read differently.
        assert [(type(v), v) for v in once] == [(type(v), v) for v in each]
        assert [repr(v) for v in once] == [repr(v) for v in each]  # -0.0 stays -0.0


def test_a_table_turns_back_into_the_rows_it_was_made_of() -> None:
    rows = [
        RawRow(2, {"participant_id": "P1", "into_work": "Yes"}),
        RawRow(4, {"participant_id": "P2", "into_work": None, "referral_date": datetime(2026, 1, 2)}),
    ]
    table = RawTable.of(rows)
    assert table.numbers == [2, 4]
    assert table.column("referral_date") == [None, datetime(2026, 1, 2)]
    assert table.column("absent") == [None, None]
    assert table.records() == [
        RawRow(2, {"participant_id": "P1", "into_work": "Yes", "referral_date": None}),
        RawRow(4, {"participant_id": "P2", "into_work": None, "referral_date": datetime(2026, 1, 2)}),
    ]
