"""Run flow partner-review in its own process against the Prefect server in PREFECT_API_URL (the browser test's).

Usage: python -m tests.browser.review_flow_process WORKSPACE_DIR. Prints RESULT_JSON=... when the flow ends.
"""

import json
import sys
from pathlib import Path

from domain.periods import Period
from flows.partner_review import partner_review
from tests.services.review_helpers import REVIEW_AT, WEAK, Clock, core_paid, review_deps, seed_year


def main(root: Path) -> None:
    clock = Clock(REVIEW_AT)
    deps = review_deps(root, clock)
    seed_year(deps, quality={WEAK: 0.6})
    report = partner_review(year=1, workspace=str(root), deps=deps, poll_seconds=1)
    core = core_paid(deps, Period(2027, 6), WEAK)
    result = {"flagged": report.flagged, "decisions": report.decisions, "refused": report.refused, "core": core}
    print("RESULT_JSON=" + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
