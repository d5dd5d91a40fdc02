"""The Participants sheet against the shared-outcome schema (pandera, built from the framework).

Values are first normalised where the reading is unambiguous (Yes/Y/TRUE, day-first text
dates, numbers stored as text for ids); anything else is left as it was so the schema
reports it with its cell. pandera runs lazily and strictly, never coercing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from domain import return_layout as layout
from domain.contract import OPTIONAL_FIELDS, Framework
from domain.findings import Finding, has_errors
from domain.periods import Period
from domain.plausibility import against_history
from domain.returns import MonthFigures, ParticipantRows, RawReturn, ReturnContext
from expectations import quality

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})[\s-]([A-Za-z]{3,9})[\s,-]*(\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


class AmbiguousDate(str):
    """Date text that could be read more than one way (e.g. a two-digit year); never guessed."""


def normalise_yes_no(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
    return value


def _date_from_text(text: str) -> Any:
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return _date_or_text(year, month, day, text)
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return _date_or_text(year, month, day, text)
    match = _DAY_MONTH_NAME.match(text)
    if match and match.group(2).lower() in _MONTHS:
        return _date_or_text(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)), text)
    if _TWO_DIGIT_YEAR.match(text):
        return AmbiguousDate(text)
    return text


def _date_or_text(year: int, month: int, day: int, text: str) -> Any:
    try:
        return date(year, month, day)
    except ValueError:
        return text


def normalise_date(value: Any) -> Any:
    """Dates, date-times (the day is not in doubt) and unambiguous date text become dates."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return _date_from_text(value.strip())
    return value


