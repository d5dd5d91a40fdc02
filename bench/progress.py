"""Step lines on standard error while a benchmark runs (standard output stays the JSON it prints):
`   12.3s  national: stage cycle done (108.9 s)`."""

import sys
import time

_STARTED = time.monotonic()


def step(text: str) -> None:
    print(f"{time.monotonic() - _STARTED:7.1f}s  {text}", file=sys.stderr, flush=True)
