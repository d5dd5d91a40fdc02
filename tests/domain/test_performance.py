"""DESIGN.md section 6, fair comparison and funnel limits: a worked example derived by hand, an
independent numpy/scipy computation on a seeded random alliance, and the edge cases."""

import math
from decimal import Decimal

import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats.mstats import winsorize

from domain.performance import (
    Z_95,
    Z_998,
    AlliancePerformance,
    BandCounts,
    PartnerPerformance,
    alliance_rates,
    assess,
    estimate_overdispersion,
    winsorised,
)
from domain.periods import Period

APRIL, MAY = Period(2026, 4), Period(2026, 5)
WEIGHTS = {"m1": Decimal(3), "m2": Decimal(1)}
TIGHT = 1e-12


def counts(partner: str, period: Period, band: str, rows: int, m1: int, m2: int) -> BandCounts:
    return BandCounts(partner, period, band, rows, {"m1": m1, "m2": m2})


# ---------------------------------------------------------------------------------------------
# Worked example: partners A, B, C (and D, with no rows), bands std and cx, measures m1 (weight 3)
# and m2 (weight 1), months April and May.
#
#   partner month band rows  m1  m2
#   A       Apr   std   10    3   6
#   A       May   cx    10    1   3
#   B       Apr   std   20   10  15
#   B       Apr   cx    10    3   5
#   C       Apr   std   10    7   9
#   C       May   cx    20    6  12
#
# Alliance rates r_mb (all partners and months):
#   std: 40 rows; m1 3+10+7 = 20 -> r = 0.5;   m2 6+15+9 = 30 -> r = 0.75
#   cx:  40 rows; m1 1+3+6  = 10 -> r = 0.25;  m2 3+5+12 = 20 -> r = 0.5
# r(1 - r): 0.5 -> 0.25, 0.75 -> 0.1875, 0.25 -> 0.1875
#
# O = 3 m1 + m2:
#   O_A = 3(3+1) + (6+3)      = 12 + 9  = 21
#   O_B = 3(10+3) + (15+5)    = 39 + 20 = 59
#   O_C = 3(7+6) + (9+12)     = 39 + 21 = 60
# E = 3 Σ_b n_b r_m1b + Σ_b n_b r_m2b:
#   E_A = 3(10·0.5 + 10·0.25) + (10·0.75 + 10·0.5) = 3·7.5 + 12.5  = 35
#   E_B = 3(20·0.5 + 10·0.25) + (20·0.75 + 10·0.5) = 3·12.5 + 20   = 57.5
#   E_C = 3(10·0.5 + 20·0.25) + (10·0.75 + 20·0.5) = 3·10 + 17.5   = 47.5
#   ΣO = 140 = ΣE, as indirect standardisation must give.
# V = 9 Σ_b n_b r(1-r)_m1b + Σ_b n_b r(1-r)_m2b:
#   V_A = 9(10·0.25 + 10·0.1875) + (10·0.1875 + 10·0.25) = 9·4.375 + 4.375 = 43.75
#   V_B = 9(20·0.25 + 10·0.1875) + (20·0.1875 + 10·0.25) = 9·6.875 + 6.25  = 68.125
#   V_C = 9(10·0.25 + 20·0.1875) + (10·0.1875 + 20·0.25) = 9·6.25 + 6.875  = 63.125
# z = (O - E)/√V, ratio = O/E, se = √V/E:
#   A: z = -14/√43.75 = -14/6.614378 = -2.116601;  ratio 21/35 = 0.6;         se = 6.614378/35 = 0.188982
#   B: z = 1.5/√68.125 = 1.5/8.253787 = 0.181735;  ratio 59/57.5 = 1.026087;  se = 8.253787/57.5 = 0.143544
#   C: z = 12.5/√63.125 = 12.5/7.945124 = 1.573292; ratio 60/47.5 = 1.263158; se = 7.945124/47.5 = 0.167266
#
# Overdispersion, k = 3 comparable partners (D has no rows): ⌊3·10/100⌋ = 0, nothing winsorised.
#   z² = 196/43.75 = 4.48;  2.25/68.125 = 0.033028;  156.25/63.125 = 2.475248;  Σ = 6.988275
#   φ = 6.988275/3 = 2.329425;  kφ = 6.988275 > k - 1 = 2, so τ² > 0
#   w = E²/V: w_A = 1225/43.75 = 28;  w_B = 3306.25/68.125 = 48.532110;  w_C = 2256.25/63.125 = 35.742574
#   Σw = 112.274684;  Σw² = 784 + 2355.365740 + 1277.531585 = 4416.897325;  Σw²/Σw = 39.340100
#   τ² = (6.988275 - 2) / (112.274684 - 39.340100) = 4.988275/72.934584 = 0.068394
# Limits at z: 1 ± z √(se² + τ²):
#   A: √(0.035714 + 0.068394) = √0.104108 = 0.322658
#      95%:   1 - 1.959964·0.322658 = 0.367602     99.8%: 1 - 3.090232·0.322658 = 0.002912
#      adjusted z = (0.6 - 1)/0.322658 = -1.239703 (the raw z of -2.12 would have been below -1.96)
#   B: √(0.020605 + 0.068394) = 0.298327;  95% lower 1 - 1.959964·0.298327 = 0.415291
#   C: √(0.027978 + 0.068394) = 0.310438;  95% lower 1 - 1.959964·0.310438 = 0.391553
#   Without overdispersion A's 95% lower limit is 1 - 1.959964·0.188982 = 0.629600 > 0.6.
# Drawn funnel: c = ΣV/ΣE = (43.75 + 68.125 + 63.125)/140 = 175/140 = 1.25; at E = 35,
#   s² = 1.25/35 = 0.035714, the same as A's own se² (V_A/E_A happens to be 1.25 too).
# Monthly trend:
#   A Apr: O = 3·3 + 6 = 15,  E = 3·5 + 7.5 = 22.5 (ratio 0.666667)
#   A May: O = 3·1 + 3 = 6,   E = 3·2.5 + 5 = 12.5 (ratio 0.48)
#   B Apr: 30 rows, O = 59, E = 57.5 (no May point: no May rows)
#   C Apr: O = 21 + 9 = 30,   E = 15 + 7.5 = 22.5;   C May: O = 18 + 12 = 30, E = 3·5 + 10 = 25
# ---------------------------------------------------------------------------------------------
WORKED = [
    counts("A", APRIL, "std", 10, 3, 6),
    counts("A", MAY, "cx", 10, 1, 3),
    counts("B", APRIL, "std", 20, 10, 15),
    counts("B", APRIL, "cx", 10, 3, 5),
    counts("C", APRIL, "std", 10, 7, 9),
    counts("C", MAY, "cx", 20, 6, 12),
]
TAU2 = 4.988275047688255 / 72.93458421788432  # see the comment: (kφ - (k-1)) / (Σw - Σw²/Σw)


