"""What the alliance report publishes, to whom, and how small numbers are kept from identifying anyone.

Every figure of the report has an id and a grade: ``public`` (anyone: the public, councillors),
``alliance`` (every partner, the commissioner, the board) or ``officers`` (the alliance office only).
An audience sees the figures graded at its level or below; ``alliance.yaml`` may grade any figure
differently (``report.figures``).

Counts of people or claims under the threshold (``report.suppress_below``, default 5) are shown as
``<5``. An alliance-wide total is always published exactly (unless it is itself under the threshold): the
protection of small counts is in the partners' cells beside it. One hidden partner cell could be worked out
by subtraction from the total, so further partner cells are withheld (shown as ``*``) until no hidden cell
can be pinned down from the total, what is shown and the rule's own bounds (a hidden cell is under 5; a
withheld one 5 or more, and no larger than the smallest cell left shown): primary, then complementary
suppression. Where that would take every partner cell, every partner cell is hidden and the total stays.

A partner's figure over months published in their own reports (its year to date, rebuilt every month) is
shown only if every one of those months was, and is otherwise withheld (``*``, whatever its size: a ``<5``
there would bound its hidden months' sum). So every year-to-date figure is either a sum of figures each
month's report published exactly, or withheld: year reports add nothing a reader could subtract beyond
what the months' reports give, and each month's table is protected on its own.
Pure.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_THRESHOLD = 5
WITHHELD = "*"  # a part hidden only so that a small part cannot be worked out from the total


class Grade(StrEnum):
    public = "public"
    alliance = "alliance"
    officers = "officers"


AUDIENCES = (Grade.public, Grade.alliance, Grade.officers)  # each sees what the ones before it see, and more


def visible_to(grade: Grade, audience: Grade) -> bool:
    return AUDIENCES.index(grade) <= AUDIENCES.index(audience)


@dataclass(frozen=True)
class FigureInfo:
    id: str
    title: str
    grade: Grade  # the default; report.figures in alliance.yaml may change it
    about: str


FIGURES: Mapping[str, FigureInfo] = {
    f.id: f
    for f in (
        FigureInfo(
            "alliance_outcomes",
            "Alliance outcomes against targets",
            Grade.public,
            "Participants achieving each shared outcome, against the alliance's monthly target.",
        ),
        FigureInfo(
            "alliance_factor",
            "The alliance factor",
            Grade.public,
            "Alliance points against target points, the factor within its collar and cap, and the outcome pool paid.",
        ),
        FigureInfo(
            "partner_volumes",
            "Participants worked with, by partner",
            Grade.public,
            "Participant rows in each partner's accepted return.",
        ),
        FigureInfo(
            "partner_outcomes",
            "Outcomes achieved, by partner",
            Grade.public,
            "Participants achieving each outcome in each partner's accepted return.",
        ),
        FigureInfo(
            "partner_performance",
            "Outcomes for case mix (O/E) and the funnel plot",
            Grade.alliance,
            "Observed outcomes against those expected for each partner's case mix, year to date, with control limits.",
        ),
        FigureInfo(
            "partner_payments",
            "Payments, by partner",
            Grade.alliance,  # outcome pounds over the price per point are a partner's points: see services.report
            "Core, outcome and correcting payments made under the last payable run.",
        ),
        FigureInfo(
            "returns_on_time",
            "Returns on time",
            Grade.alliance,
            "Whether each partner's return arrived by the due date, late, or not at all, and whether it was accepted.",
        ),
        FigureInfo(
            "review_decisions",
            "Annual review decisions",
            Grade.alliance,
            "The board's recorded decisions on partners under formal review (shown once decided).",
        ),
        FigureInfo(
            "spot_checks",
            "Spot checks of claimed outcomes",
            Grade.officers,
            "Claims drawn for checking against evidence, and how many were verified.",
        ),
        FigureInfo(
            "gaming_monitors",
            "Gaming monitors",
            Grade.officers,
            "Signs of case-mix shifts, clustered claims, volume jumps and cycling participants, with their evidence.",
        ),
    )
}


def grade_of(figure: str, overrides: Mapping[str, Grade]) -> Grade:
    return overrides.get(figure, FIGURES[figure].grade)


# --- Small numbers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A count as published: its value, or None when it is hidden (``text`` says how)."""

    value: int | None
    text: str

    @property
    def hidden(self) -> bool:
        return self.value is None

    def json(self) -> int | str:
        return self.value if self.value is not None else self.text


