"""The board's decision given in the Prefect UI: a real browser fills the paused review's form and submits it."""

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from domain.money import apply_rate
from domain.payments import core_instalment
from tests.conftest import require_or_skip
from tests.services.review_helpers import WEAK, contract_yaml

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"


def test_the_board_decides_in_the_prefect_ui_and_the_flow_resumes_with_that_decision(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        require_or_skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    from tests.browser_helpers import launch_chromium, local_prefect_server, resume_in_ui, wait_for_paused_with_input

    screenshot = ARTIFACTS / "review-board-form.png"
    screenshot.unlink(missing_ok=True)
    with local_prefect_server() as server:
        env = server.client_env() | {"PYTHONPATH": str(REPO)}
        flow = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.review_flow_process", str(tmp_path / "ws")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            run_id = wait_for_paused_with_input(server.api_url, timeout=180)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    result = resume_in_ui(
                        browser,
                        server.ui_url,
                        run_id,
                        {
                            "decision": "step_down",
                            "step_down_percent": 50,
                            "effective_month": "2027-06",
                            "decided_by": "Board (chair, in the UI)",
                            "reason": "Outcomes far below those expected for its case mix; reply considered.",
                        },
                        screenshot=screenshot,
                    )
                finally:
                    browser.close()
            output, _ = flow.communicate(timeout=180)
        finally:
            if flow.poll() is None:
                flow.kill()
                flow.wait()

    assert "Flagged for review" in result.description_text
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    assert flow.returncode == 0, output
    line = next(line for line in output.splitlines() if line.startswith("RESULT_JSON="))
    returned = json.loads(line.removeprefix("RESULT_JSON="))
    assert returned["flagged"] == [WEAK] and returned["decisions"] == {WEAK: "step_down"}
    annual = _annual_core_pence(WEAK)
    instalment = core_instalment(annual, 3)
    assert returned["core"] == instalment - apply_rate(instalment, Decimal("0.5"))


def _annual_core_pence(partner_id: str) -> int:
    from domain.contract import parse_contract
    from integrations.workspace import parse_yaml

    contract = parse_contract(parse_yaml(contract_yaml(), "test"))
    partner = contract.partner(partner_id)
    assert partner is not None
    return partner.annual_core_pence


def teardown_module() -> None:
    shutil.rmtree(REPO / ".prefect-ui-test", ignore_errors=True)