def normalise_id(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


_BAND_SEPARATORS = re.compile(r"[\s-]+")


def normalise_band(value: Any, bands: set[str]) -> Any:
    if isinstance(value, str):
        key = _BAND_SEPARATORS.sub("_", value.strip().lower())
        if key in bands:
            return key
    return value


def normalise_postcode(value: Any) -> Any:
    """Postcode districts as upper-case text; a number typed there is text too (and no district)."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().upper()


def _element(predicate: Callable[[Any], bool], name: str) -> pa.Check:
    return pa.Check(predicate, element_wise=True, name=name, error=name)


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def build_schema(framework: Framework) -> pa.DataFrameSchema:
    """Structure: every column there, each cell of the right type. Values are the suite's business."""
    columns: dict[str, pa.Column] = {
        "participant_id": pa.Column(
            object,
            nullable=False,
            checks=[
                _element(lambda v: isinstance(v, str), "VALUE_REQUIRED"),
                _element(lambda v: not isinstance(v, str) or len(v) <= _ID_LIMIT, "VALUE_TOO_LONG"),
            ],
        ),
        "referral_date": pa.Column(
            object,
            nullable=False,
            checks=[
                _element(lambda v: not isinstance(v, AmbiguousDate), "DATE_AMBIGUOUS"),
                _element(lambda v: isinstance(v, AmbiguousDate) or _is_date(v), "DATE_INVALID"),
            ],
        ),
        "complexity_band": pa.Column(object, nullable=False),
    }
    for measure in framework.measures:
        columns[measure.id] = pa.Column(
            object, nullable=False, checks=_element(lambda v: isinstance(v, bool), "YESNO_INVALID")
        )
    for optional in OPTIONAL_FIELDS:
        columns[optional] = pa.Column(object, nullable=True, required=False)
    return pa.DataFrameSchema(columns, strict=True, name=layout.PARTICIPANTS)


def to_frame(raw: RawReturn, framework: Framework) -> pd.DataFrame:
    wanted = [c for c in framework.columns if c in raw.columns]
    bands = set(framework.bands)
    measures = set(framework.measure_ids)

    def normaliser(column: str) -> Callable[[Any], Any]:
        if column == "participant_id":
            return normalise_id
        if column == "referral_date":
            return normalise_date
        if column == "complexity_band":
            return lambda value: normalise_band(value, bands)
        if column in measures:
            return normalise_yes_no
        if column == "postcode_district":
            return normalise_postcode
        return lambda value: None if value is None else str(value)

    data = {column: _normalised(raw.table.column(column), normaliser(column)) for column in wanted}
    index = pd.Index(raw.table.numbers, name=quality.ROW_INDEX)
    # object dtype throughout: pandas' own string and datetime inference would coerce silently.
    return pd.DataFrame(
        {c: pd.Series(data[c], index=index, dtype=object) for c in wanted}, columns=wanted, index=index, dtype=object
    )


def _normalised(values: list[Any], normalise: Callable[[Any], Any]) -> list[Any]:
    """``normalise`` of each value. A column repeats a handful of values thousands of times (Yes, No, a band, a
    date): each distinct one is normalised once, keyed by type too (True == 1 and 1 == 1.0 are one dict key). A
    float is normalised each time: 0.0 == -0.0, one key, yet they show differently."""
    kinds = list(map(type, values))
    keys = list(zip(kinds, values, strict=True))
    try:
        once = {key: normalise(key[1]) for key in dict.fromkeys(keys) if key[0] is not float}
    except TypeError:  # unhashable: never from a sheet, but normalised all the same
        return list(map(normalise, values))
    if float not in set(kinds):
        return list(map(once.__getitem__, keys))
    return [normalise(value) if kind is float else once[kind, value] for kind, value in keys]


def quality_frame(frame: pd.DataFrame, framework: Framework, context: ReturnContext) -> pd.DataFrame:
    """The frame the suite sees: cells of the wrong type blanked (structure reported them), claims added.

    Referral dates are ``datetime64[ns]`` (Great Expectations compares those as whole columns; any other unit it
    compares value by value), a date outside that type's range (1677 to 2262) held at its edge, which is as far
    outside the suite's bounds; findings show the date as read (``quality.REFERRAL_AS_READ``)."""
    index = frame.index
    blank = [None] * len(frame)

    def column(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else blank

    def objects(values: list[Any]) -> pd.Series:
        return pd.Series(values, index=index, dtype=object)

    ids = [v if v.__class__ is str else None for v in column("participant_id")]
    dates = [v if _is_date(v) else None for v in column("referral_date")]
    days = _days(dates)
    days = np.where(days < _EARLIEST_NS, _EARLIEST_NS, np.where(days > _LATEST_NS, _LATEST_NS, days))
    data: dict[str, Any] = {
        "participant_id": objects(ids),
        "referral_date": pd.Series(days.astype("datetime64[ns]"), index=index),
        quality.REFERRAL_AS_READ: objects(dates),
        "complexity_band": objects([None if v is None else str(v) for v in column("complexity_band")]),
        "postcode_district": objects([v if isinstance(v, str) else None for v in column("postcode_district")]),
        quality.CLAIMED_ELSEWHERE: objects(["yes" if pid in context.claimed_elsewhere else None for pid in ids]),
    }
    before = context.claimed_in_other_months
    claims = [before.get(pid, _NONE) if pid else _NONE for pid in ids] if before else None
    for measure in framework.measure_ids:
        # An outcome claimed in another month is a finding only where this return claims it again.
        achieved = [v is True for v in column(measure)]
        claimed = [c.get(measure) if now else None for c, now in zip(claims, achieved, strict=True)] if claims else None
        data[quality.claimed_in_column(measure)] = objects(claimed or blank)
    return pd.DataFrame(data, index=index)


def _days(dates: list[date | None]) -> np.ndarray:
    """Each date as ``datetime64[D]``, None as NaT. numpy converts date objects one by one through Python; a return's
    dates repeat (a few hundred distinct days), so each distinct one is converted once (5,000 dates: 11.6 ms, now
    0.8 ms)."""
    days: dict[date | None, int] = {d: d.toordinal() - _UNIX_DAY_ONE for d in set(dates) if d is not None}
    days[None] = _NAT
    whole = np.fromiter(map(days.__getitem__, dates), dtype=np.int64, count=len(dates))
    return whole.view("datetime64[D]")


_UNIX_DAY_ONE = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min  # numpy's NaT, as a datetime64's integer
_NONE: dict[str, Any] = {}
# The range of datetime64[ns], in whole days inside it.
_EARLIEST_NS = np.datetime64("1677-09-22", "D")
_LATEST_NS = np.datetime64("2262-04-11", "D")


_CHECK_CODES = {"not_nullable": "VALUE_REQUIRED"}
_ID_LIMIT = layout.TEXT_LIMITS["participant_id"]


@dataclass
class ParticipantsChecking:
    """A Participants sheet checked up to the suite: what it found so far and the frame the suite is to see
    (``suite`` None: nothing for the suite, no rows). Returns checked together hand their frames in at once."""

    raw: RawReturn
    framework: Framework
    context: ReturnContext
    findings: list[Finding]
    frame: pd.DataFrame | None = None
    suite: quality.SuiteRequest | None = None
    common: dict[str, Any] = field(default_factory=dict)


def start_participants(
    raw: RawReturn,
    framework: Framework,
    period: Period,
    *,
    contract_start: Period,
    context: ReturnContext | None = None,
) -> ParticipantsChecking:
    """Every check before the suite: extra columns, no rows, structure (pandera); then the suite's frame."""
    context = context or ReturnContext()
    findings: list[Finding] = []
    for extra in raw.columns:
        if extra not in framework.columns:
            findings.append(
                Finding(
                    "COLUMN_EXTRA",
                    sheet=layout.PARTICIPANTS,
                    cell=f"{raw.columns[extra]}1",
                    row=1,
                    column=extra,
                    value=raw.labels.get(extra, extra),
                )
            )
    if not raw.table:
        findings.append(Finding("NO_ROWS", sheet=layout.PARTICIPANTS))
        missing = [c for c in framework.columns if c not in raw.columns and c not in OPTIONAL_FIELDS]
        findings += [_missing_column(c) for c in missing]
        return ParticipantsChecking(raw, framework, context, findings)
    frame = to_frame(raw, framework)
    try:
        build_schema(framework).validate(frame, lazy=True)
    except SchemaErrors as errors:
        findings += _from_failure_cases(errors.failure_cases, raw)
    parameters = {
        "period_end": pd.Timestamp(period.last_day),
        "earliest_referral": pd.Timestamp(quality.earliest_referral(contract_start)),
    }
    checked = quality_frame(frame, framework, context)
    common = {
        "period": str(period),
        "allowed": ", ".join(framework.bands),
        "earliest": quality.earliest_referral(contract_start).strftime("%d/%m/%Y"),
    }
    suite = quality.SuiteRequest(quality.suite_text(framework), checked, parameters)
    return ParticipantsChecking(raw, framework, context, findings, frame, suite, common)


def finish_participants(
    checking: ParticipantsChecking, unexpected: list[quality.Unexpected]
) -> tuple[ParticipantRows, list[Finding]]:
    """The suite's unexpected cells as findings, then plausibility; the rows, if nothing is an error."""
    findings = list(checking.findings)
    if checking.frame is None or checking.suite is None:
        return ParticipantRows(), findings
    raw, framework, frame = checking.raw, checking.framework, checking.frame
    findings += quality.as_findings(unexpected, checking.suite.frame, raw.columns, checking.common)
    findings += _plausibility(frame, framework, checking.context, raw.columns)
    if has_errors(findings):
        return ParticipantRows(), findings
    return _participant_rows(frame, framework), findings


def _participant_rows(frame: pd.DataFrame, framework: Framework) -> ParticipantRows:
    """The accepted rows, column by column: no object per row (5,000 of them cost more than the checks before)."""
    measures = framework.measure_ids
    count = len(frame)
    flags = [[v is True for v in frame[m].tolist()] for m in measures]
    keys = list(zip(*flags, strict=True)) if flags else [()] * count
    # A handful of combinations of measures achieved, each set built once and shared by its rows.
    sets = {key: frozenset(m for m, yes in zip(measures, key, strict=True) if yes) for key in set(keys)}
    return ParticipantRows(
        participant_ids=frame["participant_id"].tolist(),
        referral_dates=frame["referral_date"].tolist(),
        complexity_bands=frame["complexity_band"].tolist(),
        achieved=list(map(sets.__getitem__, keys)),
        postcode_districts=frame["postcode_district"].tolist()
        if "postcode_district" in frame.columns
        else [None] * count,
        sheet_rows=[int(row) for row in frame.index.tolist()],
    )


def _plausibility(
    frame: pd.DataFrame, framework: Framework, context: ReturnContext, letters: dict[str, str]
) -> list[Finding]:
    achieved = {m: sum(1 for v in frame[m] if v is True) for m in framework.measure_ids if m in frame.columns}
    month = MonthFigures(period="", rows=len(frame), achieved=achieved)
    findings = []
    for unusual in against_history(month, context.history):
        letter = letters.get(unusual.column or "")
        findings.append(
            Finding(
                unusual.code,
                sheet=layout.PARTICIPANTS,
                cell=f"{letter}1" if letter else None,
                row=1 if letter else None,
                column=unusual.column,
                value=unusual.value,
                params=unusual.params,
            )
        )
    return findings


def _missing_column(column: str) -> Finding:
    return Finding("COLUMN_MISSING", sheet=layout.PARTICIPANTS, column=column, params={"column": column})


def _from_failure_cases(cases: pd.DataFrame, raw: RawReturn) -> list[Finding]:
    findings = []
    for case in cases.to_dict("records"):
        check = str(case["check"])
        if check == "column_in_dataframe":
            findings.append(_missing_column(str(case["failure_case"])))
            continue
        code = _CHECK_CODES.get(check, check)
        column = str(case["column"])
        row = int(case["index"]) if case["index"] is not None and not pd.isna(case["index"]) else None
        letter = raw.columns.get(column)
        value = None if code == "VALUE_REQUIRED" else quality.display(case["failure_case"])
        findings.append(
            Finding(
                code,
                sheet=layout.PARTICIPANTS,
                cell=f"{letter}{row}" if letter and row else None,
                row=row,
                column=column,
                value=value,
                params=_too_long(column, case["failure_case"]) if code == "VALUE_TOO_LONG" else {"column": column},
            )
        )
    return findings


def _too_long(column: str, value: Any) -> dict[str, Any]:
    return {"column": column, "detail": len(str(value)), "expected": layout.TEXT_LIMITS[column]}
