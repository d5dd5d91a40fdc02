"""What a run actually pays a partner, after what earlier runs carried forward (issue 27).

A run's core, outcome and adjustment lines come to a partner's *net* for the run. Paying that net as it stands
would send a negative payment when a correction reduces what was paid, and a statement for every penny moved by a
largest-remainder split. So, per partner and run:

- a **negative net** is not paid: it is *carried* (a line that brings the run's net to nothing) and recovered
  from the partner's following payments, at most ``max_share`` of any one payment;
- a correction's net **smaller than** ``notify_min_pence`` either way is carried too, and settled with the next
  payment the partner is told of (no statement for a penny);
- otherwise the net is paid, and the *balance* carried from earlier runs is settled from it: a positive balance
  (small sums held back) is paid whole; a negative one (an overpayment) is recovered up to the cap.

The balance is what the partner is owed (positive) or owes (negative) from carried lines; it is read from the
payable runs' lines, never stored apart from them. Pure: integers in pence and Decimal rates.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from domain.money import exact, format_pounds, money_context

# Line kinds this module adds to a run (after domain.payments' core, outcome and adjustment).
CARRIED = "carried"  # the run's net held back: amount = -net
RECOVERY = "recovery"  # part of an overpayment taken back: amount < 0
BROUGHT_FORWARD = "brought_forward"  # small sums held back earlier, paid now: amount > 0
SETTLEMENT_KINDS = (CARRIED, RECOVERY, BROUGHT_FORWARD)


@dataclass(frozen=True)
class Carried:
    """One amount that a payable run carried for a partner, in the order runs became payable."""

    run: str  # "2026-07/v2"
    amount_pence: int  # what it did to the balance: the net carried (negative: an overpayment to recover)


@dataclass(frozen=True)
class Settlement:
    """A partner's part of one run: its net, and the lines that carry or settle."""

    partner_id: str
    net_pence: int  # the run's core, outcome and adjustment lines
    balance_before_pence: int  # owed to the partner (> 0) or by it (< 0) before this run
    carried_pence: int  # the part of the net held back (0, or the whole net)
    settled_pence: int  # taken from (< 0) or added to (> 0) this run's payment from the balance
    notify: bool  # the partner gets a statement for this run

    @property
    def paid_pence(self) -> int:
        """What this run pays the partner: never negative."""
        return self.net_pence - self.carried_pence + self.settled_pence

    @property
    def balance_after_pence(self) -> int:
        return self.balance_before_pence + self.carried_pence - self.settled_pence


def recovery_cap(payment_pence: int, max_share: Decimal) -> int:
    """The most that may be recovered from a payment: ``max_share`` of it, rounded down (never above the share)."""
    if payment_pence <= 0:
        return 0
    with localcontext(money_context()):
        return int((Decimal(payment_pence) * exact(max_share)).to_integral_value(rounding=ROUND_FLOOR))


def settle(
    partner_id: str,
    net_pence: int,
    balance_pence: int,
    *,
    correction: bool,
    max_share: Decimal,
    notify_min_pence: int,
) -> Settlement:
    """The settlement rule above. ``correction``: the run restates a period already paid (it has a base version)."""
    if correction and abs(net_pence) < notify_min_pence:  # untouched, or moved by less than the notice threshold
        return Settlement(partner_id, net_pence, balance_pence, net_pence, 0, notify=False)
    if net_pence < 0:
        return Settlement(partner_id, net_pence, balance_pence, net_pence, 0, notify=True)
    settled = balance_pence if balance_pence > 0 else -min(-balance_pence, recovery_cap(net_pence, max_share))
    return Settlement(partner_id, net_pence, balance_pence, 0, settled, notify=True)


def settle_all(
    nets: dict[str, int],
    balances: dict[str, int],
    *,
    correction: bool,
    max_share: Decimal,
    notify_min_pence: int,
) -> list[Settlement]:
    """Every partner's settlement in one run, in partner id order."""
    return [
        settle(
            pid,
            nets.get(pid, 0),
            balances.get(pid, 0),
            correction=correction,
            max_share=max_share,
            notify_min_pence=notify_min_pence,
        )
        for pid in sorted(set(nets) | set(balances))
    ]


@dataclass(frozen=True)
class Outstanding:
    """What remains of one overpayment, oldest first: recoveries take the oldest first."""

    run: str
    overpaid_pence: int  # > 0
    remaining_pence: int  # > 0


def outstanding(history: Iterable[Carried], recovered_pence: int) -> list[Outstanding]:
    """The overpayments not yet recovered: ``history`` is every amount carried (in payable order) and
    ``recovered_pence`` everything recovered or paid back since (the sum of the settling lines, as a positive
    number for recovered); positive carried amounts (small sums) count against the oldest overpayments."""
    debts = [(item.run, -item.amount_pence) for item in history if item.amount_pence < 0]
    credit = recovered_pence + sum(item.amount_pence for item in history if item.amount_pence > 0)
    left: list[Outstanding] = []
    for run, amount in debts:
        used = min(max(credit, 0), amount)
        credit -= used
        if amount - used > 0:
            left.append(Outstanding(run, amount, amount - used))
    return left


def recovery_words(
    remaining: Sequence[Outstanding], this_month_pence: int, balance_after_pence: int, max_share: Decimal
) -> str:
    """The recovery line's explanation: what is being recovered, from which run, how much now and what remains."""
    sources = "; ".join(
        f"{format_pounds(o.remaining_pence)} of the {format_pounds(o.overpaid_pence)} overpaid by run {o.run}"
        for o in remaining
    )
    left = -balance_after_pence if balance_after_pence < 0 else 0
    return (
        f"Recovery of an earlier overpayment ({sources}): {format_pounds(this_month_pence)} taken from this payment "
        f"(at most {(max_share * 100).normalize():f}% of any one payment); "
        f"{format_pounds(left)} remains to be recovered"
        + ("" if left else ", so the overpayment is now fully recovered")
    )


@dataclass(frozen=True)
class Recoverability:
    """Whether a partner's overpayment can be recovered from the instalments it has left, within the cap."""

    partner_id: str
    owed_pence: int  # what the partner owes (> 0)
    recoverable_pence: int  # the most its remaining instalments can give, within the cap
    invoice: bool  # True: officers must invoice it (the instalments cannot cover it)


def recoverability(
    partner_id: str, owed_pence: int, instalments_left: Sequence[int], max_share: Decimal
) -> Recoverability:
    """``instalments_left``: the partner's core instalments still to come (after step-downs), in pence."""
    recoverable = sum(recovery_cap(p, max_share) for p in instalments_left)
    return Recoverability(partner_id, owed_pence, recoverable, invoice=owed_pence > recoverable)