def small(threshold: int) -> str:
    return f"<{threshold}"


def show_count(count: int, threshold: int) -> Shown:
    """One count on its own: hidden when under the threshold (zero included: "nobody" is a fact about people)."""
    if count < 0:
        raise ValueError("a count is never negative")
    return Shown(None, small(threshold)) if count < threshold else Shown(count, str(count))


def show_with_total(
    counts: Mapping[K, int],
    total: int,
    threshold: int,
    *,
    withheld: frozenset[K] = frozenset(),
    known: Mapping[K, tuple[int, int]] | None = None,
) -> tuple[dict[K, Shown], Shown]:
    """Parts and their total, so that no hidden part can be worked out from the total and the parts shown.

    The total is published exactly (``<5`` only when it is itself under the threshold: then so is every part).
    Parts under the threshold are hidden (``<5``: between 0 and 4), and so are ``withheld`` ones (hidden for
    another table's sake: at least 5). Beside the total, a part hidden as small always takes the smallest part
    shown with it (``*``: at least 5, and no larger than the parts left shown), whatever the values: a ``*``
    that appeared only when needed would tell a reader who knows this rule that the small parts were pinned
    (all 0, say). While a hidden part is still pinned down (its least and greatest possible value agree), the
    next smallest is withheld too, until none is left shown. A reader who replays these steps can still tell,
    in rare tables, that small parts sat at 0 or at 4, never at 1 to 3 (tests/domain/test_publication.py).

    ``known``: bounds a reader has on a part from other tables (a partner's outcome count is at most its
    participants; its participants at least its largest outcome count), taken as the true values' bounds, which
    is at least what a reader can know: the parts are withheld until none is pinned within them too.
    """
    if sum(counts.values()) != total:
        raise ValueError("the parts must add up to the total")
    total_shown = show_count(total, threshold)
    primary = {k for k, c in counts.items() if c < threshold}
    external = set(withheld) - primary
    chosen: set[K] = set()
    order = sorted((k for k in counts if k not in primary | external), key=lambda k: (counts[k], str(k)))
    # A hidden total (under the threshold: so is every part) gives a reader nothing to subtract from.
    if not total_shown.hidden and primary and order:
        chosen.add(order.pop(0))
    while not total_shown.hidden and order and _pinned(counts, primary, external, chosen, threshold, known or {}):
        chosen.add(order.pop(0))
    parts = {
        k: Shown(None, small(threshold))
        if k in primary
        else Shown(None, WITHHELD)
        if k in external | chosen
        else Shown(c, str(c))
        for k, c in counts.items()
    }
    return parts, total_shown


def _pinned(
    counts: Mapping[K, int],
    primary: set[K],
    external: set[K],
    chosen: set[K],
    threshold: int,
    known: Mapping[K, tuple[int, int]],
) -> bool:
    """Whether a reader who knows the total, the parts shown and each hidden part's bounds could tell one's value:
    the hidden parts add up to what the shown ones leave of the total."""
    hidden = primary | external | chosen
    remaining = sum(counts[k] for k in hidden)
    shown = [(c, str(k)) for k, c in counts.items() if k not in hidden]

    def chosen_at_most(key: K) -> int:
        # Chosen before every part shown, in the order (count, key): a shown part sorting first by key is larger.
        return min((c if str(key) < name else c - 1 for c, name in shown), default=remaining)

    by_rule = {
        k: (0, threshold - 1)
        if k in primary
        else (threshold, remaining)
        if k in external
        else (threshold, chosen_at_most(k))
        for k in hidden
    }
    bounds = {
        k: (max(low, known.get(k, (low, high))[0]), min(high, known.get(k, (low, high))[1]))
        for k, (low, high) in by_rule.items()
    }
    for k, (own_low, own_high) in bounds.items():
        others_low = sum(low for j, (low, _) in bounds.items() if j != k)
        others_high = sum(high for j, (_, high) in bounds.items() if j != k)
        if max(own_low, remaining - others_high) >= min(own_high, remaining - others_low):
            return True
    return False


