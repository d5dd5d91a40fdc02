"""The board's pages: the year's review (every partner's figures and the funnel plot), each flagged partner's
evidence and replies, and the decision form, checked by the same rules as `alliance review decide` and the paused
review's Prefect form. A decision recorded here resumes the paused `partner-review` run, as the command does."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from domain.board import LABELS, REVIEW_DECISIONS
from domain.errors import AccessDenied, NotFound, UsageError
from services import board_decisions, office, review
from services.accounts import SignedIn
from web.access import Require
from web.forms import read_form
from web.pages import render
from web.security import Visitor

router = APIRouter(prefix="/board")
Year = Annotated[int, Path(ge=1, le=100)]
Reading = Annotated[SignedIn, Depends(Require("board review"))]
Deciding = Annotated[SignedIn, Depends(Require("review decide"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger("alliance.web")


def _deps(request: Request) -> Any:
    return request.app.state.deps()


@router.get("/review/{year}")
def review_page(request: Request, year: Year, signed_in: Reading) -> Response:
    deps = _deps(request)
    record, cases = office.review_of(deps, signed_in.principal, year)
    return render(
        request,
        "board/review.html",
        title=f"Review of {review.year_label(deps.contract, year)}",
        record=record,
        cases=sorted(cases, key=lambda c: (c.ratio is None, c.ratio or 0)),
        year=year,
        names={p.id: p.name for p in deps.contract.partners},
    )


@router.get("/review/{year}/funnel.png")
def funnel(request: Request, year: Year, signed_in: Reading) -> Response:
    deps = _deps(request)
    office.review_of(deps, signed_in.principal, year)
    path = deps.workspace.reviews_dir / str(year) / "funnel.png"
    if not path.is_file():
        raise NotFound("There is no funnel plot for this year")
    return FileResponse(path, media_type="image/png")


def _case_page(request: Request, signed_in: SignedIn, year: int, partner_id: str, **extra: Any) -> Response:
    deps = _deps(request)
    view = office.case_of(deps, signed_in.principal, year, partner_id)
    return render(
        request,
        "board/case.html",
        title=f"{view.name}: the board's decision",
        view=view,
        year=year,
        options=deps.contract.review.step_down_percent_options,
        quorum=deps.contract.review.decision_quorum,
        choices=[(k.value, LABELS[k]) for k in REVIEW_DECISIONS],
        may_decide=_may_decide(signed_in),
        **extra,
    )


def _may_decide(signed_in: SignedIn) -> bool:
    from domain.access import may

    return may(signed_in.principal, "review decide")


@router.get("/review/{year}/{partner_id}")
def case_page(request: Request, year: Year, partner_id: str, signed_in: Reading) -> Response:
    return _case_page(request, signed_in, year, partner_id)


@router.get("/review/{year}/{partner_id}/evidence")
def evidence(request: Request, year: Year, partner_id: str, signed_in: Reading) -> Response:
    view = office.case_of(_deps(request), signed_in.principal, year, partner_id)
    if view.evidence is None:
        raise NotFound("The evidence pack for this case is not on the server")
    return FileResponse(view.evidence, media_type=XLSX, filename=view.evidence.name)


@router.post("/review/{year}/{partner_id}/decide")
async def decide(request: Request, year: Year, partner_id: str, signed_in: Deciding) -> Response:
    deps = _deps(request)
    visitor: Visitor = request.state.visitor
    form = await read_form(request, genuine=visitor.genuine)
    await run_in_threadpool(office.case_of, deps, signed_in.principal, year, partner_id)  # "not found" first
    kind = form.get("decision")
    try:
        if kind not in {k.value for k in REVIEW_DECISIONS}:  # a reversal is an appeal's, not this form's
            raise UsageError("choose what the board decides: " + ", ".join(LABELS[k] for k in REVIEW_DECISIONS))
        try:
            percent = int(form.get("percent")) if kind == "step_down" and form.get("percent") else None
        except ValueError:
            percent = -1  # refused with the options
        effective = form.get("effective").strip() if kind in ("step_down", "withdraw") else ""
        result = await run_in_threadpool(
            lambda: board_decisions.decide(
                deps,
                year=year,
                partner_id=partner_id,
                kind=kind,
                decided_by=signed_in.principal,
                reason=form.get("reason"),
                step_down_percent=percent,
                effective=effective or None,
                via="portal",
            )
        )
    except (UsageError, AccessDenied) as refused:
        problem = str(refused).removeprefix("the board's decision was not recorded: ").replace("(YYYY-MM)", "")
        problems = [{"text": part[:1].upper() + part[1:], "href": "#decision"} for part in problem.split("; ")]
        response = await run_in_threadpool(
            lambda: _case_page(request, signed_in, year, partner_id, errors=problems, form=form)
        )
        response.status_code = 400
        return response
    if result.record is not None and result.created:
        await run_in_threadpool(_resume, request, year, partner_id, result.record)
    done = "decided" if result.record is not None else "confirmed"
    return RedirectResponse(f"/board/review/{year}/{partner_id}?done={done}", status_code=303)


def _resume(request: Request, year: int, partner_id: str, record: Any) -> None:
    """Resume the paused review run (a run paused elsewhere finds the decision recorded at its next look)."""
    try:
        resumed = request.app.state.runs.resume_review(year=year, partner_id=partner_id, record=record)
    except Exception:  # noqa: BLE001 (the decision stands; the run finds it in the database)
        log.exception("resuming the paused review run for %s failed", partner_id)
        return
    if resumed:
        log.info("resumed paused review run %s with the decision on %s", resumed, partner_id)


@router.get("/review")
def latest_review(request: Request, signed_in: Reading) -> Response:
    year = office.latest_review_year(_deps(request), signed_in.principal)
    if year is None:
        return render(
            request,
            "error.html",
            title="No review yet",
            message="The annual review runs once a contract year has ended; its cases will be here.",
            link=("/home", "Go to your home page"),
        )
    return RedirectResponse(f"/board/review/{year}", status_code=303)
