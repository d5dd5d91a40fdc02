"""How often Python's cycle collector runs, set once for a process that files returns.

A 5,000-row return makes tens of thousands of small containers (a dict or list per row, pandas and GX objects): with
Python's default (a collection every 700 of them) the collector ran 4,600 times in a 50-return cycle and looked over
every live object of the process eight times, about 330 ms each with Prefect, GX and pandas loaded (3.3 s of a 20.4 s
cycle; `python -m bench national`). Nearly all of those objects are freed by their reference counts, not by the
collector, so collecting every 50,000 allocations instead changes no result and cost about 10 MiB more at peak.
"""

import gc

FIRST_GENERATION_THRESHOLD = 50_000


def collect_less_often() -> None:
    """Raise the youngest generation's threshold (never lower it: an embedding process may have set its own)."""
    first, second, third = gc.get_threshold()
    if first < FIRST_GENERATION_THRESHOLD:
        gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)