@pytest.fixture
def worked() -> AlliancePerformance:
    return assess(WORKED, WEIGHTS, ["A", "B", "C", "D"])


def partner(performance: AlliancePerformance, partner_id: str) -> PartnerPerformance:
    found = performance.partner(partner_id)
    assert found is not None
    return found


def test_worked_rates() -> None:
    assert alliance_rates(WORKED, ["m1", "m2"]) == {
        ("m1", "std"): 0.5,
        ("m2", "std"): 0.75,
        ("m1", "cx"): 0.25,
        ("m2", "cx"): 0.5,
    }


@pytest.mark.parametrize(
    ("pid", "o", "e", "v", "z", "ratio", "se"),
    [
        ("A", 21, 35, 43.75, -2.1166010488516727, 0.6, 0.1889822365046136),
        ("B", 59, 57.5, 68.125, 0.18173475984461482, 59 / 57.5, 0.1435441219062537),
        ("C", 60, 47.5, 63.125, 1.5732919388188815, 60 / 47.5, 0.16726577454811267),
    ],
)
def test_worked_partner_figures(
    worked: AlliancePerformance, pid: str, o: float, e: float, v: float, z: float, ratio: float, se: float
) -> None:
    p = partner(worked, pid)
    assert p.comparable
    assert (p.observed, p.expected, p.variance) == (pytest.approx(o, rel=TIGHT), pytest.approx(e), pytest.approx(v))
    assert p.z == pytest.approx(z, rel=1e-9)
    assert p.ratio == pytest.approx(ratio, rel=TIGHT)
    assert p.standard_error == pytest.approx(se, rel=1e-9)


