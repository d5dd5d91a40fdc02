"""Gaming monitors for the officers' monthly summary: alerts with their evidence as figures, never money.

Each monitor reads partners' monthly aggregates over a window (the months passed, up to and
including ``period``; later months are ignored) and raises an ``Alert`` about ``period`` only.
"The rest" is always every other partner, over the same months. A monitor of months needs the
partner's own return for ``period``. Every rule has a z-score *and* a practical minimum, so that a
large partner is not flagged for a trivial change and a small one not for noise; an average
partner should rarely set one off (tests/domain/test_monitors.py measures how rarely).

- Case mix (``case_mix_shift``): the difficulty of a row is its band's multiplier. The partner's
  mean difficulty over the ``RECENT_MONTHS`` months ending at ``period`` against its earlier
  months (at least ``MIN_BASELINE_MONTHS``), net of the same change in the rest's *new referrals*
  (the referral mix; the rest's rows when it reports no referrals in one of the two groups)::

      z = −((partner_recent − partner_base) − (rest_recent − rest_base)) / √(Σ_g var_g / n_g)

  with ``var_g`` the per-row variance of difficulty in each of the four groups. ``n_g`` counts
  participants, not rows: a participant stays for months with the same band, so a month's
  continuing rows are not new draws of case mix. A partner's group counts the first month's rows
  plus each later month's new referrals (all its rows after a month missing from the group); the
  rest's referrals are each a new participant. (Counting rows instead makes z too large: in the
  seeded simulation, where participants stay three months on average, average partners then set
  the monitor off in 3.9% of years instead of 0.5%.) Alert when z ≥ ``CASE_MIX_Z``, the partner's
  own mean fell by at least ``MIN_DIFFICULTY_DROP`` and it has at least ``MIN_RECENT_ROWS`` recent
  rows. In that simulation a partner of 40-60 rows whose intake goes from 40% to 90% standard (and
  that lets hard cases go) is caught within three months in 199 of 200 seeds; from 40% to 70%, in
  about 80%.
- Deadline (``deadline_cluster``), only when ``period`` is in ``deadline_periods``: claims
  (outcomes achieved, all measures) per row in the window's deadline months against its other
  months (at least ``MIN_BASELINE_MONTHS``), as a ratio, against the same ratio for the rest.
  Claim rates differ a lot between partners, so the comparison is of logs (a partner at twice the
  alliance's rate that rises as the alliance does is not clustering); Poisson counts give
  ``se² = Σ 1/(claims_g + ½)`` over the four groups (½ keeps an empty group finite). Alert when
  z ≥ ``DEADLINE_Z``, the deadline months have at least ``MIN_DEADLINE_ROWS`` rows and the rate
  rose by at least ``MIN_CLAIM_RISE`` both on its own months and beyond the rest's rise.
- Volume (``volume_jump``): rows in ``period`` against the median (the higher middle value: a
  real month's rows) of its previous ``VOLUME_MONTHS`` months (at least ``MIN_VOLUME_MONTHS``).
  The expected rows are that median scaled by the rest's growth (rest = partners with a return
  for ``period``, their rows now against the median of their totals in the same months), never
  scaled down: returns still to come in must not make a partner look suspicious. Alert when rows
  ≥ ``VOLUME_RATIO`` × expected, rows − expected ≥ ``MIN_VOLUME_INCREASE`` and the Poisson
  z = (rows − expected)/√expected ≥ ``VOLUME_Z``. A partner whose median is 0 is starting, not
  jumping, and is not judged.
- Cycling (``participant_cycling``): cycled = max(reentered, rereferred), the fewest distinct
  participants the two counts can describe (a participant may be in both); the same rule for the
  rest keeps the comparison like for like. Two-proportion z (pooled) of the partner's share
  against the rest's; alert when z ≥ ``CYCLING_Z``, the share is at least ``CYCLING_RATIO`` times
  the rest's and at least ``MIN_CYCLED`` participants cycled.

Statistics are floats (these are screening figures, not money). Pure: figures in, alerts out.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import median, median_high

from domain.errors import UsageError
from domain.periods import Period

RECENT_MONTHS = 3
MIN_BASELINE_MONTHS = 3
# One-sided: in simulation an average partner sets the case-mix monitor off in 0.5% of years (2.4% at z 2.5).
CASE_MIX_Z = 3.0
MIN_DIFFICULTY_DROP = 0.05  # multiplier points
MIN_RECENT_ROWS = 30
DEADLINE_Z = 3.0
MIN_CLAIM_RISE = 0.20
MIN_DEADLINE_ROWS = 30
VOLUME_MONTHS = 6
MIN_VOLUME_MONTHS = 3
VOLUME_RATIO = 1.5
MIN_VOLUME_INCREASE = 10
VOLUME_Z = 4.0
CYCLING_Z = 4.0
CYCLING_RATIO = 2.0
MIN_CYCLED = 5

Param = int | float | str


@dataclass(frozen=True)
class PartnerMonth:
    """One partner's accepted return for one month, in figures."""

    partner_id: str
    period: Period
    rows_by_band: Mapping[str, int]  # participant rows by complexity band
    new_by_band: Mapping[str, int]  # of those, the rows referred this month, by band
    achieved: Mapping[str, int]  # rows achieving each outcome measure id this month

    @property
    def rows(self) -> int:
        return sum(self.rows_by_band.values())

    @property
    def new(self) -> int:
        return min(sum(self.new_by_band.values()), self.rows)

    @property
    def claims(self) -> int:
        return sum(self.achieved.values())


