"""The published report in a real browser (Debian's chromium, headless): every page loads with its plots drawn and
nothing in the console."""

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.report import build_report
from tests.conftest import require_or_skip
from tests.services.report_helpers import LAST, open_books_deps

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The report folder of a half-year alliance, served over HTTP on a free local port."""
    deps = open_books_deps(tmp_path / "ws")
    build_report(deps, period=LAST)
    build_report(deps, year=1)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    handler = functools.partial(Quiet, directory=str(deps.workspace.out / "report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_report_page_renders_its_plots_without_console_errors(served: str) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        require_or_skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    from tests.browser_helpers import launch_chromium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = [
        f"{audience}/{label}/index.html"
        for audience in ("public", "alliance", "officers")
        for label in (str(LAST), "year-1")
    ]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            for path in ["index.html", "officers/index.html", *pages]:
                page.goto(f"{served}/{path}", wait_until="load")
                images = page.evaluate(
                    "() => Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
                )
                if path in pages:
                    assert len(images) >= (4 if path.startswith("officers") or path.startswith("alliance") else 2), path
                for src, complete, width in images:
                    assert complete and width > 300, f"{path}: plot {src} not drawn ({width} px)"
                if path == f"officers/{LAST}/index.html":
                    assert page.get_by_text("Spot checks of claimed outcomes").count() >= 1
                    # The page shows every hidden count its figures.json holds, as hidden.
                    served_json = page.request.get(f"{served}/officers/{LAST}/figures.json").json()
                    hidden = sum(
                        1
                        for f in served_json["figures"]
                        for c in f["columns"]
                        if c["kind"] == "count"
                        for row in f["rows"]
                        if row[c["key"]] == "<5"
                    )
                    assert hidden > 5 and page.locator("td.count", has_text="<5").count() == hidden
                    page.screenshot(path=str(ARTIFACTS / "report-officers-period.png"), full_page=True)
                if path == "public/year-1/index.html":
                    assert page.get_by_text("Gaming monitors").count() == 0
                    page.screenshot(path=str(ARTIFACTS / "report-public-year.png"), full_page=True)
            # Every link on a page leads somewhere that exists.
            page.goto(f"{served}/officers/{LAST}/index.html")
            links = page.evaluate("() => Array.from(document.links).map(a => a.href)")
            for href in {h.split("#")[0] for h in links}:
                assert page.request.get(href).ok, href
        finally:
            browser.close()
    assert problems == []