def test_worked_case_mix_and_rows(worked: AlliancePerformance) -> None:
    assert [(p.partner_id, p.rows, dict(p.rows_by_band)) for p in worked.partners] == [
        ("A", 20, {"cx": 10, "std": 10}),
        ("B", 30, {"cx": 10, "std": 20}),
        ("C", 30, {"cx": 20, "std": 10}),
        ("D", 0, {}),
    ]
    assert sum(p.observed for p in worked.partners) == pytest.approx(140)
    assert sum(p.expected for p in worked.partners) == pytest.approx(140)


def test_worked_overdispersion(worked: AlliancePerformance) -> None:
    od = worked.overdispersion
    assert od.partners == 3
    assert od.phi == pytest.approx(6.988275047688255 / 3, rel=1e-9)
    assert od.tau2 == pytest.approx(0.06839382305637491, rel=1e-9)
    assert od.tau2 == pytest.approx(TAU2, rel=1e-9)
    assert od.applied
    assert all(p.tau2 == od.tau2 for p in worked.partners)


@pytest.mark.parametrize(
    ("pid", "spread", "lower95", "adjusted"),
    [
        ("A", 0.3226578819286159, 0.3676021720919357, -1.2397031729368853),
        ("B", 0.29832656266281815, 0.41529068154924487, 0.08744429691037522),
        ("C", 0.31043785592539286, 0.3915529829483958, 0.8476991117993242),
    ],
)
def test_worked_limits(worked: AlliancePerformance, pid: str, spread: float, lower95: float, adjusted: float) -> None:
    p = partner(worked, pid)
    limits = p.limits(Z_95)
    assert limits is not None
    assert limits[0] == pytest.approx(lower95, rel=1e-9)
    assert limits[1] == pytest.approx(1 + Z_95 * spread, rel=1e-9)
    assert p.z_adjusted == pytest.approx(adjusted, rel=1e-9)


def test_worked_a_is_below_its_limit_only_without_overdispersion(worked: AlliancePerformance) -> None:
    a = partner(worked, "A")
    limits = a.limits(Z_998)
    assert limits is not None and limits[0] == pytest.approx(1 - 3.090232306167813 * 0.3226578819286159, rel=1e-9)
    assert a.ratio is not None and a.ratio > a.limits(Z_95)[0]  # type: ignore[index]
    plain = partner(assess(WORKED, WEIGHTS, ["A", "B", "C", "D"], overdispersion=False), "A")
    plain_limits = plain.limits(Z_95)
    assert plain_limits is not None
    assert plain_limits[0] == pytest.approx(1 - Z_95 * 0.1889822365046136, rel=1e-9)  # 0.629600
    assert plain_limits[0] == pytest.approx(0.6296, abs=1e-5)
    assert plain.ratio is not None and plain.ratio < plain_limits[0]
    assert plain.z_adjusted == pytest.approx(plain.z, rel=TIGHT)


def test_worked_funnel(worked: AlliancePerformance) -> None:
    assert worked.variance_per_expected == pytest.approx(1.25, rel=TIGHT)
    low, high = worked.funnel(35, Z_95)
    a_limits = partner(worked, "A").limits(Z_95)
    assert a_limits is not None
    assert (low, high) == (pytest.approx(a_limits[0], rel=1e-9), pytest.approx(a_limits[1], rel=1e-9))
    assert low == pytest.approx(1 - Z_95 * math.sqrt(1.25 / 35 + TAU2), rel=1e-9)


def test_worked_monthly_trend(worked: AlliancePerformance) -> None:
    def trend(pid: str) -> list[tuple[Period, int, float, float, float | None]]:
        return [(m.period, m.rows, m.observed, m.expected, m.ratio) for m in partner(worked, pid).months]

    assert trend("A") == [
        (APRIL, 10, 15, pytest.approx(22.5), pytest.approx(15 / 22.5)),
        (MAY, 10, 6, pytest.approx(12.5), pytest.approx(0.48)),
    ]
    assert trend("B") == [(APRIL, 30, 59, pytest.approx(57.5), pytest.approx(59 / 57.5))]
    assert trend("C") == [
        (APRIL, 10, 30, pytest.approx(22.5), pytest.approx(30 / 22.5)),
        (MAY, 20, 30, pytest.approx(25), pytest.approx(1.2)),
    ]
    assert partner(worked, "D").months == ()


