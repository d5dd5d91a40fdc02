"""Benchmarks print JSON and are never run as timed tests: `python -m bench payments`.

`python -m bench payment-run --partners 20 --rows 5000`: the options go to payment-run;
`python -m bench review --alliances 2000 --years 25 --seed 2026 [--partners 30] [--scenario issue] [--sigma-q ...]`:
the review's targets per contract year (N = 30, 12 and 100 unless --partners; the generator gentle or issue, each
parameter an option); `python -m bench review-league --years 200 --scenario both`: against a
raw league table;
`python -m bench intake-concurrency --returns 200 --submitters 8 --database-url URL`: to intake-concurrency;
`python -m bench national --partners 200 --rows 5000 [--stages floor,cycle]`: a national month, stage by stage;
`python -m bench national-scaling --series 20,50,200`: the read floor and the whole cycle at each size;
`python -m bench open-books --partners 200 --rows 5000 --months 3`: spot checks, monitors and the report;
`python -m bench web --rows 5000 --partners 20 --pages 200 [--concurrent-rows 200 --checkers 2]`: the portal over
HTTP (an upload to its findings against `alliance validate`, partners uploading at once, the months page)."""

import argparse
import json
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bench.progress import step
from domain.money import largest_remainder


def payments_split(partners: int = 200, repeats: int = 200) -> dict[str, float]:
    weights = {f"partner-{i:03d}": Decimal(i * 7 % 97) + Decimal("0.5") for i in range(partners)}
    start = time.perf_counter()
    for _ in range(repeats):
        largest_remainder(4_000_000, weights)
    elapsed = time.perf_counter() - start
    return {"partners": partners, "repeats": repeats, "seconds_per_split": elapsed / repeats}


