"""Benchmarks print JSON and are never run as timed tests: `python -m bench payments`."""

import json
import sys
import time
from decimal import Decimal

from domain.money import largest_remainder


def payments_split(partners: int = 200, repeats: int = 200) -> dict[str, float]:
    weights = {f"partner-{i:03d}": Decimal(i * 7 % 97) + Decimal("0.5") for i in range(partners)}
    start = time.perf_counter()
    for _ in range(repeats):
        largest_remainder(4_000_000, weights)
    elapsed = time.perf_counter() - start
    return {"partners": partners, "repeats": repeats, "seconds_per_split": elapsed / repeats}


BENCHES = {"payments": payments_split}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    print(json.dumps({name: BENCHES[name]() for name in names}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