@dataclass(frozen=True)
class Cycling:
    """Over a window of months, one partner's distinct participants and how many cycled in and out."""

    partner_id: str
    participants: int  # distinct participant ids
    reentered: int  # of them, absent from at least one month between their first and last appearance
    rereferred: int  # of them, appearing with more than one referral date

    @property
    def cycled(self) -> int:
        return min(max(self.reentered, self.rereferred), self.participants)


class MonitorCode(StrEnum):
    case_mix_shift = "GAMING_CASE_MIX_SHIFT"
    deadline_cluster = "GAMING_DEADLINE_CLUSTER"
    volume_jump = "GAMING_VOLUME_JUMP"
    participant_cycling = "GAMING_PARTICIPANT_CYCLING"


@dataclass(frozen=True)
class MonitorInfo:
    code: MonitorCode
    title: str
    what: str  # one sentence: what it looks for and against what
    counts: frozenset[str]  # the params that are counts of rows, participants or claims
    template: str  # str.format over the params, ``partner`` and ``period``; counts arrive already rendered


MONITORS: Mapping[MonitorCode, MonitorInfo] = {
    info.code: info
    for info in (
        MonitorInfo(
            code=MonitorCode.case_mix_shift,
            title="Case mix moving towards easier cases",
            what=(
                "The partner's mean case difficulty over the last three months against its earlier months, "
                "net of the change in the rest of the alliance's referral mix over the same months."
            ),
            counts=frozenset({"rows_recent", "rows_baseline"}),
            template=(
                "In its {months_recent} months to {period} its {rows_recent} rows averaged a difficulty of "
                "{difficulty_recent:.2f}, against {difficulty_baseline:.2f} on {rows_baseline} rows in its "
                "{months_baseline} earlier months, and {easiest_band} cases went from {easiest_share_baseline:.0%} "
                "to {easiest_share_recent:.0%} of its rows. Over the same months the rest of the alliance's "
                "{rest_source} averaged {rest_difficulty_recent:.2f}, against {rest_difficulty_baseline:.2f}."
            ),
        ),
        MonitorInfo(
            code=MonitorCode.deadline_cluster,
            title="Outcome claims clustered before a deadline",
            what=(
                "The partner's outcome claims per row in the months just before a deadline against its other "
                "months, beyond the same rise across the rest of the alliance."
            ),
            counts=frozenset({"rows_deadline", "rows_other", "claims_deadline", "claims_other"}),
            template=(
                "In its {deadline_months} deadline months up to {period} it claimed {claims_deadline} outcomes on "
                "{rows_deadline} rows (a claim rate of {rate_deadline:.0%}), against {claims_other} on {rows_other} "
                "rows ({rate_other:.0%}) in its {other_months} other months. Over the same months the rest of the "
                "alliance's claim rate went from {rest_rate_other:.0%} to {rest_rate_deadline:.0%}."
            ),
        ),
        MonitorInfo(
            code=MonitorCode.volume_jump,
            title="Sudden jump in volume",
            what=(
                "The partner's rows this month against the median of its previous months, beyond the change in "
                "the rest of the alliance's rows."
            ),
            counts=frozenset({"rows", "median"}),
            template=(
                "It reported {rows} rows in {period}, {ratio:.1f} times its median of {median} over its previous "
                "{months} months, while the rest of the alliance's rows changed by a factor of {rest_ratio:.2f}."
            ),
        ),
        MonitorInfo(
            code=MonitorCode.participant_cycling,
            title="Participants cycling in and out",
            what=(
                "The share of the partner's participants who came back after a gap or were referred again, "
                "against the same share across the rest of the alliance."
            ),
            counts=frozenset({"participants", "reentered", "rereferred"}),
            template=(
                "Of its {participants} participants in the months to {period}, {reentered} came back after a gap "
                "and {rereferred} were referred more than once: at least {share:.1%} cycled, against "
                "{rest_share:.1%} across the rest of the alliance."
            ),
        ),
    )
}


