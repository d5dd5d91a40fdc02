"""The alliance office's pages: the returns grid, a version's findings, sending back and unlocking, a payment run
and its approval, spot checks, accounts, the outbox and the audit chain. Each route needs the action its command
needs (domain.access), and calls the service the command calls."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from domain.errors import AccessDenied, NotFound, UsageError
from domain.periods import latest_ended_year, london_date
from services import accounts, office, portal
from services.accounts import SignedIn
from services.finance_export import export_csv
from services.locks import send_back, unlock_return
from services.payment_approval import approve_run
from services.runs import LaunchError, RunState
from services.spot_checks import record_check
from services.status import current_year, returns_grid
from web.access import Require
from web.forms import read_form
from web.pages import refused_again, render
from web.routes.partner import FINDINGS_SHOWN
from web.security import Visitor

router = APIRouter(prefix="/office")
Id = Annotated[int, Path(ge=1, le=2**62)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _deps(request: Request) -> Any:
    return request.app.state.deps()


async def _form(request: Request) -> Any:
    visitor: Visitor = request.state.visitor
    return await read_form(request, genuine=visitor.genuine)


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


# --- Returns -------------------------------------------------------------------------------------


@router.get("/returns")
def grid_page(
    request: Request, signed_in: Annotated[SignedIn, Depends(Require("status"))], year: int | None = None
) -> Response:
    deps = _deps(request)
    shown = year if year is not None and 1 <= year <= 100 else current_year(deps)
    grid = returns_grid(deps, signed_in.principal, year=shown)
    ended = latest_ended_year(deps.contract.alliance.start, london_date(deps.clock()))
    return render(request, "office/grid.html", title=f"Returns, contract year {shown}", grid=grid, reviewable=ended)


def _version_page(request: Request, signed_in: SignedIn, submission_id: int, **extra: Any) -> Response:
    deps = _deps(request)
    detail = portal.version(deps, signed_in.principal, submission_id)
    submission = detail.submission
    name = deps.contract.partner(submission.partner_id or "")
    who = name.name if name else submission.partner_id
    title = f"{who}: {portal.month_label_of(submission.period)}, version {submission.version}"
    return render(
        request,
        "office/version.html",
        title=title,
        detail=detail,
        shown=detail.findings[:FINDINGS_SHOWN],
        more=max(0, len(detail.findings) - FINDINGS_SHOWN),
        locked=office.is_locked(deps, submission),
        **extra,
    )


@router.get("/versions/{submission_id}")
def version_page(
    request: Request, submission_id: Id, signed_in: Annotated[SignedIn, Depends(Require("status"))]
) -> Response:
    return _version_page(request, signed_in, submission_id)


@router.get("/versions/{submission_id}/feedback")
def feedback_file(
    request: Request, submission_id: Id, signed_in: Annotated[SignedIn, Depends(Require("status"))]
) -> Response:
    path = portal.feedback_file(_deps(request), signed_in.principal, submission_id)
    return FileResponse(path, media_type=XLSX, filename=path.name)


async def _act_on_version(
    request: Request, signed_in: SignedIn, submission_id: int, field: str, done: str, act: Callable[..., object]
) -> Response:
    """Send back or unlock the version's return: ``act(deps, period, partner_id, text of field, by)``."""
    deps = _deps(request)
    form = await _form(request)
    submission = await run_in_threadpool(portal.own_submission, deps, signed_in.principal, submission_id)
    period, partner_id = office.period_of(submission.period or ""), submission.partner_id or ""
    try:
        await run_in_threadpool(act, deps, period, partner_id, form.get(field), signed_in.principal)
    except UsageError as refused:
        return await refused_again(_version_page, str(refused), f"#{field}", request, signed_in, submission_id)
    return _back(f"/office/versions/{submission_id}", done)


@router.post("/versions/{submission_id}/send-back")
async def send_back_version(
    request: Request, submission_id: Id, signed_in: Annotated[SignedIn, Depends(Require("period send-back"))]
) -> Response:
    def act(deps: Any, period: Any, partner_id: str, feedback: str, by: Any) -> object:
        return send_back(deps, period, partner_id=partner_id, feedback=feedback, by=by, submission_id=submission_id)

    return await _act_on_version(request, signed_in, submission_id, "feedback", "sent-back", act)


