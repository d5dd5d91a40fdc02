"""The portal's application: `alliance web` serves it (uvicorn), tests drive it in process.

Server-rendered pages on the application's database and workspace, calling services/ exactly as the CLI does.
Returns uploaded here are checked in this process's own worker threads (the same intake path as an inbox file,
about a second each), not as Prefect deployment runs: a worker's new process would cost several seconds more
than the check. Nothing is lost if this process stops: the file is in the partner's inbox folder before the page
answers, so the next cycle files it, and so does this process when it starts again.
"""

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from domain.errors import AllianceError, NotFound
from integrations.workspace import Workspace
from services import accounts, uploads
from services.deps import Deps, production_deps
from services.review import REPLY_FILE_LIMIT
from services.roles import roles_in_force
from services.runs import NoRuns, Runs
from web.access import NotForYou, NotSignedIn
from web.forms import CsrfRefused
from web.pages import render
from web.security import (
    SESSION_COOKIE,
    VISITOR_COOKIE,
    Visitor,
    clear_cookie,
    same_origin,
    security_headers,
    set_cookie,
    visitor_id,
)

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("alliance.web")


@dataclass(frozen=True)
class PortalSettings:
    service_name: str
    base_url: str | None
    secure: bool  # cookies Secure and HSTS: the portal is reached over https (behind a TLS proxy)
    upload_limit: int
    reply_limit: int


class DepsSource:
    """The services' dependencies, with the contract read again whenever alliance.yaml changes (a partner added,
    an email address changed) without restarting the portal."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._lock = threading.Lock()
        self._stamp = self._mtime()

    def _mtime(self) -> float:
        try:
            return os.stat(self._deps.workspace.contract_path).st_mtime
        except OSError:
            return 0.0

    def __call__(self) -> Deps:
        stamp = self._mtime()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    contract = self._deps.workspace.load_contract()
                    # Who holds which role stays the database's record (services/roles.py), edited file or not.
                    in_force = roles_in_force(self._deps.engine, contract.roles, self._deps.clock)
                    self._deps = replace(self._deps, contract=contract.model_copy(update={"roles": in_force}))
                    self._stamp = stamp
        return self._deps


class Checker:
    """Checks uploaded returns off the request, a few at a time (each is CPU for about a second), and wakes the
    pages waiting for an upload's state (``wait``) as soon as it moves: no interval to wait out."""

    def __init__(self, source: DepsSource, threads: int) -> None:
        self.source = source
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="portal-check")
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, list[asyncio.Event]] = {}

    def submit(self, upload_id: int) -> None:
        self.pool.submit(self._check, upload_id)

    def _check(self, upload_id: int) -> None:
        try:
            uploads.check(self.source(), upload_id, changed=lambda: self._wake(upload_id))
        except Exception:  # noqa: BLE001 (recorded on the upload by uploads.check where it can be)
            log.exception("checking upload %s failed", upload_id)

    def _wake(self, upload_id: int) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._set, upload_id)

    def _set(self, upload_id: int) -> None:
        for event in self._waiting.pop(upload_id, []):
            event.set()

    async def wait(self, upload_id: int, seconds: float) -> None:
        """Until the upload's state moves here, or ``seconds`` (a check in another portal process moves it too:
        the caller reads the state again either way)."""
        self.loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._waiting.setdefault(upload_id, []).append(event)
        try:
            await asyncio.wait_for(event.wait(), timeout=seconds)
        except TimeoutError:
            pass
        finally:
            waiting = self._waiting.get(upload_id, [])
            if event in waiting:
                waiting.remove(event)

    def resume(self) -> None:
        self.pool.submit(self._warm_up)
        for upload_id in uploads.unfinished(self.source()):
            self.submit(upload_id)

    def _warm_up(self) -> None:
        try:
            uploads.warm_up(self.source())
        except Exception:  # noqa: BLE001 (only a head start: the first real check warms up instead)
            log.exception("warming up the checks failed")


