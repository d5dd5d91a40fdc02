"""Data quality of the Participants rows: a Great Expectations suite generated from the framework.

The suite is plain JSON (``suite_json``); the repository keeps the one for its example
contract in ``expectations/suites/`` and a test checks it against the generator. What
changes month to month (the period's last day, claims already made) is not in the suite:
dates arrive as suite parameters and claims as columns of the frame validated.

Each expectation names, in its ``meta``, the finding it raises and the sheet column its
cells are in, so every unexpected value becomes a finding at its cell.
"""

import json
import os
import threading
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import Any

import pandas as pd

from domain import return_layout as layout
from domain.contract import Framework
from domain.errors import AllianceError
from domain.findings import Finding
from domain.periods import EARLIEST_REFERRAL_YEARS, Period, earliest_referral  # noqa: F401 (used by the checks)

SUITE_NAME = "participants"
ROW_INDEX = "row"  # the frame's index: the sheet's row numbers
CLAIMED_ELSEWHERE = "claimed by another partner"  # spaces: cannot clash with a framework column
REFERRAL_AS_READ = "referral date as read"  # not checked: the date a finding shows
POSTCODE_DISTRICT = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"


def claimed_in_column(measure_id: str) -> str:
    """The column holding, for a row that achieves ``measure_id``, the month it was already claimed in (else null).

    Only achieved outcomes carry their earlier month, so the expectation needs no row condition: a pandas query per
    metric was a fifth of a validation's fixed cost."""
    return f"{measure_id} claimed in"


class SuiteFailed(AllianceError):
    """An expectation could not be evaluated: a defect in the suite, not in the partner's return."""

    exit_code = 3


def _expectation(kind: str, finding: str, cell_column: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"finding": finding, "cell_column": cell_column}}


def suite_json(framework: Framework) -> dict[str, Any]:
    """The suite for ``framework`` as JSON-ready data (stable: no generated ids)."""
    expectations = [
        _expectation("expect_column_values_to_be_unique", "ID_DUPLICATE", "participant_id", column="participant_id"),
        _expectation(
            "expect_column_values_to_be_in_set",
            "BAND_UNKNOWN",
            "complexity_band",
            column="complexity_band",
            value_set=list(framework.bands),
        ),
        _expectation(
            "expect_column_values_to_be_between",
            "DATE_AFTER_PERIOD",
            "referral_date",
            column="referral_date",
            max_value={"$PARAMETER": "period_end"},
        ),
        _expectation(
            "expect_column_values_to_be_between",
            "DATE_TOO_EARLY",
            "referral_date",
            column="referral_date",
            min_value={"$PARAMETER": "earliest_referral"},
        ),
        _expectation(
            "expect_column_values_to_match_regex",
            "POSTCODE_INVALID",
            "postcode_district",
            column="postcode_district",
            regex=POSTCODE_DISTRICT,
        ),
        _expectation("expect_column_values_to_be_null", "DUPLICATE_CLAIM", "participant_id", column=CLAIMED_ELSEWHERE),
    ]
    for measure in framework.measures:
        expectations.append(
            _expectation(
                "expect_column_values_to_be_null",
                "OUTCOME_CLAIMED_BEFORE",
                measure.id,
                column=claimed_in_column(measure.id),
            )
        )
    return {
        "name": SUITE_NAME,
        "meta": {"framework_version": framework.version, "generated_by": "alliance expectations"},
        "expectations": expectations,
    }