@router.post("/versions/{submission_id}/unlock")
async def unlock_version(
    request: Request, submission_id: Id, signed_in: Annotated[SignedIn, Depends(Require("period unlock"))]
) -> Response:
    def act(deps: Any, period: Any, partner_id: str, reason: str, by: Any) -> object:
        unlock_return(deps, period, partner_id=partner_id, reason=reason, by=by)
        return None

    return await _act_on_version(request, signed_in, submission_id, "reason", "unlocked", act)


# --- Payments ------------------------------------------------------------------------------------


@router.get("/payments")
def payments_page(request: Request, signed_in: Annotated[SignedIn, Depends(Require("office payments"))]) -> Response:
    runs = office.paid_periods(_deps(request), signed_in.principal)
    return render(request, "office/payments.html", title="Payment runs", runs=runs)


def _run_page(request: Request, signed_in: SignedIn, period: str, **extra: Any) -> Response:
    view = office.run_view(_deps(request), signed_in.principal, office.period_of(period))
    return render(
        request, "office/run.html", title=f"Payment run for {portal.month_label(view.period)}", view=view, **extra
    )


@router.get("/payments/{period}")
def run_page(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("office payments"))]
) -> Response:
    return _run_page(request, signed_in, period)


@router.post("/payments/{period}/approve")
async def approve(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("payments approve"))]
) -> Response:
    deps = _deps(request)
    form = await _form(request)
    wanted = office.period_of(period)
    try:
        version = int(form.get("version") or "0") or None
    except ValueError:
        version = -1  # refused as not the latest
    try:
        await run_in_threadpool(lambda: approve_run(deps, wanted, by=signed_in.principal, version=version))
    except UsageError as refused:
        return await refused_again(_run_page, str(refused), "#approve", request, signed_in, period)
    return _back(f"/office/payments/{period}", "approved")


@router.post("/payments/{period}/again")
async def make_again(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("cycle run"))]
) -> Response:
    """A new version of the period's run from its current inputs: quick (no returns are read), so in the request."""
    deps = _deps(request)
    await _form(request)
    wanted = office.period_of(period)
    try:
        await run_in_threadpool(office.make_new_version, deps, signed_in.principal, wanted)
    except UsageError as refused:
        return await refused_again(_run_page, str(refused), "#approve", request, signed_in, period)
    return _back(f"/office/payments/{period}", "again")


@router.get("/payments/{period}/export")
def export(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("payments export"))]
) -> Response:
    from models.db import read_scope

    deps = _deps(request)
    wanted = office.period_of(period)
    with read_scope(deps.engine) as session:
        text, _ = export_csv(session, contract=deps.contract, period=wanted)
    name = f"payments-{wanted}.csv"
    return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- Spot checks ---------------------------------------------------------------------------------


def _checks_page(request: Request, signed_in: SignedIn, period: str, **extra: Any) -> Response:
    wanted = office.period_of(period)
    claims = office.checks_of(_deps(request), signed_in.principal, wanted)
    return render(
        request,
        "office/checks.html",
        title=f"Spot checks, {portal.month_label(wanted)}",
        claims=claims,
        period=str(wanted),
        **extra,
    )


@router.get("/checks/{period}")
def checks_page(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("checks list"))]
) -> Response:
    return _checks_page(request, signed_in, period)


@router.post("/checks/{period}")
async def record(
    request: Request, period: str, signed_in: Annotated[SignedIn, Depends(Require("checks record"))]
) -> Response:
    deps = _deps(request)
    form = await _form(request)
    wanted = office.period_of(period)
    try:
        await run_in_threadpool(
            lambda: record_check(
                deps,
                period=wanted,
                partner_id=form.get("partner"),
                participant_id=form.get("participant_id"),
                measure=form.get("measure"),
                result=form.get("result"),
                by=signed_in.principal,
                reason=form.get("reason"),
            )
        )
    except (UsageError, AccessDenied) as refused:
        return await refused_again(_checks_page, str(refused), "#claims", request, signed_in, period)
    return _back(f"/office/checks/{period}", "recorded")


# --- Accounts, the outbox, the audit chain ------------------------------------------------------


def _accounts_page(request: Request, signed_in: SignedIn, **extra: Any) -> Response:
    deps = _deps(request)
    found = accounts.list_accounts(deps, by=signed_in.principal)
    return render(
        request, "office/accounts.html", title="Accounts", accounts=found, partners=deps.contract.partners, **extra
    )


@router.get("/accounts")
def accounts_page(request: Request, signed_in: Annotated[SignedIn, Depends(Require("users list"))]) -> Response:
    return _accounts_page(request, signed_in)