def test_worked_partner_without_rows(worked: AlliancePerformance) -> None:
    d = partner(worked, "D")
    assert (d.rows, d.observed, d.expected, d.variance) == (0, 0, 0, 0)
    assert not d.comparable
    assert d.ratio is None and d.z is None and d.standard_error is None and d.z_adjusted is None
    assert d.limits(Z_95) is None


# ---------------------------------------------------------------------------------------------
# Independent computation with numpy / scipy on a seeded random alliance.
# ---------------------------------------------------------------------------------------------
def random_alliance(seed: int, partners: int = 25, bands: int = 3, months: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """rows[i, b, t] and achieved[i, m, b, t] for 3 measures; partners differ in size, mix and rates."""
    rng = np.random.default_rng(seed)
    size = rng.integers(5, 120, size=partners)
    mix = rng.dirichlet(np.ones(bands), size=partners)
    rows = np.stack([rng.multinomial(size[i], mix[i], size=months).T for i in range(partners)])  # (i, b, t)
    base = rng.uniform(0.1, 0.6, size=(3, bands))
    quality = rng.lognormal(0, 0.25, size=partners)
    p = np.clip(base[None, :, :] * quality[:, None, None], 0, 0.95)  # (i, m, b)
    achieved = rng.binomial(rows[:, None, :, :], p[:, :, :, None])  # (i, m, b, t)
    return rows, achieved


def as_counts(rows: np.ndarray, achieved: np.ndarray, ids: list[str], bands: list[str]) -> list[BandCounts]:
    partners, _, months = rows.shape
    out = []
    for i in range(partners):
        for b, band in enumerate(bands):
            for t in range(months):
                if rows[i, b, t] or i % 2:  # odd partners also report empty cells, even ones leave them out
                    out.append(
                        BandCounts(
                            ids[i],
                            APRIL.plus(t),
                            band,
                            int(rows[i, b, t]),
                            {m: int(achieved[i, j, b, t]) for j, m in enumerate(["m1", "m2", "m3"])},
                        )
                    )
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 20261001])
@pytest.mark.parametrize("overdispersion", [True, False])
def test_matches_an_independent_numpy_computation(seed: int, overdispersion: bool) -> None:
    rows, achieved = random_alliance(seed)
    k = rows.shape[0]
    ids = [f"p{i:02d}" for i in range(k)]
    bands = ["standard", "complex", "very_complex"]
    weights = {"m1": Decimal(3), "m2": Decimal(2), "m3": Decimal("0.5")}
    w = np.array([3.0, 2.0, 0.5])
    result = assess(as_counts(rows, achieved, ids, bands), weights, reversed(ids), overdispersion=overdispersion)

    n_ib = rows.sum(axis=2)  # (i, b)
    a_imb = achieved.sum(axis=3)  # (i, m, b)
    r_mb = a_imb.sum(axis=0) / n_ib.sum(axis=0)  # (m, b)
    observed = (w[None, :] * a_imb.sum(axis=2)).sum(axis=1)
    expected = np.einsum("m,ib,mb->i", w, n_ib, r_mb)
    variance = np.einsum("m,ib,mb->i", w**2, n_ib, r_mb * (1 - r_mb))
    z = (observed - expected) / np.sqrt(variance)
    se = np.sqrt(variance) / expected
    z_w = np.asarray(winsorize(z, limits=(0.1, 0.1)))
    phi = float(np.mean(z_w**2))
    wts = 1 / se**2
    tau2 = max(0.0, (k * phi - (k - 1)) / (wts.sum() - (wts**2).sum() / wts.sum()))
    spread = np.sqrt(se**2 + (tau2 if overdispersion else 0.0))
    z95, z998 = norm.ppf(0.975), norm.ppf(0.999)

    for (m, b), rate in result.rates.items():
        assert rate == pytest.approx(r_mb[["m1", "m2", "m3"].index(m), bands.index(b)], rel=1e-12)
    assert [p.partner_id for p in result.partners] == ids
    assert result.overdispersion.partners == k
    assert result.overdispersion.phi == pytest.approx(phi, rel=1e-9)
    assert result.overdispersion.tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-15)
    assert result.overdispersion.applied == (overdispersion and tau2 > 0)
    assert result.variance_per_expected == pytest.approx(variance.sum() / expected.sum(), rel=1e-12)
    for i, p in enumerate(result.partners):
        assert p.rows == n_ib[i].sum()
        assert p.observed == pytest.approx(observed[i], rel=1e-12)
        assert p.expected == pytest.approx(expected[i], rel=1e-12)
        assert p.variance == pytest.approx(variance[i], rel=1e-12)
        assert p.z == pytest.approx(z[i], rel=1e-9)
        assert p.standard_error == pytest.approx(se[i], rel=1e-9)
        assert p.z_adjusted == pytest.approx((observed[i] / expected[i] - 1) / spread[i], rel=1e-9)
        for zz in (z95, z998):
            assert p.limits(zz) == pytest.approx((1 - zz * spread[i], 1 + zz * spread[i]), rel=1e-9)
        monthly_o = (w[:, None] * achieved[i].sum(axis=1)).sum(axis=0)  # (t,)
        monthly_e = np.einsum("m,bt,mb->t", w, rows[i], r_mb)
        assert [m.observed for m in p.months] == pytest.approx(list(monthly_o[rows[i].sum(axis=0) > 0]), rel=1e-12)
        assert [m.expected for m in p.months] == pytest.approx(list(monthly_e[rows[i].sum(axis=0) > 0]), rel=1e-12)