def suite_text(framework: Framework) -> str:
    return json.dumps(suite_json(framework), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Unexpected:
    finding: str
    cell_column: str
    column: str
    rows: list[int]
    values: list[Any]


@cache
def _batch_definition() -> Any:
    """One ephemeral GX context per process (creating one costs far more than a validation)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    _no_fingerprints()
    asset = context.data_sources.add_pandas("returns").add_dataframe_asset(SUITE_NAME)
    return asset.add_batch_definition_whole_dataframe("whole return")


def _no_fingerprints() -> None:
    """GX labels each pandas batch with a fingerprint of every cell (pandas' hash of the frame, then md5), three times
    per validation, unless the frame is larger than its ``HASH_THRESHOLD``; the label is metadata no result here reads
    (batches are identified by datasource and asset), and it cost a fifth of a 5,000-row validation and two fifths of
    20 returns validated together (83 against 69 ms; 670 against 410 ms). Every frame is now "larger"."""
    from great_expectations.execution_engine import pandas_execution_engine

    if not hasattr(pandas_execution_engine, "HASH_THRESHOLD"):  # a GX that no longer has it: nothing to switch off
        return
    pandas_execution_engine.HASH_THRESHOLD = 0


@cache
def _suite(text: str, only: tuple[int, ...] | None = None) -> Any:
    """The suite ``text`` holds, or (``only``) just those of its expectations, in their order."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    data = json.loads(text)
    chosen = data["expectations"] if only is None else [data["expectations"][i] for i in only]
    expectations = [ExpectationConfiguration(**e).to_domain_obj() for e in chosen]
    return gx.ExpectationSuite(name=data["name"], expectations=expectations, meta=data["meta"])


# One context per process is shared by the cycle's threads; GX does not say it is thread-safe, so one
# validation at a time (it holds the GIL nearly throughout: little is lost).
_ONE_AT_A_TIME = threading.Lock()
ROWS_PER_RETURN = 100_000  # in frames validated together, each return's rows are numbered from its own multiple


@dataclass
class _Request:
    frame: pd.DataFrame
    done: bool = False
    result: list[Unexpected] | None = None
    error: BaseException | None = None


_waiting: dict[tuple[str, str, str], list[_Request]] = {}
_WAITING = threading.Lock()


def run_suite(text: str, frame: pd.DataFrame, parameters: dict[str, Any]) -> list[Unexpected]:
    """Validate ``frame`` (index: the sheet's row numbers) and return what each failed expectation saw.

    Most of a small return's validation is GX's own bookkeeping (about 55 ms here, whatever the rows): frames that
    other threads hand in (the cycle's partners side by side) while one is validated wait and are then validated
    together, in one frame, each getting back exactly its own unexpected cells (``validate_together``); if the
    suite cannot run on them together, each is validated alone, so one bad return fails only itself."""
    # Only frames of the same suite, parameters and columns are validated together.
    key = (text, repr(sorted(parameters.items())), repr(list(frame.dtypes.items())))
    request = _Request(frame)
    with _WAITING:
        _waiting.setdefault(key, []).append(request)
    with _ONE_AT_A_TIME:
        if not request.done:  # else a validation that ran while this thread waited took it along
            with _WAITING:
                batch = _waiting.pop(key, [])
            if not any(waiting is request for waiting in batch):
                batch.append(request)  # taken along by a validation that was interrupted: this thread's own again
            try:
                results = validate_together(text, [r.frame for r in batch], parameters)
            except Exception:
                if len(batch) == 1:
                    raise
                # One return the suite could not run on fails alone, not the returns it was validated with.
                for waiting in batch:
                    try:
                        waiting.result = _validate(text, waiting.frame, parameters)
                    except Exception as failed:  # noqa: BLE001 - handed to the thread whose return it is
                        waiting.error = failed
                    waiting.done = True
            else:
                for waiting, result in zip(batch, results, strict=True):
                    waiting.result, waiting.done = result, True
    if request.error is not None:
        raise request.error
    assert request.result is not None
    return request.result


@dataclass(frozen=True)
class SuiteRequest:
    """One return's frame for the suite ``text``, with the month's parameters."""

    text: str
    frame: pd.DataFrame
    parameters: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        """Frames with the same key can be validated together: the same suite, parameters and columns."""
        return (self.text, repr(sorted(self.parameters.items())), repr(list(self.frame.dtypes.items())))


RETURNS_TOGETHER = 25  # at most so many frames in one validation (a 5,000-row return's frame is about 2 MB)


def run_suites(requests: list[SuiteRequest]) -> list[list[Unexpected] | BaseException]:
    """What each request's frame gets from ``run_suite`` alone, or the exception it raised there, from as few
    validations as can hold them: frames with the same key together, at most ``RETURNS_TOGETHER`` at a time (a
    validation costs about 55 ms whatever its rows, and 20 returns of 5,000 rows together cost 410 ms). A batch the
    suite cannot run on is validated frame by frame, so one return fails only itself."""
    answers: list[list[Unexpected] | BaseException | None] = [None] * len(requests)
    groups: dict[tuple[str, str, str], list[int]] = {}
    for number, request in enumerate(requests):
        groups.setdefault(request.key, []).append(number)
    for numbers in groups.values():
        for start in range(0, len(numbers), RETURNS_TOGETHER):
            batch = numbers[start : start + RETURNS_TOGETHER]
            first = requests[batch[0]]
            with _ONE_AT_A_TIME:
                try:
                    results: list[list[Unexpected] | BaseException] = list(
                        validate_together(first.text, [requests[n].frame for n in batch], first.parameters)
                    )
                except Exception:
                    results = [_alone(requests[n]) for n in batch]
            for number, result in zip(batch, results, strict=True):
                answers[number] = result
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _alone(request: SuiteRequest) -> list[Unexpected] | BaseException:
    try:
        return _validate(request.text, request.frame, request.parameters)
    except Exception as failed:  # noqa: BLE001 - handed back as this return's answer
        return failed


def validate_together(text: str, frames: list[pd.DataFrame], parameters: dict[str, Any]) -> list[list[Unexpected]]:
    """Each frame's unexpected cells, from one validation of them all: return k's rows renumbered
    k x ROWS_PER_RETURN + row and its participant ids marked with k, so that an id repeats only within its return."""
    if len(frames) == 1:
        return [_validate(text, frames[0], parameters)]
    parts = []
    for number, frame in enumerate(frames):
        part = frame.copy()
        part.index = pd.Index(frame.index.to_numpy() + number * ROWS_PER_RETURN, name=ROW_INDEX)
        part["participant_id"] = [None if v is None else f"{number}\x1f{v}" for v in frame["participant_id"]]
        parts.append(part)
    together = _validate(text, pd.concat(parts), parameters)
    results: list[list[Unexpected]] = [[] for _ in frames]
    for item in together:
        rows: list[list[int]] = [[] for _ in frames]
        values: list[list[Any]] = [[] for _ in frames]
        for row, value in zip(item.rows, item.values, strict=True):
            number, row = divmod(row, ROWS_PER_RETURN)
            rows[number].append(row)
            marked = item.column == "participant_id" and isinstance(value, str)
            values[number].append(value.partition("\x1f")[2] if marked else value)
        for number in range(len(frames)):
            if rows[number]:
                results[number].append(replace(item, rows=rows[number], values=values[number]))
    return results


def _validate(text: str, frame: pd.DataFrame, parameters: dict[str, Any]) -> list[Unexpected]:
    """Which expectations fail, then, for those alone, which cells: GX works out the unexpected cells' rows and
    values only when asked, and asking costs about as much as the rest (67 ms against 36 ms for a 5,000-row return
    here), while nearly every return meets every expectation. Whether one holds does not depend on what is asked."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    quick = batch.validate(
        _suite(text), expectation_parameters=parameters, result_format={"result_format": "BOOLEAN_ONLY"}
    )
    _refuse_exceptions(quick)
    numbers = _numbers(text)
    failed = tuple(sorted(numbers[_key_of(item.expectation_config)] for item in quick.results if not item.success))
    if not failed:
        return []
    complete = {"result_format": "COMPLETE"}
    result = batch.validate(_suite(text, failed), expectation_parameters=parameters, result_format=complete)
    _refuse_exceptions(result)
    unexpected = []
    for item in result.results:
        if item.success:
            continue
        meta = item.expectation_config.meta
        unexpected.append(
            Unexpected(
                finding=meta["finding"],
                cell_column=meta["cell_column"],
                column=item.expectation_config.kwargs["column"],
                rows=[_row(i) for i in item.result.get("unexpected_index_list") or []],
                values=list(item.result.get("unexpected_list") or []),
            )
        )
    return unexpected


def _key_of(config: Any) -> tuple[str, str, str]:
    """An expectation as the suite names it: its kind, column and finding (unique in a suite: ``suite_json``)."""
    return (config.type, config.kwargs["column"], config.meta["finding"])


@cache
def _numbers(text: str) -> dict[tuple[str, str, str], int]:
    data = json.loads(text)["expectations"]
    numbers = {(e["type"], e["kwargs"]["column"], e["meta"]["finding"]): n for n, e in enumerate(data)}
    assert len(numbers) == len(data), "each expectation of a suite is its kind, column and finding"
    return numbers


def _refuse_exceptions(result: Any) -> None:
    for item in result.results:
        if item.exception_info and item.exception_info.get("raised_exception"):
            raise SuiteFailed(f"expectation {item.expectation_config.type} could not run on the return")


def as_findings(
    unexpected: list[Unexpected], frame: pd.DataFrame, letters: dict[str, str], params: dict[str, Any]
) -> list[Finding]:
    """One finding per unexpected cell; a repeated id is reported from its second appearance on."""
    findings = []
    for item in unexpected:
        seen: set[Any] = set()
        for row, value in sorted(zip(item.rows, item.values, strict=True), key=lambda pair: pair[0]):
            extra: dict[str, Any] = dict(params)
            shown = value
            if item.finding == "ID_DUPLICATE":
                if value not in seen:
                    seen.add(value)
                    continue
            elif item.finding == "OUTCOME_CLAIMED_BEFORE":
                extra["expected"] = value
                extra["column"] = item.cell_column
                shown = frame.at[row, "participant_id"]
            elif item.finding == "DUPLICATE_CLAIM":
                shown = frame.at[row, "participant_id"]
            elif item.cell_column == "referral_date" and REFERRAL_AS_READ in frame.columns:
                shown = frame.at[row, REFERRAL_AS_READ]
            letter = letters.get(item.cell_column)
            findings.append(
                Finding(
                    item.finding,
                    sheet=layout.PARTICIPANTS,
                    cell=f"{letter}{row}" if letter else None,
                    row=row,
                    column=item.cell_column,
                    value=display(shown),
                    params=extra,
                )
            )
    return findings


def display(value: Any) -> str | None:
    """A value as a finding shows it: dates day-first, blanks (None, NaN, NaT) as nothing."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 21 typed is read as 21.0: shown as typed
    return str(value)


def _row(index: Any) -> int:
    """GX gives a named index as ``{index name: row, column: value}``."""
    return int(index[ROW_INDEX] if isinstance(index, dict) else index)
