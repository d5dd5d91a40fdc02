"""Money: Decimal arithmetic with the float trap on, integer pence at rest.

One rounding rule (half-even to the penny when a rate is applied) and one way to split a
total into parts (largest remainder, ties broken by key), so parts always sum to the total.
"""

from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, FloatOperation, localcontext
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

PENNY = Decimal("0.01")


def money_context() -> Context:
    """A Decimal context where mixing in a float raises instead of losing precision."""
    ctx = Context(prec=34, rounding=ROUND_HALF_EVEN)
    ctx.traps[FloatOperation] = True
    return ctx


def exact(value: Decimal | int | str) -> Decimal:
    """An exact Decimal from an int, a Decimal or a decimal string; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money and rates are never floats; pass a str, int or Decimal")
    with localcontext(money_context()):
        return Decimal(value)


def pounds_to_pence(amount: Decimal | int | str) -> int:
    """Exact pounds (at most two decimal places) to integer pence."""
    value = exact(amount)
    pence = value * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(pence)


def pence_to_pounds(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(PENNY)


def format_pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}£{pence_to_pounds(abs(pence)):,.2f}"


def round_half_even(amount_pence: Decimal) -> int:
    """The one rounding rule: half-even to the whole penny."""
    with localcontext(money_context()):
        return int(amount_pence.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def apply_rate(amount_pence: int, rate: Decimal) -> int:
    """A percentage or factor applied to a sum of pence, rounded by the one rule."""
    with localcontext(money_context()):
        return round_half_even(Decimal(amount_pence) * exact(rate))


def largest_remainder(total_pence: int, weights: Mapping[K, Decimal | int]) -> dict[K, int]:
    """Split ``total_pence`` in proportion to ``weights``; parts sum to the total exactly.

    Each part first gets the floor of its exact share; the pennies left go one each to the
    largest remainders, ties broken by key order. All weights zero gives all parts zero
    (and is only valid for a zero total).
    """
    if total_pence < 0:
        raise ValueError("largest_remainder splits a non-negative total")
    keys = sorted(weights)  # type: ignore[type-var]
    with localcontext(money_context()):
        ws = {k: exact(weights[k]) for k in keys}
        if any(w < 0 for w in ws.values()):
            raise ValueError("weights must not be negative")
        weight_sum = sum(ws.values(), Decimal(0))
        if weight_sum == 0:
            if total_pence:
                raise ValueError("cannot split a non-zero total over zero weights")
            return {k: 0 for k in keys}
        parts: dict[K, int] = {}
        remainders: list[tuple[Decimal, int, K]] = []
        for position, k in enumerate(keys):
            # Multiply first so the exact share is a ratio of integers, then floor-divide.
            numerator = total_pence * ws[k]
            whole = int(numerator // weight_sum)
            parts[k] = whole
            remainders.append((numerator - whole * weight_sum, position, k))
    left = total_pence - sum(parts.values())
    remainders.sort(key=lambda r: (-r[0], r[1]))
    for _, _, k in remainders[:left]:
        parts[k] += 1
    return parts


def split_evenly(total_pence: int, count: int) -> list[int]:
    """``total_pence`` in ``count`` instalments (largest remainder: earlier ones get the extra pennies)."""
    if count <= 0:
        raise ValueError("count must be positive")
    parts = largest_remainder(total_pence, {i: 1 for i in range(count)})
    return [parts[i] for i in range(count)]