def read_return_5000(rows: int = 5000, repeats: int = 5) -> dict[str, float | int]:
    """Our reader on a filled 5,000-row return, against python-calamine reading the same values."""
    import io
    from datetime import date
    from pathlib import Path

    from python_calamine import CalamineWorkbook

    from domain.periods import Period
    from integrations.spreadsheets.filler import fill_return
    from integrations.spreadsheets.reader import read_return
    from integrations.spreadsheets.templates import build_template
    from integrations.workspace import load_contract

    contract = load_contract(Path(__file__).resolve().parents[1] / "alliance.yaml")
    bands = list(contract.framework.bands)
    data = [
        {
            "participant_id": f"P{n:05d}",
            "referral_date": date(2026, 10, 1 + n % 28),
            "complexity_band": bands[n % len(bands)],
            **{m: "Yes" if (n + i) % 3 else "No" for i, m in enumerate(contract.framework.measure_ids)},
            "postcode_district": f"NF{n % 9 + 1}",
        }
        for n in range(rows)
    ]
    content = fill_return(build_template(contract, contract.partners[0], Period(2026, 10)), data)

    def calamine() -> None:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        for name in ("About", "Participants", "Summary"):
            book.get_sheet_by_name(name).to_python(skip_empty_area=False)

    def ours() -> None:
        result = read_return("bench.xlsx", content)
        assert result.raw is not None and len(result.raw.table) == rows

    def best_of(run: Callable[[], None]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    floor, reader = best_of(calamine), best_of(ours)
    return {
        "rows": rows,
        "file_bytes": len(content),
        "calamine_seconds": round(floor, 4),
        "reader_seconds": round(reader, 4),
        "ratio_to_calamine": round(reader / floor, 2),
    }


def feedback_5000() -> dict[str, Any]:
    from bench.feedback import landing_to_feedback

    return landing_to_feedback()


def payment_run(partners: int = 200, rows: int = 5000) -> dict[str, Any]:
    from bench.payment_run import payment_run as run

    return run(partners=partners, rows=rows)


def review(
    partners: int | None = None,
    alliances: int = 2000,
    years: int = 25,
    seed: int = 2026,
    check: int = 2,
    scenario: str = "gentle",
    **generator: Any,
) -> dict[str, Any]:
    from bench.review import run

    return run(
        partners=(partners,) if partners else (30, 12, 100),
        alliances=alliances,
        years=years,
        seed=seed,
        check=check,
        scenario=scenario,
        **generator,
    )


def review_league(years: int = 200, seed: int = 2026, scenario: str = "both") -> dict[str, Any]:
    from bench.review_league import run_scenarios

    return run_scenarios(scenario, years=years, seed=seed)


def notifications() -> dict[str, Any]:
    from bench.notifications import relay

    return relay()


def intake_concurrency(returns: int = 200, submitters: int = 8, database_url: str | None = None) -> dict[str, Any]:
    from bench.intake_concurrency import intake_concurrency as run

    return run(returns=returns, submitters=submitters, database_url=database_url)


def national(partners: int = 200, rows: int = 5000, seed: int = 2026, stages: str = "") -> dict[str, Any]:
    from bench.national import benchmark

    chosen = tuple(s for s in stages.split(",") if s) or None
    return benchmark(partners=partners, rows=rows, seed=seed, stages=chosen)


def national_scaling(series: str = "20,50,200", rows: int = 5000, seed: int = 2026) -> dict[str, Any]:
    from bench.national import scaling

    return scaling(series=tuple(int(n) for n in series.split(",")), rows=rows, seed=seed)


def open_books(partners: int = 200, rows: int = 5000, months: int = 3, seed: int = 2026) -> dict[str, Any]:
    from bench.open_books import open_books as run

    return run(partners=partners, rows=rows, months=months, seed=seed)


def web(
    rows: int = 5000, partners: int = 20, pages: int = 200, concurrent_rows: int = 200, checkers: int = 2
) -> dict[str, Any]:
    from bench.web import benchmark

    return benchmark(rows=rows, partners=partners, pages=pages, concurrent_rows=concurrent_rows, checkers=checkers)


BENCHES: dict[str, Callable[..., dict[str, Any]]] = {
    "payments": payments_split,
    "read": read_return_5000,
    "feedback": feedback_5000,
    "payment-run": payment_run,
    "notifications": notifications,
    "review": review,
    "review-league": review_league,
    "intake-concurrency": intake_concurrency,
    "national": national,
    "national-scaling": national_scaling,
    "open-books": open_books,
    "web": web,
}


def _sizes(text: str) -> tuple[int, int, int]:
    small, medium, large = (int(v) for v in text.split(","))
    return small, medium, large


# review: the generator's parameters (bench.review_sim.Generator), each overriding the scenario's
REVIEW_GENERATOR_OPTIONS: tuple[tuple[str, Callable[[str], Any], str], ...] = (
    ("--size-median", float, "partners' rows a month, lognormal median"),
    ("--size-sdlog", float, "sd of log rows a month"),
    ("--size-min", int, "fewest rows a month"),
    ("--mix-concentration", float, "Dirichlet concentration of the case mix"),
    ("--sentinel-sizes", _sizes, "the average partners' rows a month, small,medium,large"),
    ("--sigma-q", float, "sd of log true quality"),
    ("--rho", float, "year-to-year correlation of log quality"),
    ("--base-scale", float, "every base rate multiplied by it"),
    ("--mix-difficulty", float, "unmodelled case-mix difficulty per band of mean mix (not quality)"),
    ("--mix-quality", float, "log quality lower per band of mean mix"),
    ("--link", str, "log (min(0.95, base x q)) or logit"),
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmarks; each prints JSON.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all): {', '.join(BENCHES)}"
    )
    parser.add_argument(
        "--partners", type=int, default=None, help="payment-run: partners (default 200; web: uploading at once, 20)"
    )
    parser.add_argument("--rows", type=int, default=5000, help="payment-run: accepted rows per partner (default 5000)")
    parser.add_argument(
        "--years", type=int, default=None, help="review: years per alliance (default 25); review-league: years (200)"
    )
    parser.add_argument("--alliances", type=int, default=2000, help="review: simulated alliances per N (default 2000)")
    parser.add_argument(
        "--check", type=int, default=2, help="review: alliances also judged by the domain code itself (default 2)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="review: random seed (default 2026)")
    parser.add_argument(
        "--scenario",
        choices=("fresh", "persistent", "both", "gentle", "issue"),
        default=None,
        help="review-league: quality drawn afresh each year, persistent across years (AR(1)), or both (default both); "
        "review: the generator, gentle (default) or issue (calibrated to the issue 29 simulation)",
    )
    for option, kind, words in REVIEW_GENERATOR_OPTIONS:
        parser.add_argument(option, type=kind, default=None, help=f"review: {words} (default: the scenario's)")
    parser.add_argument("--returns", type=int, default=200, help="intake-concurrency: returns filed (default 200)")
    parser.add_argument("--submitters", type=int, default=8, help="intake-concurrency: processes (default 8)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="intake-concurrency: also a PostgreSQL database to fill (an empty one; SQLite is always measured)",
    )
    parser.add_argument("--stages", default="", help="national: stages, comma-separated (default: all)")
    parser.add_argument("--series", default="20,50,200", help="national-scaling: partner counts (default 20,50,200)")
    parser.add_argument("--months", type=int, default=3, help="open-books: months of returns (default 3)")
    parser.add_argument("--pages", type=int, default=200, help="web: months-page requests timed (default 200)")
    parser.add_argument(
        "--concurrent-rows", type=int, default=200, help="web: rows of each return uploaded at once (default 200)"
    )
    parser.add_argument("--checkers", type=int, default=2, help="web: the portal's checker threads (default 2)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHES)
    league_scenario = args.scenario or "both"
    review_scenario = args.scenario or "gentle"
    if "review-league" in names and league_scenario not in ("fresh", "persistent", "both"):
        parser.error("review-league: --scenario fresh, persistent or both")
    if "review" in names and review_scenario not in ("gentle", "issue"):
        parser.error("review: --scenario gentle or issue")
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    partners = args.partners if args.partners is not None else 200
    options: dict[str, dict[str, Any]] = {
        "payment-run": {"partners": partners, "rows": args.rows},
        "review": {
            "partners": args.partners,
            "alliances": args.alliances,
            "years": args.years or 25,
            "seed": args.seed,
            "check": args.check,
            "scenario": review_scenario,
            **{
                o.lstrip("-").replace("-", "_"): getattr(args, o.lstrip("-").replace("-", "_"))
                for o, _, _ in REVIEW_GENERATOR_OPTIONS
            },
        },  # fmt: skip
        "review-league": {"years": args.years or 200, "seed": args.seed, "scenario": league_scenario},
        "national": {"partners": partners, "rows": args.rows, "seed": args.seed, "stages": args.stages},
        "national-scaling": {"series": args.series, "rows": args.rows, "seed": args.seed},
        "open-books": {"partners": partners, "rows": args.rows, "months": args.months, "seed": args.seed},
        "web": {
            "rows": args.rows,
            "partners": args.partners if args.partners is not None else 20,
            "pages": args.pages,
            "concurrent_rows": args.concurrent_rows,
            "checkers": args.checkers,
        },
        "intake-concurrency": {
            "returns": args.returns,
            "submitters": args.submitters,
            "database_url": args.database_url,
        },
    }
    results = {}
    for number, name in enumerate(names, 1):
        step(f"{name} ({number} of {len(names)}) ...")
        results[name] = BENCHES[name](**options.get(name, {}))
        step(f"{name}: done")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
