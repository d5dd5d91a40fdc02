"""DESIGN.md section 6, due process: what a board decision must satisfy before it is recorded."""

from dataclasses import replace
from datetime import date

import pytest

from domain.board import LABELS, REVIEW_DECISIONS, Decision, DecisionContext, DecisionKind, problems
from domain.periods import Period

MAY = Period(2027, 5)
CONTEXT = DecisionContext(
    flagged=True,
    percent_options=(10, 25, 50, 100),
    reply_closes=date(2027, 5, 14),
    today=date(2027, 5, 15),
    earliest_effective=MAY,
    step_down_in_force=False,
    already_decided=False,
)
REVERSAL_CONTEXT = replace(CONTEXT, flagged=False, step_down_in_force=True, already_decided=True)


def decision(kind: DecisionKind, percent: int | None = None, effective: Period | None = None) -> Decision:
    return Decision("anchor-housing", kind, percent, effective, decided_by="Board chair", reason="Minutes item 4")


VALID = [
    (decision(DecisionKind.no_action), CONTEXT),
    (decision(DecisionKind.improvement_plan), CONTEXT),
    (decision(DecisionKind.step_down, 25, MAY), CONTEXT),
    (decision(DecisionKind.step_down, 10, MAY.plus(3)), CONTEXT),
    (decision(DecisionKind.withdraw, None, MAY), CONTEXT),
    (decision(DecisionKind.withdraw, 100, MAY.plus(1)), CONTEXT),
    (decision(DecisionKind.reverse), REVERSAL_CONTEXT),
]


@pytest.mark.parametrize(("d", "context"), VALID, ids=lambda v: getattr(v, "kind", ""))
def test_a_valid_decision_of_each_kind_has_no_problems(d: Decision, context: DecisionContext) -> None:
    assert problems(d, context) == []


def test_every_kind_has_a_valid_example_and_a_label() -> None:
    assert {d.kind for d, _ in VALID} == set(DecisionKind)
    assert set(LABELS) == set(DecisionKind)
    assert DecisionKind.reverse not in REVIEW_DECISIONS and len(REVIEW_DECISIONS) == 4


@pytest.mark.parametrize(("d", "context"), VALID, ids=lambda v: getattr(v, "kind", ""))
@pytest.mark.parametrize(
    ("field", "blank", "message"),
    [("decided_by", "  ", "say who decided (decided by)"), ("reason", "", "give the reason for the decision")],
)
def test_who_and_why_are_required_for_every_kind(
    d: Decision, context: DecisionContext, field: str, blank: str, message: str
) -> None:
    assert problems(replace(d, **{field: blank}), context) == [message]


@pytest.mark.parametrize("kind", REVIEW_DECISIONS)
def test_the_board_decides_only_on_flagged_partners(kind: DecisionKind) -> None:
    d = next(v for v, _ in VALID if v.kind is kind)
    assert problems(d, replace(CONTEXT, flagged=False)) == [
        "the partner is not under review this year: the board decides only on flagged partners"
    ]


@pytest.mark.parametrize("kind", REVIEW_DECISIONS)
def test_a_review_is_decided_once(kind: DecisionKind) -> None:
    d = next(v for v, _ in VALID if v.kind is kind)
    assert problems(d, replace(CONTEXT, already_decided=True)) == [
        "the board has already decided this review; a change is made on appeal (decision reverse)"
    ]


@pytest.mark.parametrize("today", [date(2027, 5, 1), date(2027, 5, 14)])
@pytest.mark.parametrize("kind", REVIEW_DECISIONS)
def test_not_before_the_right_of_reply_has_closed(kind: DecisionKind, today: date) -> None:
    d = next(v for v, _ in VALID if v.kind is kind)
    assert problems(d, replace(CONTEXT, today=today)) == [
        "the partner's right of reply runs until 14/05/2027; the board decides after it has closed"
    ]


@pytest.mark.parametrize("percent", [None, 0, 5, 20, 75, 101])
def test_step_down_percentage_must_be_an_option(percent: int | None) -> None:
    assert problems(decision(DecisionKind.step_down, percent, MAY), CONTEXT) == [
        "a step-down percentage must be one of 10, 25, 50, 100"
    ]


def test_step_down_options_come_from_the_context() -> None:
    context = replace(CONTEXT, percent_options=(5, 20))
    assert problems(decision(DecisionKind.step_down, 20, MAY), context) == []
    assert problems(decision(DecisionKind.step_down, 25, MAY), context) == [
        "a step-down percentage must be one of 5, 20"
    ]


