"""The office and the board in a real browser (Debian's chromium through Playwright), each page checked by axe-core
(no serious or critical violation) and screenshotted to test-artifacts/office/.

An officer, on the demo's workspace: the returns grid shows the demo's late return and its return sent back then
corrected where the demo put them; the officer records spot-check findings and approves a draft run. A board member,
on a review paused for the board on a local Prefect server: opens the flagged partner's evidence, submits a refused
answer (a percentage not allowed) and sees why, then a valid step-down; the paused flow run resumes with it and the
audit log names that board member."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlmodel import select

from tests.conftest import require_or_skip

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "office"
CHROMIUM = "/usr/bin/chromium"
SERIOUS = ("serious", "critical")


def _needs_a_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require_or_skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        require_or_skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def portal_process(root: Path, env: dict[str, str], review: bool = False) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "tests.browser.portal_process", str(root), str(port)] + (
        ["review"] if review else []
    )
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the portal did not start:\n{process.stdout.read() if process.stdout else ''}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


class Visit:
    def __init__(self, page: Any, prefix: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.prefix, self.axe, self.checked = page, prefix, Axe(), []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(self, name: str) -> None:
        self.checked.append(name)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{len(self.checked):02d}-{name}.png"), full_page=True)
        violations = self.axe.run(self.page).response["violations"]
        serious = [f"{v['id']} ({v['impact']}): {v['help']}" for v in violations if v.get("impact") in SERIOUS]
        assert serious == [], f"axe on {name} ({self.page.url}): {serious}"


def _watch(page: Any, problems: list[str]) -> None:
    """Script errors and failed loads, but not a refused form's page (400, by design: the page says what to fix)."""

    def console(message: Any) -> None:
        if message.type == "error" and "status of 400" not in message.text:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))