def create_app(
    workspace: Workspace | None = None,
    *,
    deps: Deps | None = None,
    checker_threads: int = 2,
    upload_limit: int = uploads.UPLOAD_LIMIT,
    reply_limit: int = REPLY_FILE_LIMIT,
    runs: Runs | None = None,
) -> FastAPI:
    if deps is None:
        assert workspace is not None, "create_app needs a workspace or deps"
        deps = production_deps(workspace)
    source = DepsSource(deps)
    base_url = deps.workspace.base_url
    settings = PortalSettings(
        service_name=f"{deps.contract.alliance.name}: returns",
        base_url=base_url,
        secure=bool(base_url and base_url.startswith("https://")),
        upload_limit=upload_limit,
        reply_limit=min(reply_limit, REPLY_FILE_LIMIT),
    )
    key = deps.workspace.signing_key()  # a missing or unusable key stops the portal now, not at the first sign-in
    checker = Checker(source, checker_threads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        checker.loop = asyncio.get_running_loop()
        checker.resume()
        yield
        checker.pool.shutdown(wait=True, cancel_futures=False)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = settings
    app.state.deps = source
    app.state.checker = checker
    app.state.runs = runs or NoRuns()  # Prefect's runs: long work from a page, a paused review resumed
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def visitor_middleware(request: Request, call_next: object) -> Response:
        current = source()
        vid, new = visitor_id(request)
        token = request.cookies.get(SESSION_COOKIE)
        static = request.url.path.startswith("/static/")
        signed_in = None if static or not token else await run_in_threadpool(accounts.current, current, token)
        request.state.visitor = Visitor(vid, new, token if signed_in else None, signed_in, key)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request, settings.base_url):
            response: Response = render(request, "error.html", status=403, **_refused_words())
        else:
            try:
                response = await call_next(request)  # type: ignore[operator]
            except Exception:  # noqa: BLE001 (a page saying what to do next, never a traceback)
                log.exception("internal error on %s %s", request.method, request.url.path)
                response = render(request, "error.html", status=500, **_internal_words())
        if new and not static:
            set_cookie(response, VISITOR_COOKIE, vid, secure=settings.secure)
        if token and signed_in is None and not static and not _sets(response, SESSION_COOKIE):
            clear_cookie(response, SESSION_COOKIE, secure=settings.secure)  # an ended session's cookie goes
        security_headers(response, secure=settings.secure, private=not static)
        return response

    _handlers(app)
    from web.routes import account, board, home, office, partner

    app.include_router(account.router)
    app.include_router(home.router)
    app.include_router(partner.router)
    app.include_router(office.router)
    app.include_router(board.router)
    return app


def _sets(response: Response, cookie: str) -> bool:
    prefix = f"{cookie}=".encode()
    return any(name == b"set-cookie" and value.startswith(prefix) for name, value in response.raw_headers)


def _refused_words() -> dict[str, str]:
    return {
        "title": "This request came from another site",
        "message": "For your safety the portal only accepts forms sent from its own pages. Go back, reload the "
        "page and try again.",
    }


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return render(request, "not_found.html", status=404)

    @app.exception_handler(RequestValidationError)
    async def not_an_address(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "not_found.html", status=404)  # /versions/abc is no page: never echo it back

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "not_found.html", status=404)
        if exc.status_code == 405:
            return render(
                request,
                "error.html",
                status=405,
                title="This page cannot do that",
                message="Go back to the page you came from and use its buttons.",
            )
        return render(
            request,
            "error.html",
            status=exc.status_code,
            title="Sorry, there is a problem",
            message="Go back and try again.",
        )

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET":
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/account/sign-in?next={_quote(wanted)}", status_code=303)
        return render(
            request,
            "error.html",
            status=401,
            title="You have been signed out",
            message="Your session has ended. Sign in again, then repeat what you were doing.",
            link=("/account/sign-in", "Sign in"),
        )

    @app.exception_handler(NotForYou)
    async def not_for_you(request: Request, exc: NotForYou) -> Response:
        return render(
            request,
            "error.html",
            status=403,
            title="You cannot use this page",
            message="This page is for another role in the alliance. If you think you should see it, ask "
            "the alliance office.",
            link=("/", "Go to your home page"),
        )

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "error.html", status=403, title="This form has expired", message=str(exc))

    @app.exception_handler(AllianceError)
    async def alliance_error(request: Request, exc: AllianceError) -> Response:
        return render(request, "error.html", status=400, title="There is a problem", message=str(exc))


def _internal_words() -> dict[str, str]:
    return {
        "title": "Sorry, there is a problem with the service",
        "message": "Nothing you sent was lost. Try again later; if it happens again, tell the alliance office what "
        "you were doing and when.",
    }


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")