@dataclass(frozen=True)
class Alert:
    code: MonitorCode
    partner_id: str
    period: Period  # the month the alert is about (the latest month looked at)
    statistic: float  # a z-score, signed so that larger = more suspicious
    threshold: float  # what it had to reach
    params: Mapping[str, Param]  # the evidence as figures

    def evidence(self, count: Callable[[int], str] = str) -> str:
        """The catalogue's sentence for this code, every count rendered through ``count``."""
        info = MONITORS[self.code]
        values = {k: count(int(v)) if k in info.counts else v for k, v in self.params.items()}
        return info.template.format(partner=self.partner_id, period=str(self.period), **values)


# --- shared ---------------------------------------------------------------------------------------

Months = dict[str, dict[Period, PartnerMonth]]


def _by_partner(months: Iterable[PartnerMonth], period: Period) -> Months:
    found: Months = {}
    for m in months:
        if m.period > period:
            continue
        own = found.setdefault(m.partner_id, {})
        if m.period in own:
            raise UsageError(f"two returns for partner {m.partner_id} in {m.period}: pass one accepted return each")
        own[m.period] = m
    return found


def _rest(by_partner: Months, partner_id: str, periods: Iterable[Period]) -> list[PartnerMonth]:
    wanted = set(periods)
    return [m for pid, own in by_partner.items() if pid != partner_id for p, m in own.items() if p in wanted]


