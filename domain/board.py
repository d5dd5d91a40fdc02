"""The board's decision on a flagged partner, and what makes one acceptable.

Nothing happens to a partner's money without a recorded board decision; a timeout never
steps funding down. A step-down applies to core instalments not yet paid; an appeal upheld
by a later decision reverses it from the month it started (restored by adjustment lines).
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.periods import Period, format_day


class DecisionKind(StrEnum):
    no_action = "no_action"
    improvement_plan = "improvement_plan"
    step_down = "step_down"
    withdraw = "withdraw"
    reverse = "reverse"  # an appeal upheld: the step-down in force is undone from its start


LABELS = {
    DecisionKind.no_action: "no action",
    DecisionKind.improvement_plan: "improvement plan",
    DecisionKind.step_down: "step down core funding",
    DecisionKind.withdraw: "withdraw core funding",
    DecisionKind.reverse: "reverse on appeal",
}

# The decisions the board takes on a review; ``reverse`` is taken later, on appeal.
REVIEW_DECISIONS = (
    DecisionKind.no_action,
    DecisionKind.improvement_plan,
    DecisionKind.step_down,
    DecisionKind.withdraw,
)


@dataclass(frozen=True)
class Decision:
    partner_id: str
    kind: DecisionKind
    step_down_percent: int | None
    effective: Period | None
    decided_by: str
    reason: str

    @property
    def funding_percent(self) -> int | None:
        """The core reduction this decision puts in force (None: funding unchanged by it)."""
        if self.kind is DecisionKind.step_down:
            return self.step_down_percent
        if self.kind is DecisionKind.withdraw:
            return 100
        return None

    def describe(self) -> str:
        label = LABELS[self.kind]
        if self.kind is DecisionKind.step_down:
            return f"{label} by {self.step_down_percent}% from {self.effective}"
        if self.kind is DecisionKind.withdraw:
            return f"{label} from {self.effective}"
        return label


@dataclass(frozen=True)
class DecisionContext:
    """What a decision is checked against."""

    flagged: bool
    percent_options: tuple[int, ...]
    reply_closes: date  # the last day of the partner's right of reply
    today: date  # London date of the decision
    earliest_effective: Period  # the first core instalment not yet paid
    step_down_in_force: bool  # whether there is a step-down an appeal could reverse
    already_decided: bool  # the review already has its decision (a change goes through an appeal)


def problems(decision: Decision, context: DecisionContext) -> list[str]:
    """Why the decision cannot be recorded, in words for the board; empty when it can."""
    found = []
    if not decision.decided_by.strip():
        found.append("say who decided (decided by)")
    if not decision.reason.strip():
        found.append("give the reason for the decision")
    kind = decision.kind
    if kind is DecisionKind.reverse:
        if not context.step_down_in_force:
            found.append("there is no step-down or withdrawal in force to reverse")
        if decision.step_down_percent is not None or decision.effective is not None:
            found.append("a reversal restores funding from when the step-down started: give no percentage or month")
        return found
    if not context.flagged:
        found.append("the partner is not under review this year: the board decides only on flagged partners")
    if context.already_decided:
        found.append("the board has already decided this review; a change is made on appeal (decision reverse)")
    if context.today <= context.reply_closes:
        found.append(
            f"the partner's right of reply runs until {format_day(context.reply_closes)}; "
            "the board decides after it has closed"
        )
    if kind is DecisionKind.step_down:
        options = ", ".join(str(o) for o in context.percent_options)
        if decision.step_down_percent not in context.percent_options:
            found.append(f"a step-down percentage must be one of {options}")
    elif kind is DecisionKind.withdraw:
        if decision.step_down_percent not in (None, 100):
            found.append("a withdrawal takes no percentage (it is all core funding)")
    elif decision.step_down_percent is not None or decision.effective is not None:
        found.append(f"{LABELS[kind]} changes no funding: give no percentage or effective month")
    if kind in (DecisionKind.step_down, DecisionKind.withdraw):
        if decision.effective is None:
            found.append("give the month the change takes effect (YYYY-MM)")
        elif decision.effective < context.earliest_effective:
            found.append(
                f"core funding is already paid up to {context.earliest_effective.plus(-1)}: "
                f"the effective month must be {context.earliest_effective} or later"
            )
    return found
