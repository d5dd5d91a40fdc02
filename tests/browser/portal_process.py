"""Serve the portal in a process of its own, for the browser tests: its settings (PREFECT_API_URL for resuming a paused
review) come from this process's environment, as `alliance web`'s do.

Usage: python -m tests.browser.portal_process ROOT PORT [review]
- without ``review``: the workspace at ROOT as it is (the demo's, with its accounts), on the real clock;
- with ``review``: the review tests' workspace (tests/services/review_helpers.py) on a clock after the right of reply
  closed, with an officer's and a board member's account (tests/web/conftest.py's people and password).
"""

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import uvicorn

from flows.launch import PrefectRuns
from integrations.passwords import cheap
from integrations.workspace import Workspace
from services.deps import production_deps
from web.app import create_app


def main(root: Path, port: int, review: bool) -> None:
    base_url = f"http://127.0.0.1:{port}"
    if review:
        from tests.services.review_helpers import REVIEW_AT, Clock, review_deps
        from tests.web.conftest import BOARD, OFFICER, make_account

        deps = review_deps(root, Clock(REVIEW_AT + timedelta(days=15)))
        deps = replace(deps, passwords=cheap(), workspace=replace(deps.workspace, base_url=base_url))
        for email in (BOARD, OFFICER):
            make_account(deps, email)
    else:
        deps = production_deps(replace(Workspace.at(root), base_url=base_url))
    uvicorn.run(create_app(deps=deps, runs=PrefectRuns()), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "review")