def show_year_total(months: Sequence[Shown], total: int, threshold: int) -> Shown:
    """A total over parts each published in its own report (the alliance's year to date over its monthly
    totals): shown only if every part was. Year-to-date reports month after month would otherwise give a
    hidden month away by subtraction, and hiding a total only when it would is itself a clue; this rule
    depends on nothing but which months were hidden, which their own reports say anyway."""
    shown = show_count(total, threshold)
    return Shown(None, WITHHELD) if not shown.hidden and any(m.hidden for m in months) else shown


def show_over_months(months: Sequence[Shown], total: int) -> Shown:
    """A partner's figure over months each published in its own report (its year to date): exactly when every
    month was shown (each at least the threshold, so is their sum), else withheld (``*``) whatever its size.
    A ``<5`` here would tell a reader the hidden months add up to under 5, which beside each month's own
    bounds can pin one (3 and 1 under a year to date of 4); ``*`` says only what the months said."""
    return Shown(total, str(total)) if months and not any(m.hidden for m in months) else Shown(None, WITHHELD)


@dataclass(frozen=True)
class Grid:
    """One count over partners and months as the reports publish it: each month's partner cells (in that
    month's report) with the alliance's total, and the year to date's."""

    months: dict[Any, dict[str, Shown]]
    month_totals: dict[Any, Shown]
    year: dict[str, Shown]
    year_total: Shown


def grid(
    values: Mapping[Any, Mapping[str, int]],
    threshold: int,
    known: Mapping[Any, Mapping[str, tuple[int, int]]] | None = None,
) -> Grid:
    """``values``: month -> partner -> count, months in order (a partner without an accepted return has no
    cell). Each month's partner cells beside the alliance's total, exact; the year to date per partner exact
    where every month of it was shown, else withheld; the alliance's year to date the sum of its months."""
    months: dict[Any, dict[str, Shown]] = {}
    totals: dict[Any, Shown] = {}
    for period, parts in values.items():
        months[period], totals[period] = show_with_total(
            parts, sum(parts.values()), threshold, known=(known or {}).get(period)
        )
    partners = sorted({pid for parts in values.values() for pid in parts})
    year = {
        pid: show_over_months(
            [months[p][pid] for p in values if pid in months[p]], sum(parts.get(pid, 0) for parts in values.values())
        )
        for pid in partners
    }
    total = sum(sum(parts.values()) for parts in values.values())
    return Grid(months, totals, year, show_year_total(list(totals.values()), total, threshold))


def count_grids(
    participants: Mapping[Any, Mapping[str, int]],
    achieved: Mapping[Any, Mapping[str, Mapping[str, int]]],
    threshold: int,
) -> tuple[Grid, dict[str, Grid]]:
    """The participants grid and each outcome's (``achieved``: month -> measure -> partner -> count), published
    together: an outcome count is at most the partner's participants that month, and its participants at least
    its largest outcome count, so each table's cells are withheld until none is pinned within those bounds too
    (a reader holding both tables knows them)."""
    measures = sorted({m for by_measure in achieved.values() for m in by_measure})
    floor = {
        p: {pid: max((achieved[p][m].get(pid, 0) for m in achieved.get(p, {})), default=0) for pid in parts}
        for p, parts in participants.items()
    }
    ceiling = {p: {pid: (0, n) for pid, n in parts.items()} for p, parts in participants.items()}
    volumes = grid(
        participants,
        threshold,
        known={
            p: {pid: (low, sum(parts.values())) for pid, low in floor[p].items()} for p, parts in participants.items()
        },
    )
    outcomes = {m: grid({p: achieved[p][m] for p in achieved}, threshold, known=ceiling) for m in measures}
    return volumes, outcomes