def _sign_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_officer_reads_the_grid_records_spot_checks_and_approves_a_draft_run(tmp_path: Path) -> None:
    _needs_a_browser()
    from playwright.sync_api import expect, sync_playwright

    from services.demo_scenario import ERRORS_PARTNER, LATE_PARTNER
    from tests.browser_helpers import launch_chromium, local_prefect_server

    root = tmp_path / "demo"
    with local_prefect_server() as server:
        env = server.client_env() | {"PYTHONPATH": str(REPO), "PREFECT_LOGGING_LEVEL": "WARNING"}
        alliance = str(Path(sys.executable).with_name("alliance"))
        made = subprocess.run(
            [alliance, "demo", "--dir", str(root), "--months", "3", "--partners", "4"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        password = re.search(r"the password '([^']+)'", made.stdout)
        officer = re.search(r"^\s+officer\s+(\S+@\S+)", made.stdout, re.MULTILINE)
        assert password and officer, made.stdout
        # The demo's officer approved June's run, which locked its returns: the first partner asks to correct June,
        # an officer unlocks it, and the cycle files the corrected return as a draft waiting for approval.
        from domain.periods import Period
        from integrations.workspace import Workspace
        from tests.helpers import clean_rows, return_bytes

        contract = Workspace.at(root).load_contract()
        unlocked = subprocess.run(
            [
                alliance,
                "period",
                "unlock",
                "--period",
                "2026-06",
                "--partner",
                contract.partners[0].id,
                "--reason",
                "the partner asks to correct June",
                "--by",
                "Demo officer",
                "-w",
                str(root),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
        inbox = Workspace.at(root).inbox / contract.partners[0].id  # from the partner's own folder
        inbox.mkdir(parents=True, exist_ok=True)
        june = Period(2026, 6)
        (inbox / "June return (corrected).xlsx").write_bytes(
            return_bytes(contract, contract.partners[0].id, june, rows=clean_rows(8, period=june))
        )
        cycle = subprocess.run(
            [alliance, "cycle", "run", "--period", "2026-06", "-w", str(root)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert cycle.returncode == 0, cycle.stdout + cycle.stderr

    corrected, late = contract.partners[ERRORS_PARTNER], contract.partners[LATE_PARTNER]
    problems: list[str] = []
    with portal_process(root, env | {"ALLIANCE_BASE_URL": ""}) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            _watch(page, problems)
            visit = Visit(page, "officer")
            _sign_in(page, url, officer.group(1), password.group(1))
            expect(page.get_by_role("heading", name="Your account")).to_be_visible()
            visit.check("home")

            page.get_by_role("link", name="Returns", exact=True).first.click()
            expect(page.get_by_role("heading", name="Returns, contract year 1")).to_be_visible()
            april = page.locator(f'td[data-partner="{corrected.id}"][data-period="2026-04"]')
            expect(april).to_have_attribute("data-standing", "locked")  # paid by an approved run
            expect(april).to_contain_text("2 versions, 1 sent back")  # sent back with its mistakes, then corrected
            may = page.locator(f'td[data-partner="{late.id}"][data-period="2026-05"]')
            expect(may).to_contain_text("late")
            july = page.locator(f'td[data-partner="{late.id}"][data-period="2026-07"]')
            expect(july).to_have_attribute("data-standing", "overdue")  # the demo stopped at June
            visit.check("grid")
            april.get_by_role("link").click()
            expect(
                page.get_by_role("heading", name=re.compile(f"{corrected.name}: April 2026, version 2"))
            ).to_be_visible()
            visit.check("version")

            page.goto(f"{url}/office/checks/2026-06")
            forms = page.locator("form.portal-inline-form")
            assert forms.count() >= 2
            visit.check("checks")
            first = forms.nth(0)
            first.get_by_label("Verified", exact=True).check()
            first.get_by_role("button").click()
            expect(page.get_by_text("The finding is recorded")).to_be_visible()
            second = page.locator("form.portal-inline-form").nth(0)
            second.get_by_label("Not verified", exact=True).check()
            second.get_by_role("textbox").fill("No case note for this outcome in the partner's file.")
            second.get_by_role("button").click()
            expect(page.get_by_text("The finding is recorded")).to_be_visible()
            expect(page.locator("strong.govuk-tag", has_text="Verified").first).to_be_visible()
            expect(page.locator("strong.govuk-tag", has_text="Not verified").first).to_be_visible()
            visit.check("checks-recorded")

            page.get_by_role("link", name="Payments", exact=True).first.click()
            page.get_by_role("link", name="2026-06").click()
            expect(page.get_by_text(re.compile(r"The accepted returns changed since version \d+"))).to_be_visible()
            # The claim found not verified changed what June pays: the draft is stale until made again.
            expect(
                page.get_by_text(re.compile(r"claims withdrawn after spot checks changed since version \d+"))
            ).to_be_visible()
            visit.check("stale-run")
            page.get_by_role("button", name="Make a new version").click()
            expect(page.get_by_text("A new version was made")).to_be_visible()
            visit.check("draft-run")
            page.get_by_role("button", name=re.compile(r"Approve version \d+")).click()
            expect(page.get_by_text("The run is approved")).to_be_visible()
            expect(page.get_by_role("link", name="Download the finance export (CSV)")).to_be_visible()
            visit.check("approved-run")
            for name in ("Accounts", "Outbox", "Audit"):
                page.get_by_role("link", name=name, exact=True).first.click()
                visit.check(name.lower())
            expect(page.get_by_text("Intact")).to_be_visible()
        finally:
            browser.close()
    assert problems == [], problems


def test_a_board_member_is_refused_then_decides_and_the_paused_review_resumes(tmp_path: Path) -> None:
    _needs_a_browser()
    from playwright.sync_api import expect, sync_playwright

    from integrations.workspace import Workspace
    from models.db import session_scope
    from models.tables import AuditEntry
    from services.deps import production_deps
    from tests.browser_helpers import launch_chromium, local_prefect_server, wait_for_paused_with_input
    from tests.services.review_helpers import WEAK
    from tests.web.conftest import BOARD, PASSWORD

    root = tmp_path / "ws"
    problems: list[str] = []
    with local_prefect_server() as server:
        env = server.client_env() | {"PYTHONPATH": str(REPO), "ALLIANCE_BASE_URL": ""}
        flow = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.review_flow_process", str(root)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_paused_with_input(server.api_url, timeout=180)
            with portal_process(root, env, review=True) as url, sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    _watch(page, problems)
                    visit = Visit(page, "board")
                    _sign_in(page, url, BOARD, PASSWORD)
                    page.get_by_role("link", name="Review", exact=True).first.click()
                    expect(page.get_by_role("heading", name=re.compile("Review of"))).to_be_visible()
                    visit.check("review")
                    page.get_by_role("link", name="Partner 03").click()
                    expect(page.get_by_text("Flagged for review", exact=True)).to_be_visible()
                    expect(page.get_by_role("link", name="Download the evidence pack")).to_be_visible()
                    for table in ("Monthly trend", "Case mix", "Data quality"):  # the pack's record, on the page
                        expect(page.get_by_role("table", name=table)).to_be_visible()
                    visit.check("case")

                    page.get_by_label("Step down core funding").check()
                    page.get_by_label(re.compile("by how much")).fill("33")
                    page.get_by_label(re.compile("from which month")).fill("2027-06")
                    page.get_by_label("Why").fill("Outcomes far below those expected for its case mix.")
                    page.get_by_role("button", name="Record the decision").click()
                    expect(page.locator(".govuk-error-summary")).to_contain_text("one of 10, 25, 50, 100")
                    visit.check("refused")

                    page.get_by_label("Step down core funding").check()
                    page.get_by_label(re.compile("by how much")).fill("50")
                    page.get_by_role("button", name="Record the decision").click()
                    expect(page.get_by_text("The decision is recorded")).to_be_visible()
                    visit.check("decided")
                finally:
                    browser.close()
            output, _ = flow.communicate(timeout=180)
        finally:
            if flow.poll() is None:
                flow.kill()
                flow.wait()
    assert flow.returncode == 0, output
    returned = json.loads(
        next(line for line in output.splitlines() if line.startswith("RESULT_JSON=")).split("=", 1)[1]
    )
    assert returned["decisions"] == {WEAK: "step_down"}  # the paused run resumed with the board's decision
    deps = production_deps(Workspace(root=root, database_url=f"sqlite:///{root / 'alliance.db'}"))
    with session_scope(deps.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "review.board_decision")).one()
    assert entry.actor == "Sam Chair (sam@board.org)" and json.loads(entry.detail)["percent"] == 50
    assert problems == [], problems


def teardown_module() -> None:
    shutil.rmtree(REPO / ".prefect-ui-test", ignore_errors=True)