@router.post("/accounts/invite")
async def invite(request: Request, signed_in: Annotated[SignedIn, Depends(Require("users invite"))]) -> Response:
    deps = _deps(request)
    form = await _form(request)
    try:
        await run_in_threadpool(
            lambda: accounts.invite(
                deps,
                email=form.get("email"),
                name=form.get("name"),
                role=form.get("role"),
                partner_id=form.get("partner") or None,
                by=signed_in.principal,
            )
        )
    except UsageError as refused:
        return await refused_again(_accounts_page, str(refused), "#email", request, signed_in, form=form)
    return _back("/office/accounts", "invited")


@router.post("/accounts/disable")
async def disable(request: Request, signed_in: Annotated[SignedIn, Depends(Require("users disable"))]) -> Response:
    deps = _deps(request)
    form = await _form(request)
    try:
        await run_in_threadpool(lambda: accounts.disable(deps, email=form.get("email"), by=signed_in.principal))
    except (UsageError, NotFound) as refused:
        return await refused_again(_accounts_page, str(refused), "#accounts", request, signed_in)
    return _back("/office/accounts", "disabled")


@router.get("/outbox")
def outbox_page(request: Request, signed_in: Annotated[SignedIn, Depends(Require("notifications retry"))]) -> Response:
    """Every partner's messages waiting or failed: the office's (a partner's own are on its Messages page)."""
    queued = office.outbox(_deps(request), signed_in.principal)
    return render(request, "office/outbox.html", title="Outbox", queued=queued)


@router.post("/outbox/retry")
async def retry(request: Request, signed_in: Annotated[SignedIn, Depends(Require("notifications retry"))]) -> Response:
    await _form(request)
    await run_in_threadpool(office.retry_failed, _deps(request), signed_in.principal)
    return _back("/office/outbox", "retried")


@router.get("/audit")
def audit_page(request: Request, signed_in: Annotated[SignedIn, Depends(Require("audit verify"))]) -> Response:
    check = office.audit_check(_deps(request), signed_in.principal)
    return render(request, "office/audit.html", title="Audit log", check=check)


@router.get("/checks")
def checks_index(request: Request, signed_in: Annotated[SignedIn, Depends(Require("checks list"))]) -> Response:
    """The latest month with claims drawn (else the latest whose returns were due)."""
    period = office.latest_checked_period(_deps(request), signed_in.principal)
    return RedirectResponse(f"/office/checks/{period}", status_code=303)


# --- Long work: a cycle or a review, as a run of its Prefect deployment ----------------------------


async def _launch(request: Request, signed_in: SignedIn, what: str, field: str) -> Response:
    deps = _deps(request)
    form = await _form(request)
    runs = request.app.state.runs
    try:
        parameters = office.launch_parameters(deps, signed_in.principal, what, form.get(field))
        run_id = await run_in_threadpool(runs.start, what, parameters)
    except (UsageError, LaunchError) as refused:
        problem = str(refused)
        return render(
            request,
            "error.html",
            status=400,
            title="The run was not started",
            message=problem,
            link=("/office/returns", "Back to the returns"),
        )
    await run_in_threadpool(
        lambda: office.record_launch(deps, signed_in.principal, what=what, flow_run_id=run_id, parameters=parameters)
    )
    return RedirectResponse(f"/office/runs/{run_id}", status_code=303)


@router.post("/runs/cycle")
async def start_cycle(request: Request, signed_in: Annotated[SignedIn, Depends(Require("cycle run"))]) -> Response:
    return await _launch(request, signed_in, "cycle", "period")


@router.post("/runs/review")
async def start_review(request: Request, signed_in: Annotated[SignedIn, Depends(Require("review run"))]) -> Response:
    return await _launch(request, signed_in, "review", "year")


@router.get("/runs/{run_id}")
def run_state_page(
    request: Request, run_id: str, signed_in: Annotated[SignedIn, Depends(Require("cycle run"))]
) -> Response:
    launch = office.launch_of(_deps(request), signed_in.principal, run_id)
    try:
        state = request.app.state.runs.state(run_id)
    except LaunchError as unknown:
        state = RunState("Unknown", True, str(unknown))
    title = {"cycle": "Monthly cycle", "review": "Annual review"}[launch["what"]]
    return render(request, "office/run_state.html", title=title, launch=launch, state=state)
