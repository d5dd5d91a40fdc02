"""The portal over real HTTP on loopback: `python -m bench web --rows 5000 --partners 20 --pages 200`.

The app runs in this process (uvicorn in a thread, SQLite in a temporary workspace, the checker's own threads);
every request goes through a socket with httpx, signing in through the pages with cookies and CSRF tokens as a
browser does. Three figures:

* ``upload_to_findings``: a ``rows``-row return with 50 bad cells, from the upload request starting to its
  findings on the page (shown as soon as the checks have run, while the version is recorded), waiting on
  ``/uploads/{id}/state`` as the page's script does (answered when the state moves); five partners' first
  versions after one untimed, each beside the checks of ``alliance validate`` on the same file in this warm
  process (target: at most 1.5 times as long); and to the version page, recorded with its feedback workbook
  (``upload_to_recorded``);
* ``concurrent``: ``partners`` partners each signing in and uploading its own ``concurrent_rows``-row return at
  once; every upload recorded exactly once, and every partner sees its own file only;
* ``pages``: p50/p95 of a signed-in partner's months page (``GET /returns``) over ``pages`` requests.

The client shares this process (and its GIL) with the server: the figures include the client's own work.
"""

import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlmodel import col, select

from bench.feedback import _file, _rows
from domain.access import Role, for_account
from domain.accounts import LinkPurpose
from domain.periods import Period
from integrations.inbox import read_file
from integrations.passwords import cheap
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.portal_tables import PortalUpload
from models.tables import Submission
from services import accounts
from services.demo import contract_yaml
from services.deps import Deps, production_deps
from services.self_check import self_check

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 5, 10, tzinfo=UTC)  # October's returns are due by the 14th: uploads now are on time
OCTOBER = Period(2026, 10)
PASSWORD = "bench portal horse staple battery"
OPERATOR = for_account(account_id=0, who="Bench operator", role=Role.officer, partner_id=None)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TARGET_RATIO = 1.5


def _workspace(root: Path, contract_text: str) -> Deps:
    root.mkdir(parents=True)
    (root / "alliance.yaml").write_text(contract_text, encoding="utf-8")
    workspace = Workspace(root=root, database_url=f"sqlite:///{root / 'alliance.db'}")
    deps = replace(production_deps(workspace, clock=lambda: NOW), passwords=cheap())
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def _account(deps: Deps, partner_id: str) -> str:
    """A partner's account, invited and its password set through the link (as tests/web/conftest.py does)."""
    partner = deps.contract.partner(partner_id)
    assert partner is not None
    email = f"{partner_id}@bench.example.org"
    invited = accounts.invite(deps, email=email, name=partner.name, role="partner", partner_id=partner_id, by=OPERATOR)
    token = invited.link.rsplit("/", 1)[-1]
    accounts.set_password(deps, token=token, purpose=LinkPurpose.invitation, password=PASSWORD, confirm=PASSWORD)
    return email


@contextmanager
def serving(deps: Deps, checker_threads: int, *, own_process: bool = True) -> Iterator[str]:
    """The portal on 127.0.0.1 and a free port; its base URL. ``own_process``: `alliance web` in a process of its
    own, as it runs for real (this process's clients then take no CPU from it); else in a thread of this one."""
    if own_process:
        with _alliance_web(deps, checker_threads) as base:
            yield base
        return
    with _in_this_process(deps, checker_threads) as base:
        yield base


