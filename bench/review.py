"""DESIGN.md section 6's targets for the annual review, per contract year: `python -m bench review`.

True quality is never observed, so the review is judged on simulated alliances where it is known
(``bench.review_sim``: the issue 29 generator, its choices stated there). For each alliance size (default N = 30, 12
and 100; ``--partners`` for one), ``alliances`` alliances of ``years`` years (five-year contracts back to back) are
judged by every rule compared (``bench.review_targets.rules_compared``), side by side: each target with its value,
its standard error (alliances as clusters), met or not, and whether it is decided (two standard errors away), for
contract year 1 (no previous year) and years 2 to 5 apart, and per five-year contract.

The figures are the domain's: the mirror's verdicts are checked against ``domain.performance.assess`` +
``domain.review.classify`` on the first ``check`` alliances of each size, partner by partner (``domain_check``;
``differ`` must be 0). Measured here (2 shared cores): about a minute for the default run (54 s), most of it N = 100.
"""

import dataclasses
import time
from typing import Any

from bench import review_sim as sim
from bench.review_domain import check as domain_check
from bench.review_targets import TARGETS, Rule, report, rules_compared, simulate
from domain.contract import Review
from domain.performance import WINSOR_PERCENT

SHIPPED = Review()


def shipped_rule() -> Rule:
    r = SHIPPED
    if not r.persistence:
        return Rule(r.rank_by.value, "plain", "plain")
    return Rule(r.rank_by.value, r.first_year.value, "persistence")


def run(
    partners: tuple[int, ...] = (30, 12, 100),
    alliances: int = 2000,
    years: int = 25,
    seed: int = 2026,
    check: int = 2,
    scenario: str = "gentle",
    **overrides: Any,
) -> dict[str, Any]:
    """``scenario``: a named generator (``bench.review_sim.SCENARIOS``); ``overrides``: any of its parameters."""
    start = time.perf_counter()
    if scenario not in sim.SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}: choose from {', '.join(sim.SCENARIOS)}")
    generator = dataclasses.replace(sim.SCENARIOS[scenario], **{k: v for k, v in overrides.items() if v is not None})
    shipped = shipped_rule()
    rules = rules_compared()
    out: dict[str, Any] = {
        "generator": {
            "partners": list(partners),
            "alliances": alliances,
            "years": years,
            "contract_years": sim.CONTRACT_YEARS,
            "seed": seed,
            "scenario": scenario,
            "parameters": dataclasses.asdict(generator),
            **generator.describe(),
        },
        "method": {
            "winsorising": f"z-scores winsorised at {WINSOR_PERCENT}% each end: the lowest and highest "
            "floor(k/10) of the k partners set to the next value in (none below k = 10)",
            "bottom_fraction": f"floor(k x {SHIPPED.bottom_fraction}), at least one; persistence: last year's "
            "floor(k x 0.2) by the same key; the true worst decile: floor(N x 0.1), at least one",
            "control_limit_z": float(SHIPPED.control_limit_z),
            "shipped_rule": shipped.name,
        },
        "targets": {t[0]: {"words": t[1], "target": t[2], "per": t[4]} for t in TARGETS},
    }
    if shipped not in rules:
        rules.insert(0, shipped)
    for n in partners:
        began = time.perf_counter()
        s = simulate(partners=n, alliances=alliances, years=years, seed=seed + n, keep=False, generator=generator)
        figures = report(s, rules)
        checked = (
            simulate(partners=n, alliances=check, years=min(years, 10), seed=seed + n, keep=True, generator=generator)
            if check
            else None
        )
        out[f"N={n}"] = {
            "shipped": figures[shipped.name],
            "rules": figures,
            "domain_check": domain_check(checked, check) if checked else None,
            "seconds": round(time.perf_counter() - began, 1),
        }
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out