def _sum_bands(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for band, n in c.items():
            total[band] = total.get(band, 0) + n
    return total


# --- case mix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mix:
    rows: int
    participants: int  # the independent draws of case mix the rows stand for
    mean: float
    variance: float  # per row
    easiest_share: float

    @property
    def spread(self) -> float:
        return self.variance / self.participants


def _mix(counts: Mapping[str, int], participants: int, difficulty: Mapping[str, float], easiest: str) -> _Mix | None:
    rows = sum(counts.values())
    if rows == 0:
        return None
    unknown = sorted(b for b, n in counts.items() if n and b not in difficulty)
    if unknown:
        raise UsageError(f"rows in band(s) {', '.join(unknown)} that the framework's bands do not list")
    mean = sum(difficulty[b] * n for b, n in counts.items() if n) / rows
    squares = sum(n * (difficulty[b] - mean) ** 2 for b, n in counts.items() if n)
    variance = squares / (rows - 1) if rows > 1 else 0.0
    return _Mix(rows, max(1, min(participants, rows)), mean, variance, counts.get(easiest, 0) / rows)


def _participants(own: Mapping[Period, PartnerMonth], periods: Iterable[Period]) -> int:
    """Distinct participants over ``periods``, estimated: continuing rows were counted the month before."""
    group = set(periods)
    return sum(own[p].new if p.plus(-1) in group else own[p].rows for p in group)


def _case_mix_groups(
    by_partner: Months, pid: str, recent: list[Period], base: list[Period], difficulty: Mapping[str, float]
) -> tuple[list[_Mix], str] | None:
    """The partner's recent and baseline mix, then the rest's (its referrals, or its rows when it has none)."""
    own = by_partner[pid]
    easiest = _easiest(difficulty)
    groups = [
        _mix(_sum_bands(own[p].rows_by_band for p in periods), _participants(own, periods), difficulty, easiest)
        for periods in (recent, base)
    ]
    rest = [_rest(by_partner, pid, periods) for periods in (recent, base)]
    source = "referrals"
    counts = [_sum_bands(m.new_by_band for m in group) for group in rest]
    draws = [sum(c.values()) for c in counts]
    if 0 in draws:
        source = "rows"
        counts = [_sum_bands(m.rows_by_band for m in group) for group in rest]
        draws = [_rest_participants(by_partner, pid, periods) for periods in (recent, base)]
    groups += [_mix(c, n, difficulty, easiest) for c, n in zip(counts, draws, strict=True)]
    found = [g for g in groups if g is not None]
    return (found, source) if len(found) == len(groups) else None


def _easiest(difficulty: Mapping[str, float]) -> str:
    return min(difficulty, key=lambda b: (difficulty[b], b))


def _rest_participants(by_partner: Months, pid: str, periods: list[Period]) -> int:
    total = 0
    for other, own in by_partner.items():
        if other != pid:
            present = [p for p in periods if p in own]
            total += _participants(own, present)
    return total


def _case_mix_alert(by_partner: Months, pid: str, period: Period, difficulty: Mapping[str, float]) -> Alert | None:
    own = by_partner[pid]
    first_recent = period.plus(1 - RECENT_MONTHS)
    recent = sorted(p for p in own if p >= first_recent)
    base = sorted(p for p in own if p < first_recent)
    if period not in own or len(base) < MIN_BASELINE_MONTHS:
        return None
    found = _case_mix_groups(by_partner, pid, recent, base, difficulty)
    if found is None:
        return None
    (pr, pb, rr, rb), source = found
    se = math.sqrt(pr.spread + pb.spread + rr.spread + rb.spread)
    if se == 0:
        return None
    z = -((pr.mean - pb.mean) - (rr.mean - rb.mean)) / se
    if z < CASE_MIX_Z or pb.mean - pr.mean < MIN_DIFFICULTY_DROP or pr.rows < MIN_RECENT_ROWS:
        return None
    return Alert(
        MonitorCode.case_mix_shift,
        pid,
        period,
        statistic=z,
        threshold=CASE_MIX_Z,
        params={
            "difficulty_recent": pr.mean,
            "difficulty_baseline": pb.mean,
            "easiest_band": _easiest(difficulty),
            "easiest_share_recent": pr.easiest_share,
            "easiest_share_baseline": pb.easiest_share,
            "rows_recent": pr.rows,
            "rows_baseline": pb.rows,
            "rest_source": source,
            "rest_difficulty_recent": rr.mean,
            "rest_difficulty_baseline": rb.mean,
            "months_recent": len(recent),
            "months_baseline": len(base),
        },
    )


def case_mix_shift(months: Sequence[PartnerMonth], *, period: Period, bands: Mapping[str, Decimal]) -> list[Alert]:
    """Partners whose case mix moved towards easier cases beyond the move in the referral mix."""
    if not bands:
        return []
    difficulty = {b: float(v) for b, v in bands.items()}
    by_partner = _by_partner(months, period)
    alerts = (_case_mix_alert(by_partner, pid, period, difficulty) for pid in sorted(by_partner))
    return [a for a in alerts if a is not None]


# --- deadline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claims:
    rows: int
    claims: int

    @property
    def rate(self) -> float:
        return self.claims / self.rows

    @property
    def log_rate(self) -> float:
        return math.log((self.claims + 0.5) / self.rows)

    @property
    def spread(self) -> float:
        return 1 / (self.claims + 0.5)


def _claims(months: Iterable[PartnerMonth]) -> _Claims:
    ms = list(months)
    return _Claims(rows=sum(m.rows for m in ms), claims=sum(m.claims for m in ms))


def _rose(before: float, after: float) -> bool:
    return after >= before * (1 + MIN_CLAIM_RISE)


def _deadline_alert(by_partner: Months, pid: str, period: Period, deadline_periods: frozenset[Period]) -> Alert | None:
    own = by_partner[pid]
    deadline = sorted(p for p in own if p in deadline_periods)
    other = sorted(p for p in own if p not in deadline_periods)
    if period not in own or len(other) < MIN_BASELINE_MONTHS:
        return None
    pd, po = _claims(own[p] for p in deadline), _claims(own[p] for p in other)
    rd, ro = _claims(_rest(by_partner, pid, deadline)), _claims(_rest(by_partner, pid, other))
    if pd.rows < MIN_DEADLINE_ROWS or 0 in (po.rows, rd.rows, ro.rows):
        return None
    z = ((pd.log_rate - po.log_rate) - (rd.log_rate - ro.log_rate)) / math.sqrt(
        pd.spread + po.spread + rd.spread + ro.spread
    )
    # the rise beyond the rest's, cross-multiplied so that a zero rate divides nothing
    beyond = pd.rate * ro.rate >= (1 + MIN_CLAIM_RISE) * po.rate * rd.rate
    if z < DEADLINE_Z or not _rose(po.rate, pd.rate) or not beyond:
        return None
    return Alert(
        MonitorCode.deadline_cluster,
        pid,
        period,
        statistic=z,
        threshold=DEADLINE_Z,
        params={
            "rate_deadline": pd.rate,
            "rate_other": po.rate,
            "rows_deadline": pd.rows,
            "rows_other": po.rows,
            "claims_deadline": pd.claims,
            "claims_other": po.claims,
            "rest_rate_deadline": rd.rate,
            "rest_rate_other": ro.rate,
            "deadline_months": len(deadline),
            "other_months": len(other),
        },
    )


def deadline_cluster(
    months: Sequence[PartnerMonth], *, period: Period, deadline_periods: frozenset[Period]
) -> list[Alert]:
    """Partners whose claims per row rose in the months just before a deadline beyond the rest's rise."""
    if period not in deadline_periods:
        return []
    by_partner = _by_partner(months, period)
    alerts = (_deadline_alert(by_partner, pid, period, deadline_periods) for pid in sorted(by_partner))
    return [a for a in alerts if a is not None]


# --- volume ---------------------------------------------------------------------------------------


def _rest_ratio(by_partner: Months, pid: str, period: Period, previous: list[Period]) -> float:
    """The rest's rows in ``period`` over the median of its totals in ``previous`` (1 when unknown)."""
    peers = [own for other, own in by_partner.items() if other != pid and period in own]
    now = sum(own[period].rows for own in peers)
    before = median(sum(own[p].rows for own in peers if p in own) for p in previous)
    return now / before if before > 0 else 1.0


def _volume_alert(by_partner: Months, pid: str, period: Period) -> Alert | None:
    own = by_partner[pid]
    previous = sorted(p for p in own if p < period)[-VOLUME_MONTHS:]
    if period not in own or len(previous) < MIN_VOLUME_MONTHS:
        return None
    middle = median_high(own[p].rows for p in previous)
    if middle == 0:
        return None
    rows = own[period].rows
    rest_ratio = _rest_ratio(by_partner, pid, period, previous)
    expected = middle * max(1.0, rest_ratio)
    z = (rows - expected) / math.sqrt(expected)
    if rows < VOLUME_RATIO * expected or rows - expected < MIN_VOLUME_INCREASE or z < VOLUME_Z:
        return None
    return Alert(
        MonitorCode.volume_jump,
        pid,
        period,
        statistic=z,
        threshold=VOLUME_Z,
        params={
            "rows": rows,
            "median": middle,
            "ratio": rows / middle,
            "rest_ratio": rest_ratio,
            "months": len(previous),
        },
    )


def volume_jump(months: Sequence[PartnerMonth], *, period: Period) -> list[Alert]:
    """Partners whose rows in ``period`` jumped against their own recent months, beyond the rest's change."""
    by_partner = _by_partner(months, period)
    alerts = (_volume_alert(by_partner, pid, period) for pid in sorted(by_partner))
    return [a for a in alerts if a is not None]


# --- cycling --------------------------------------------------------------------------------------


def _two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Pooled two-proportion z of x1/n1 against x2/n2 (None when there is no spread to test against)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se if se > 0 else None


def _cycling_alert(c: Cycling, others: list[Cycling], period: Period) -> Alert | None:
    rest_n = sum(o.participants for o in others)
    rest_x = sum(o.cycled for o in others)
    z = _two_proportion_z(c.cycled, c.participants, rest_x, rest_n)
    if z is None or z < CYCLING_Z or c.cycled < MIN_CYCLED:
        return None
    share, rest_share = c.cycled / c.participants, rest_x / rest_n
    if share < CYCLING_RATIO * rest_share:
        return None
    return Alert(
        MonitorCode.participant_cycling,
        c.partner_id,
        period,
        statistic=z,
        threshold=CYCLING_Z,
        params={
            "participants": c.participants,
            "reentered": c.reentered,
            "rereferred": c.rereferred,
            "share": share,
            "rest_share": rest_share,
        },
    )


def participant_cycling(cycling: Sequence[Cycling], *, period: Period) -> list[Alert]:
    """Partners whose participants cycle in and out far more often than the rest's."""
    ids = [c.partner_id for c in cycling]
    if len(set(ids)) != len(ids):
        raise UsageError("cycling figures name a partner twice: pass one per partner")
    alerts = (_cycling_alert(c, [o for o in cycling if o is not c], period) for c in cycling)
    return sorted((a for a in alerts if a is not None), key=lambda a: a.partner_id)


def run_monitors(
    months: Sequence[PartnerMonth],
    cycling: Sequence[Cycling],
    *,
    period: Period,
    bands: Mapping[str, Decimal],
    deadline_periods: frozenset[Period],
) -> list[Alert]:
    """All four monitors for ``period``, sorted by partner and code."""
    alerts = [
        *case_mix_shift(months, period=period, bands=bands),
        *deadline_cluster(months, period=period, deadline_periods=deadline_periods),
        *volume_jump(months, period=period),
        *participant_cycling(cycling, period=period),
    ]
    return sorted(alerts, key=lambda a: (a.partner_id, a.code))
