"""A national alliance's month: ``partners`` returns of ``rows`` participant rows each, in an inbox.

The returns are written with xlsxwriter (an openpyxl-filled template takes seconds per 5,000-row
file) with the three sheets the reader reads, as a partner's filled template holds them. About 5%
of them carry the mistakes partners make: a band typed wrongly, an impossible date, an id twice, a
Summary total that does not add up, a malformed postcode, a blank required cell.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter

from domain import return_layout as layout
from domain.contract import Contract, Partner
from domain.periods import Period
from integrations.workspace import load_contract
from services.demo import contract_yaml

PERIOD = Period(2026, 10)
RECEIVED = datetime(2026, 11, 5, 10, tzinfo=UTC)  # before the 14th: on time
CYCLE = datetime(2026, 11, 16, 9, tzinfo=UTC)  # as the monthly-cycle deployment runs
ERROR_SHARE = 0.05
RATES = {"housing_sustained": 0.07, "into_work": 0.05, "wellbeing_up": 0.18}
MISTAKES = ("band", "date", "duplicate", "summary", "postcode", "blank")


@dataclass(frozen=True)
class National:
    root: Path  # a workspace: alliance.yaml and inbox/<partner id>/<file>.xlsx
    contract: Contract
    files: list[Path]
    flawed: list[str]  # partner ids whose return carries mistakes
    rows: int

    @property
    def total_rows(self) -> int:
        return len(self.files) * self.rows


def generate(root: Path, *, partners: int, rows: int, seed: int = 2026) -> National:
    """Write the workspace under ``root`` (reused when it holds this very month already)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "alliance.yaml").write_text(contract_yaml(partners), encoding="utf-8")
    contract = load_contract(root / "alliance.yaml")
    rng = random.Random(seed)
    flawed = sorted(p.id for p in rng.sample(contract.partners, max(1, round(partners * ERROR_SHARE))))
    files = []
    for index, partner in enumerate(sorted(contract.partners, key=lambda p: p.id)):
        folder = root / "inbox" / partner.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{partner.id}-{PERIOD}.xlsx"
        mistakes = [MISTAKES[(index + k) % len(MISTAKES)] for k in range(3)] if partner.id in flawed else []
        write_return(path, contract, partner, _rows(random.Random(seed * 1_000 + index), index, rows), mistakes)
        files.append(path)
    return National(root, contract, files, flawed, rows)


def _rows(rng: random.Random, index: int, count: int) -> list[dict[str, Any]]:
    scale = rng.uniform(0.5, 1.5)  # partners differ, so the review and the funnel have something to see
    weights = [rng.uniform(1, 5) for _ in range(3)]
    first = PERIOD.first_day
    data = []
    for n in range(count):
        row: dict[str, Any] = {
            "participant_id": f"N{index:03d}-{n:05d}",
            "referral_date": first - timedelta(days=rng.randint(0, 300)),
            "complexity_band": rng.choices(["standard", "complex", "very_complex"], weights=weights)[0],
        }
        row.update({m: "Yes" if rng.random() < rate * scale else "No" for m, rate in RATES.items()})
        row["postcode_district"] = f"NF{n % 9 + 1}"
        data.append(row)
    return data


def _summary(data: list[dict[str, Any]]) -> dict[str, int]:
    summary = {layout.SUMMARY_PARTICIPANTS: len(data)}
    summary.update({m: sum(1 for row in data if row[m] == "Yes") for m in RATES})
    return summary


def _spoil(data: list[dict[str, Any]], summary: dict[str, int], mistake: str, rng: random.Random) -> None:
    """One kind of mistake, a few times over (the summary one once)."""
    picks = rng.sample(range(1, len(data)), min(5, len(data) - 1))
    for n in picks:
        row = data[n]
        if mistake == "band":
            row["complexity_band"] = "hard"
        elif mistake == "date":
            row["referral_date"] = "31/02/2026"
        elif mistake == "duplicate":
            row["participant_id"] = data[0]["participant_id"]
        elif mistake == "postcode":
            row["postcode_district"] = "NF1 2AB"
        elif mistake == "blank":
            row["wellbeing_up"] = None
    if mistake == "summary":
        summary["into_work"] += 3