@pytest.mark.parametrize("percent", [10, 50, 0])
def test_withdrawal_takes_no_percentage(percent: int) -> None:
    assert problems(decision(DecisionKind.withdraw, percent, MAY), CONTEXT) == [
        "a withdrawal takes no percentage (it is all core funding)"
    ]


@pytest.mark.parametrize("kind", [DecisionKind.step_down, DecisionKind.withdraw])
def test_a_funding_change_needs_an_effective_month_not_already_paid(kind: DecisionKind) -> None:
    percent = 25 if kind is DecisionKind.step_down else None
    assert problems(decision(kind, percent, None), CONTEXT) == ["give the month the change takes effect (YYYY-MM)"]
    assert problems(decision(kind, percent, Period(2027, 4)), CONTEXT) == [
        "core funding is already paid up to 2027-04: the effective month must be 2027-05 or later"
    ]
    january = replace(CONTEXT, earliest_effective=Period(2028, 1))
    assert problems(decision(kind, percent, Period(2027, 12)), january) == [
        "core funding is already paid up to 2027-12: the effective month must be 2028-01 or later"
    ]
    assert problems(decision(kind, percent, Period(2028, 1)), january) == []


@pytest.mark.parametrize("kind", [DecisionKind.no_action, DecisionKind.improvement_plan])
@pytest.mark.parametrize(("percent", "effective"), [(25, None), (None, MAY), (10, MAY)])
def test_no_funding_change_takes_no_percentage_or_month(
    kind: DecisionKind, percent: int | None, effective: Period | None
) -> None:
    assert problems(decision(kind, percent, effective), CONTEXT) == [
        f"{LABELS[kind]} changes no funding: give no percentage or effective month"
    ]


def test_a_reversal_needs_a_step_down_in_force() -> None:
    assert problems(decision(DecisionKind.reverse), replace(REVERSAL_CONTEXT, step_down_in_force=False)) == [
        "there is no step-down or withdrawal in force to reverse"
    ]


@pytest.mark.parametrize(("percent", "effective"), [(25, None), (None, MAY), (100, MAY)])
def test_a_reversal_takes_no_percentage_or_month(percent: int | None, effective: Period | None) -> None:
    assert problems(decision(DecisionKind.reverse, percent, effective), REVERSAL_CONTEXT) == [
        "a reversal restores funding from when the step-down started: give no percentage or month"
    ]


def test_a_reversal_is_not_held_to_the_review_rules() -> None:
    """An appeal comes after the review was decided, the reply closed, and possibly after the flag lapsed."""
    context = replace(REVERSAL_CONTEXT, flagged=False, already_decided=True, today=date(2027, 5, 1))
    assert problems(decision(DecisionKind.reverse), context) == []


def test_every_problem_is_reported_at_once() -> None:
    bad = Decision("anchor-housing", DecisionKind.step_down, 30, Period(2027, 1), decided_by="", reason=" ")
    context = replace(CONTEXT, flagged=False, already_decided=True, today=CONTEXT.reply_closes)
    assert problems(bad, context) == [
        "say who decided (decided by)",
        "give the reason for the decision",
        "the partner is not under review this year: the board decides only on flagged partners",
        "the board has already decided this review; a change is made on appeal (decision reverse)",
        "the partner's right of reply runs until 14/05/2027; the board decides after it has closed",
        "a step-down percentage must be one of 10, 25, 50, 100",
        "core funding is already paid up to 2027-04: the effective month must be 2027-05 or later",
    ]
    reversal = Decision("anchor-housing", DecisionKind.reverse, 10, MAY, decided_by="", reason="")
    assert problems(reversal, CONTEXT) == [
        "say who decided (decided by)",
        "give the reason for the decision",
        "there is no step-down or withdrawal in force to reverse",
        "a reversal restores funding from when the step-down started: give no percentage or month",
    ]


@pytest.mark.parametrize(
    ("d", "percent", "described"),
    [
        (decision(DecisionKind.no_action), None, "no action"),
        (decision(DecisionKind.improvement_plan), None, "improvement plan"),
        (decision(DecisionKind.step_down, 25, MAY), 25, "step down core funding by 25% from 2027-05"),
        (decision(DecisionKind.step_down, 10, Period(2028, 1)), 10, "step down core funding by 10% from 2028-01"),
        (decision(DecisionKind.withdraw, None, MAY), 100, "withdraw core funding from 2027-05"),
        (decision(DecisionKind.withdraw, 100, Period(2027, 11)), 100, "withdraw core funding from 2027-11"),
        (decision(DecisionKind.reverse), None, "reverse on appeal"),
    ],
)
def test_funding_percent_and_describe(d: Decision, percent: int | None, described: str) -> None:
    assert d.funding_percent == percent
    assert d.describe() == described
