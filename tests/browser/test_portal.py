"""The portal in a real browser (Debian's chromium, headless, through Playwright), as a partner goes through it:
sign in, download the template, upload a return with mistakes, read the findings with their cells, download the
feedback workbook, upload the corrected return, see it accepted, read a statement. Every page passes axe-core
with no serious or critical violation, under the portal's own Content-Security-Policy, with an empty console.
Screenshots go to test-artifacts/portal/."""

import io
import os
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.periods import Period
from services.statements import pay_period
from tests.conftest import require_or_skip
from tests.web.conftest import HARBOUR, PASSWORD, Portal, bad_return, good_return, start_portal

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "portal"
CHROMIUM = "/usr/bin/chromium"
SERIOUS = ("serious", "critical")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Portal]]:
    """The portal on a real HTTP server (uvicorn) on a free local port."""
    import uvicorn

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    portal = start_portal(tmp_path / "ws", base_url=url)
    server = uvicorn.Server(uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url, portal
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        portal.close()


class Visit:
    """The browser page, every page it lands on checked by axe and screenshotted."""

    def __init__(self, page: Any, problems: list[str]) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.problems, self.axe = page, problems, Axe()
        self.checked: list[str] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{len(self.checked) + 1:02d}-{name}.png"), full_page=True)
        results = self.axe.run(self.page)
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v.get("impact") in SERIOUS
        ]
        assert serious == [], f"axe on {name} ({self.page.url}): {serious}"
        self.checked.append(name)


def test_a_partner_goes_through_the_portal_and_every_page_is_accessible(served: tuple[str, Portal]) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        require_or_skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    from tests.browser_helpers import launch_chromium

    url, portal = served
    folder = portal.deps.workspace.root / "partner-desk"
    folder.mkdir()
    with_mistakes, corrected = folder / "October return.xlsx", folder / "October return (corrected).xlsx"
    with_mistakes.write_bytes(bad_return(portal.deps))
    corrected.write_bytes(good_return(portal.deps))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = context.new_page()
            problems: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            visit = Visit(page, problems)

            page.goto(f"{url}/")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            visit.check("sign-in")
            page.get_by_label("Email address").fill(HARBOUR)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Your returns")).to_be_visible()
            assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")  # our JS ran
            visit.check("months")

            with page.expect_download() as download:
                page.get_by_role("link", name="Template for October 2026").click()
            template = download.value.path()
            assert zipfile.is_zipfile(template) and download.value.suggested_filename == "harbour-trust-2026-10.xlsx"

            page.get_by_role("link", name="Upload a return").first.click()
            expect(page.get_by_role("heading", name="Upload a return")).to_be_visible()
            visit.check("upload")
            page.locator("input[type=file][name=return]").set_input_files(str(with_mistakes))
            page.get_by_role("button", name="Upload and check").click()
            expect(page.get_by_role("heading", name="October 2026 return, version 1: sent back")).to_be_visible(
                timeout=60_000
            )
            table = page.locator("table.portal-findings")
            expect(table).to_contain_text("super complex")
            expect(table).to_contain_text("N/A")
            cells = table.locator(".portal-cell").all_inner_texts()
            assert len(cells) >= 2 and all(c[:1].isalpha() and c[-1].isdigit() for c in cells), cells
            visit.check("findings")
            with page.expect_download() as download:
                page.get_by_role("link", name="Download the feedback workbook").click()
            feedback = download.value.path().read_bytes()
            with zipfile.ZipFile(io.BytesIO(feedback)) as book:
                assert "xl/workbook.xml" in book.namelist()

            page.get_by_role("link", name="upload it again").click()
            page.locator("input[type=file][name=return]").set_input_files(str(corrected))
            page.get_by_role("button", name="Upload and check").click()
            expect(page.get_by_role("heading", name="October 2026 return, version 2: accepted")).to_be_visible(
                timeout=60_000
            )
            expect(page.get_by_text("2 cells changed")).to_be_visible()
            visit.check("accepted")

            pay_period(portal.deps, Period(2026, 10))  # the office's monthly cycle pays the month
            page.get_by_role("link", name="Statements").click()
            expect(page.get_by_role("heading", name="Payment statements")).to_be_visible()
            visit.check("statements")
            with page.expect_download() as download:
                page.get_by_role("link", name="Download the statement for 2026-10 version 1").click()
            assert zipfile.is_zipfile(download.value.path())

            for name, link in [("check", "Check a file"), ("messages", "Messages"), ("review", "Review")]:
                page.get_by_role("link", name=link, exact=True).click()
                visit.check(name)
            page.goto(f"{url}/returns/2026-10")
            visit.check("month")
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_text("You have signed out")).to_be_visible()
            page.goto(f"{url}/account/forgotten-password")
            visit.check("forgotten-password")
            page.goto(f"{url}/versions/99999")
            visit.check("sign-in-again")
        finally:
            browser.close()
    assert problems == [] or all("404" in p and "/versions/" in p for p in problems), problems
    assert len(visit.checked) >= 10