@contextmanager
def _alliance_web(deps: Deps, checker_threads: int) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = str(deps.workspace.root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env.update(PYTHONPATH=str(REPO), ALLIANCE_DATABASE_URL=deps.workspace.database_url)
    command = [sys.executable, "-c", "from cli.app import main; main()", "web", "--workspace", root]
    command += ["--port", str(port), "--checkers", str(checker_threads)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`alliance web` did not start: {server.stderr.read() if server.stderr else ''}")
            time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGINT)  # uvicorn stops; the lifespan's end waits for the checker threads
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def _in_this_process(deps: Deps, checker_threads: int) -> Iterator[str]:
    from web.app import create_app

    app = create_app(deps=deps, checker_threads=checker_threads)
    # IPPROTO_TCP, as uvicorn's own sockets: asyncio sets TCP_NODELAY only on those; without it every response
    # waits ~40 ms on loopback (Nagle against delayed ACKs) and the figures measure that instead of the portal.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="bench-portal", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the portal did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True  # the lifespan's end waits for the checker threads
        thread.join(timeout=120)
        listener.close()
        deps.engine.dispose()
        assert not thread.is_alive(), "the portal's server thread did not stop"


@dataclass(frozen=True)
class Uploaded:
    seconds: float  # to its findings on the page (as soon as they are known; the version may still be recording)
    posted: float  # the upload's 303 received
    recorded: float  # to the version page, the version recorded with its feedback workbook
    upload_id: int
    url: str  # the version page's
    text: str


class Browser:
    """One person's browser: its own connection pool and cookies."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=300)

    def close(self) -> None:
        self.client.close()

    def token(self, page: str) -> str:
        response = self.client.get(page)
        found = CSRF.search(response.text)
        assert response.status_code == 200 and found, f"no CSRF token on {page} ({response.status_code})"
        return found.group(1)

    def sign_in(self, email: str) -> None:
        fields = {"csrf_token": self.token("/account/sign-in"), "email": email, "password": PASSWORD, "next": "/"}
        response = self.client.post("/account/sign-in", data=fields)
        assert response.status_code == 303, f"sign-in of {email}: {response.status_code} {response.text[-500:]}"
        assert "alliance_session" in self.client.cookies, "no session cookie after signing in"

    def upload(self, name: str, content: bytes, token: str, timeout: float = 300) -> Uploaded:
        """From the upload request starting to its findings on the page, then to the version page."""
        start = time.perf_counter()
        response = self.client.post("/upload", data={"csrf_token": token}, files={"return": (name, content, XLSX)})
        assert response.status_code == 303, f"upload of {name}: {response.status_code} {response.text[-500:]}"
        location = response.headers["location"]
        posted = time.perf_counter() - start
        deadline = time.monotonic() + timeout
        state = "checking"
        while state == "checking":  # as the page's script does: the portal answers when the state moves
            assert time.monotonic() < deadline, f"{name} still being checked after {timeout} s"
            state = self.client.get(f"{location}/state", params={"seen": state, "wait": 20}).json()["state"]
        shown = self.client.get(location, follow_redirects=True)  # the findings, recorded or still being recorded
        found = time.perf_counter() - start
        assert "portal-findings" in shown.text or "No problems were found." in shown.text, f"{name}: no findings"
        while state == "checked":
            assert time.monotonic() < deadline, f"{name} still being recorded after {timeout} s"
            state = self.client.get(f"{location}/state", params={"seen": state, "wait": 20}).json()["state"]
        assert state == "done", f"checking {name} ended {state}"
        page = self.client.get(location, follow_redirects=True)
        recorded = time.perf_counter() - start
        assert page.status_code == 200 and "/versions/" in page.url.path, f"{name}: ended at {page.url}"
        assert "portal-findings" in page.text or "No problems were found." in page.text, f"{name}: no findings"
        return Uploaded(found, posted, recorded, int(location.rsplit("/", 1)[-1]), page.url.path, page.text)


def _timings(repeats: int, run: Callable[[], Any]) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def upload_to_findings(
    root: Path, *, rows: int, problems: int, repeats: int, pages: int, checkers: int
) -> dict[str, Any]:
    """``repeats`` partners' first versions uploaded one after another, each beside `alliance validate` of a return
    of the same size in this warm process; then the months page of one of them, signed in."""
    deps = _workspace(root, contract_yaml(repeats + 1))
    contract = deps.contract
    chosen = [p.id for p in contract.partners][: repeats + 1]  # the first: an untimed upload, as in service
    emails = {partner_id: _account(deps, partner_id) for partner_id in chosen}
    files = {}
    for index, partner_id in enumerate(chosen):
        data = _rows(contract, OCTOBER, rows, f"W{index}", problems=problems)
        files[partner_id] = _file(contract, partner_id, OCTOBER, data)

    first = chosen[0]
    path = root / f"{first}-october.xlsx"
    path.write_bytes(files[first])
    principal = for_account(account_id=1, who="Bench partner", role=Role.partner, partner_id=first)
    warm = self_check(read_file(path), contract, principal)  # the warm-up: imports and caches, as a warm process
    validate: list[float] = []

    with serving(deps, checkers) as base:
        browsers = {partner_id: Browser(base) for partner_id in chosen}
        try:
            uploaded = []
            for n, partner_id in enumerate(chosen):  # each upload beside a validate, so both meet the same noise
                browser = browsers[partner_id]
                browser.sign_in(emails[partner_id])
                token = browser.token("/upload")  # the upload page the partner has open
                done = browser.upload(f"{partner_id} October return.xlsx", files[partner_id], token)
                if n == 0:
                    continue  # a portal in service has checked returns before: the first run's costs are not timed
                uploaded.append(done)
                validate += _timings(1, lambda: self_check(read_file(path), contract, principal))
            reader = browsers[first]
            for _ in range(10):  # warm-up
                assert reader.client.get("/returns").status_code == 200
            page_ms = []
            for _ in range(pages):
                start = time.perf_counter()
                response = reader.client.get("/returns")
                page_ms.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and "Your returns" in response.text
        finally:
            for browser in browsers.values():
                browser.close()
    fastest = min(uploaded, key=lambda u: u.seconds)
    best = fastest.seconds
    findings = uploaded[0].text.count('<tr class="govuk-table__row">') - 1  # less the header row
    return {
        "upload": {
            "rows": rows,
            "bad_cells": problems,
            "file_bytes": len(files[first]),
            "validate_findings": len(warm.findings),
            "findings_rows_on_page": findings,
            "upload_to_findings_s_each": [round(u.seconds, 3) for u in uploaded],
            "upload_to_findings_s": round(best, 3),
            "phases_of_best_s": {
                "post_to_303": round(fastest.posted, 3),
                "findings_on_page": round(fastest.seconds, 3),
            },
            "upload_to_recorded_s_each": [round(u.recorded, 3) for u in uploaded],
            "upload_to_recorded_s": round(min(u.recorded for u in uploaded), 3),
            "recorded_over_validate": round(min(u.recorded for u in uploaded) / min(validate), 2),
            "validate_warm_s_each": [round(t, 3) for t in validate],
            "validate_warm_s": round(min(validate), 3),
            "upload_over_validate": round(best / min(validate), 2),
            "upload_over_validate_median": round(
                _percentile([u.seconds / v for u, v in zip(uploaded, validate, strict=True)], 0.5), 2
            ),
            "target_ratio": TARGET_RATIO,
            "waiting": "GET /uploads/{id}/state?seen=...&wait=20, answered when the state moves",
        },
        "pages": {
            "page": "GET /returns",
            "requests": pages,
            "p50_ms": round(_percentile(page_ms, 0.50), 2),
            "p95_ms": round(_percentile(page_ms, 0.95), 2),
            "max_ms": round(max(page_ms), 2),
        },
    }


def concurrent(root: Path, *, partners: int, rows: int, checkers: int) -> dict[str, Any]:
    """``partners`` partners sign in and upload their own returns at once, each with its own client."""
    deps = _workspace(root, contract_yaml(partners))
    contract = deps.contract
    ids = sorted(p.id for p in contract.partners)
    emails = {partner_id: _account(deps, partner_id) for partner_id in ids}
    names = {partner_id: f"return-{i:03d}-{partner_id}.xlsx" for i, partner_id in enumerate(ids)}
    problems = max(1, rows // 100)
    files = {
        partner_id: _file(contract, partner_id, OCTOBER, _rows(contract, OCTOBER, rows, f"C{i:03d}-", problems))
        for i, partner_id in enumerate(ids)
    }
    results: dict[str, tuple[float, float, Uploaded]] = {}
    errors: dict[str, str] = {}
    gate = threading.Barrier(len(ids))

    def partner(partner_id: str, browser: Browser) -> None:
        try:
            gate.wait()
            start = time.perf_counter()
            browser.sign_in(emails[partner_id])
            done = browser.upload(names[partner_id], files[partner_id], browser.token("/upload"))
            results[partner_id] = (start, time.perf_counter(), done)
        except Exception as exc:  # noqa: BLE001 (reported with the figures)
            errors[partner_id] = f"{type(exc).__name__}: {exc}"[:300]

    problems_found: list[str] = []
    with serving(deps, checkers) as base:
        browsers = {partner_id: Browser(base) for partner_id in ids}
        try:
            threads = [
                threading.Thread(target=partner, args=(partner_id, browsers[partner_id]), name=f"bench-{partner_id}")
                for partner_id in ids
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            problems_found += [f"{partner_id}: {words}" for partner_id, words in sorted(errors.items())]
            # Each partner's version page names its own file and no other partner's; another's page is not found.
            for partner_id, (_, _, done) in results.items():
                others = [names[o] for o in ids if o != partner_id and names[o] in done.text]
                if names[partner_id] not in done.text or others:
                    problems_found.append(f"{partner_id}'s version page: own file shown? no; others: {others}")
            pages = sorted(results)
            for partner_id, neighbour in zip(pages, pages[1:] + pages[:1], strict=True):
                if partner_id == neighbour:
                    continue
                status = browsers[partner_id].client.get(results[neighbour][2].url).status_code
                if status != 404:
                    problems_found.append(f"{partner_id} opened {neighbour}'s version page: {status}")
        finally:
            for browser in browsers.values():
                browser.close()
        with session_scope(deps.engine) as session:
            submissions = list(session.exec(select(Submission).order_by(col(Submission.id))))
            uploads = list(session.exec(select(PortalUpload).order_by(col(PortalUpload.id))))
    per_partner = sorted(s.partner_id or "" for s in submissions)
    if per_partner != ids:
        problems_found.append(f"{len(submissions)} submissions for {len(set(per_partner))} of {len(ids)} partners")
    wrong = [
        s.partner_id
        for s in submissions
        if s.version != 1 or s.sender_partner_id != s.partner_id or s.period != str(OCTOBER)
    ]
    if wrong:
        problems_found.append(f"submissions not version 1 of October from their own partner: {wrong}")
    if sorted(u.partner_id for u in uploads) != ids or any(u.state != "done" for u in uploads):
        problems_found.append(f"portal uploads: {[(u.partner_id, u.state, u.problem) for u in uploads]}")
    if any(names[u.partner_id] != u.filename for u in uploads):
        problems_found.append("a portal upload recorded under another partner's file name")
    starts = [start for start, _, _ in results.values()]
    ends = [end for _, end, _ in results.values()]
    wall = max(ends) - min(starts) if results else float("nan")
    each = [end - start for start, end, _ in results.values()]
    return {
        "partners": len(ids),
        "rows": rows,
        "bad_cells": problems,
        "checker_threads": checkers,
        "submissions": len(submissions),
        "uploads_recorded": len(uploads),
        "statuses": sorted({s.status for s in submissions}),
        "wall_s": round(wall, 3),
        "returns_per_second": round(len(results) / wall, 2) if results else 0.0,
        "sign_in_to_findings_s_p50": round(_percentile(each, 0.5), 3) if each else None,
        "sign_in_to_findings_s_max": round(max(each), 3) if each else None,
        "checks_passed": not problems_found,
        "problems": problems_found,
    }


def benchmark(
    rows: int = 5000,
    partners: int = 20,
    pages: int = 200,
    concurrent_rows: int = 200,
    checkers: int = 2,
    problems: int = 50,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        single = upload_to_findings(
            Path(folder) / "single", rows=rows, problems=problems, repeats=5, pages=pages, checkers=checkers
        )
        together = concurrent(Path(folder) / "together", partners=partners, rows=concurrent_rows, checkers=checkers)
    upload = single["upload"]
    return {
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "upload_to_findings_s": upload["upload_to_findings_s"],
        "validate_warm_s": upload["validate_warm_s"],
        "upload_over_validate": upload["upload_over_validate"],
        "upload_detail": upload,
        "concurrent": together,
        "pages": single["pages"],
    }