def test_the_random_alliance_is_overdispersed() -> None:
    """The cross-check above would not test τ² if it were always 0: quality differs, so τ² > 0 here."""
    rows, achieved = random_alliance(1)
    ids = [f"p{i:02d}" for i in range(rows.shape[0])]
    result = assess(as_counts(rows, achieved, ids, ["s", "c", "v"]), {"m1": Decimal(3), "m2": Decimal(2)}, ids)
    assert result.overdispersion.tau2 > 0.001 and result.overdispersion.applied


@pytest.mark.parametrize("k", [3, 9, 10, 11, 19, 20, 25, 29, 30, 31, 57, 70, 100])
def test_winsorised_agrees_with_scipy(k: int) -> None:
    values = list(np.random.default_rng(k).normal(size=k))
    assert winsorised(values) == pytest.approx(list(np.asarray(winsorize(np.array(values), limits=(0.1, 0.1)))))


# ---------------------------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------------------------
def test_z_constants() -> None:
    assert pytest.approx(1.959963984540054, rel=1e-12) == Z_95
    assert pytest.approx(3.090232306167813, rel=1e-12) == Z_998
    assert norm.ppf(0.975) == pytest.approx(Z_95, rel=1e-12)
    assert norm.ppf(0.999) == pytest.approx(Z_998, rel=1e-12)


def test_fewer_than_two_comparable_partners_no_overdispersion() -> None:
    single = assess([counts("A", APRIL, "std", 10, 3, 6)], WEIGHTS, ["A", "Z"])
    od = single.overdispersion
    assert (od.partners, od.phi, od.tau2, od.applied) == (1, 1.0, 0.0, False)
    only = partner(single, "A")
    assert only.comparable and only.ratio == pytest.approx(1.0) and only.z == pytest.approx(0.0)
    assert not partner(single, "Z").comparable
    none = assess([], WEIGHTS, ["A", "B"])
    assert none.overdispersion == estimate_overdispersion(none.partners, apply=True)
    assert (none.overdispersion.partners, none.overdispersion.applied) == (0, False)
    assert none.variance_per_expected == 0.0
    assert all(p.ratio is None for p in none.partners)


def test_a_partner_whose_band_never_achieves_is_not_comparable() -> None:
    """Rows exist but nothing is expected (r_mb = 0 for their band): no ratio, no z."""
    perf = assess(
        [counts("A", APRIL, "std", 10, 3, 6), counts("B", APRIL, "std", 10, 5, 2), counts("C", APRIL, "cx", 8, 0, 0)],
        WEIGHTS,
        ["A", "B", "C"],
    )
    c = partner(perf, "C")
    assert c.rows == 8 and c.expected == 0 and not c.comparable and c.ratio is None
    assert perf.overdispersion.partners == 2


def test_overdispersion_off_leaves_tau2_unapplied() -> None:
    on = assess(WORKED, WEIGHTS, ["A", "B", "C"])
    off = assess(WORKED, WEIGHTS, ["A", "B", "C"], overdispersion=False)
    assert off.overdispersion.tau2 == pytest.approx(on.overdispersion.tau2) and off.overdispersion.tau2 > 0
    assert off.overdispersion.phi == pytest.approx(on.overdispersion.phi)
    assert not off.overdispersion.applied and on.overdispersion.applied
    for p in off.partners:
        assert p.tau2 == 0.0
        assert p.z_adjusted == pytest.approx(p.z, rel=TIGHT)
    assert off.funnel(35, Z_95)[0] == pytest.approx(1 - Z_95 * math.sqrt(1.25 / 35), rel=1e-12)
    assert off.funnel(35, Z_95)[0] > on.funnel(35, Z_95)[0]