def write_return(
    path: Path, contract: Contract, partner: Partner, data: list[dict[str, Any]], mistakes: list[str]
) -> None:
    summary = _summary(data)
    rng = random.Random(path.name)
    for mistake in mistakes:
        _spoil(data, summary, mistake, rng)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    about = book.add_worksheet(layout.ABOUT)
    values = {
        "alliance": contract.alliance.name,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "period": str(PERIOD),
        "framework_version": contract.framework.version,
        "template_id": layout.template_id(
            alliance=contract.alliance.name,
            partner_id=partner.id,
            period=str(PERIOD),
            framework_version=str(contract.framework.version),
        ),
        "template_format": layout.TEMPLATE_FORMAT,
    }
    for row, key in enumerate(layout.ABOUT_FIELDS):
        about.write_string(row, 0, key)
        about.write(row, 1, values[key])
    sheet = book.add_worksheet(layout.PARTICIPANTS)
    columns = contract.framework.columns
    for column, name in enumerate(columns):
        sheet.write_string(0, column, name)
    for row, values_ in enumerate(data, start=1):
        for column, name in enumerate(columns):
            value = values_.get(name)
            if isinstance(value, date):
                sheet.write_datetime(row, column, datetime(value.year, value.month, value.day), day)
            elif value is not None:
                sheet.write(row, column, value)
    totals = book.add_worksheet(layout.SUMMARY)
    for column, heading in enumerate(("item", "value", "what to enter")):
        totals.write_string(0, column, heading)
    for row, (key, count) in enumerate(summary.items(), start=1):
        totals.write_string(row, 0, key)
        totals.write_number(row, 1, count)
    book.close()


def benchmark(
    *, partners: int, rows: int, seed: int = 2026, stages: tuple[str, ...] | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """Generate the month, then time each stage in a fresh process; ratios are to the read floor."""
    import json
    import subprocess
    import sys
    import tempfile
    import time

    from bench.national_stages import STAGES
    from bench.progress import step

    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        root = Path(scratch) / "alliance"
        start = time.perf_counter()
        step(f"generating {partners} returns of {rows:,} rows ...")
        national = generate(root, partners=partners, rows=rows, seed=seed)
        generated = time.perf_counter() - start
        step(f"generated {len(national.files)} files in {generated:.1f} s")
        figures: dict[str, Any] = {
            "partners": partners,
            "rows_per_return": rows,
            "total_rows": national.total_rows,
            "flawed_returns": len(national.flawed),
            "inbox_mib": round(sum(p.stat().st_size for p in national.files) / 2**20, 1),
            "generate_seconds": round(generated, 1),
        }
        chosen = stages or STAGES
        for number, stage in enumerate(chosen, 1):
            step(f"stage {stage} ({number} of {len(chosen)}) ...")
            done = subprocess.run(
                [sys.executable, "-m", "bench.national_stages", stage, str(root)],
                capture_output=True,
                text=True,
                check=False,
                cwd=Path(__file__).resolve().parents[1],
            )
            if done.returncode != 0:
                raise RuntimeError(f"stage {stage} failed:\n{done.stderr[-3000:]}")
            figures[stage] = json.loads(done.stdout.strip().splitlines()[-1])
            step(f"stage {stage}: {figures[stage].get('seconds', '?')} s")
    floor = figures.get("floor", {}).get("seconds")
    if floor:
        figures["ratio_to_floor"] = {
            stage: round(figures[stage]["seconds"] / floor, 2) for stage in stages or STAGES if stage in figures
        }
    return figures


def scaling(*, series: tuple[int, ...] = (20, 50, 200), rows: int = 5000, seed: int = 2026) -> dict[str, Any]:
    """The read floor and the whole cycle at each size: how cost grows with the rows."""
    sizes = {n: benchmark(partners=n, rows=rows, seed=seed, stages=("floor", "cycle")) for n in series}
    smallest, largest = min(series), max(series)
    growth = largest / smallest
    cycle_growth = sizes[largest]["cycle"]["seconds"] / sizes[smallest]["cycle"]["seconds"]
    return {
        "sizes": {
            str(n): {
                "total_rows": f["total_rows"],
                "floor_seconds": f["floor"]["seconds"],
                "cycle_seconds": f["cycle"]["seconds"],
                "cycle_to_floor": f["ratio_to_floor"]["cycle"],
                "cycle_peak_rss_mib": f["cycle"]["peak_rss_mib"],
            }
            for n, f in sizes.items()
        },
        "rows_growth": growth,
        "cycle_time_growth": round(cycle_growth, 2),
        "linear_target": f"<= {growth * 1.1:.0f}x for {growth:.0f}x the rows",
    }