def test_no_excess_variation_means_tau2_zero() -> None:
    """kφ ≤ k − 1: τ² = 0 and nothing is applied even when overdispersion is on."""
    perf = assess(
        [counts("A", APRIL, "std", 10, 5, 7), counts("B", APRIL, "std", 10, 5, 8), counts("C", APRIL, "std", 10, 5, 8)],
        WEIGHTS,
        ["A", "B", "C"],
    )
    assert perf.overdispersion.partners == 3
    assert 0 < perf.overdispersion.phi * 3 <= 2
    assert perf.overdispersion.tau2 == 0.0 and not perf.overdispersion.applied


def test_funnel_narrows_as_expected_grows(worked: AlliancePerformance) -> None:
    for z in (Z_95, Z_998):
        lows, highs = zip(*(worked.funnel(e, z) for e in (1, 5, 20, 100, 1000, 100_000)), strict=True)
        assert list(lows) == sorted(lows) and len(set(lows)) == len(lows)
        assert list(highs) == sorted(highs, reverse=True) and len(set(highs)) == len(highs)
        assert all(lo < 1 < hi for lo, hi in zip(lows, highs, strict=True))
        # τ² keeps the funnel from closing: at huge E the half-width tends to z·τ
        assert 1 - lows[-1] == pytest.approx(z * math.sqrt(TAU2), rel=1e-3)
    assert worked.funnel(100, Z_998)[0] < worked.funnel(100, Z_95)[0]


@pytest.mark.parametrize("k", range(10))
def test_winsorised_with_fewer_than_ten_values_changes_nothing(k: int) -> None:
    values = [float((i * 7) % 5 - i) for i in range(k)]
    assert winsorised(values) == values


def test_winsorised_ten_values_moves_one_at_each_end() -> None:
    values = [5.0, -9.0, 1.0, 2.0, 3.0, 4.0, 0.0, 6.0, 7.0, 40.0]
    assert winsorised(values) == [5.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 6.0, 7.0, 7.0]
    assert winsorised(values, percent=20) == [5.0, 1.0, 1.0, 2.0, 3.0, 4.0, 1.0, 6.0, 6.0, 6.0]


def test_a_point_is_drawn_on_the_side_of_the_funnel_its_own_limits_put_it() -> None:
    from domain.performance import DRAWN_MARGIN, Against, against, on_its_side

    assert against(0.5, (0.6, 1.4)) is Against.below and against(1.5, (0.6, 1.4)) is Against.above
    assert against(0.6, (0.6, 1.4)) is Against.within
    # Rounded to 0.7, a partner below its own limits would sit on the drawn line at 0.7: it is drawn just below.
    assert on_its_side(0.7, (0.7, 1.3), Against.below) == 0.7 - DRAWN_MARGIN
    assert on_its_side(1.3, (0.7, 1.3), Against.above) == 1.3 + DRAWN_MARGIN
    assert on_its_side(0.65, (0.7, 1.3), Against.within) == 0.7 + DRAWN_MARGIN
    assert on_its_side(0.5, (0.7, 1.3), Against.below) == 0.5  # already on its side: where it is


def test_the_funnel_has_no_limits_at_zero_expected_or_without_spread() -> None:
    """Issue 30: a month with one return gave E = 0 after rounding and the plot divided by it."""
    counts = [BandCounts("a", Period(2026, 4), "standard", 3, {"m": 0})]
    nothing = assess(counts, {"m": Decimal(1)}, ["a"])
    assert not nothing.drawable  # no outcome anywhere: no spread to draw
    with pytest.raises(ValueError):
        nothing.funnel(10.0, 1.96)
    some = assess([BandCounts("a", Period(2026, 4), "standard", 30, {"m": 12})], {"m": Decimal(1)}, ["a"])
    assert some.drawable
    with pytest.raises(ValueError):
        some.funnel(0.0, 1.96)
    low, high = some.funnel(12.0, 1.96)
    assert low < 1 < high
