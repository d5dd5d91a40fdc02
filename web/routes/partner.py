"""A partner's pages: its months, templates, uploads and their findings, a test check, statements, messages and
its review. Every page answers for the signed-in partner only (services.portal); anything else is "not found"."""

import json
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from domain.errors import AccessDenied, AllianceError, NotFound, UsageError
from services import portal, uploads
from services.accounts import SignedIn
from services.portal import NOT_FOUND
from services.review import REPLY_TEXT_LIMIT, reply
from web.access import Require
from web.forms import FileTooLarge, FormRefused, read_form
from web.pages import render
from web.security import Visitor

router = APIRouter()
Returns = Annotated[SignedIn, Depends(Require("portal returns"))]
Submit = Annotated[SignedIn, Depends(Require("portal submit"))]
Templates = Annotated[SignedIn, Depends(Require("portal template"))]
Checking = Annotated[SignedIn, Depends(Require("validate"))]
StatementsPage = Annotated[SignedIn, Depends(Require("portal statements"))]
MessagesPage = Annotated[SignedIn, Depends(Require("notifications"))]
ReviewPage = Annotated[SignedIn, Depends(Require("portal review"))]
Replying = Annotated[SignedIn, Depends(Require("review reply"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An id in a path: a whole number the database can hold; anything else is "not found" (web.app's handler).
Id = Annotated[int, Path(ge=1, le=2**62)]
FINDINGS_SHOWN = 500  # on a page; the feedback workbook lists every one


def _deps(request: Request) -> Any:
    return request.app.state.deps()


def _download(path: FilePath, name: str | None = None) -> FileResponse:
    return FileResponse(path, media_type=XLSX, filename=name or path.name)


# --- Months --------------------------------------------------------------------------------------


@router.get("/returns")
def months_page(request: Request, signed_in: Returns) -> Response:
    deps = _deps(request)
    months = portal.months(deps, signed_in.principal)
    busy = uploads.being_checked(deps, signed_in.principal)
    partner = portal.own_partner(deps, signed_in.principal, "portal returns")
    return render(request, "partner/months.html", title="Your returns", months=months, busy=busy, partner=partner)


@router.get("/returns/{period}")
def month_page(request: Request, period: str, signed_in: Returns) -> Response:
    detail = portal.month(_deps(request), signed_in.principal, period)
    return render(request, "partner/month.html", title=f"{detail.month.label} return", detail=detail)


@router.get("/returns/{period}/template")
def template_file(request: Request, period: str, signed_in: Templates) -> Response:
    name, content = portal.template(_deps(request), signed_in.principal, period)
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- Uploading a return --------------------------------------------------------------------------


@router.get("/upload")
def upload_page(request: Request, signed_in: Submit) -> Response:
    deps = _deps(request)
    busy = uploads.being_checked(deps, signed_in.principal)
    return render(request, "partner/upload.html", title="Upload a return", busy=busy, limit=_limit_words(request))


def _limit_words(request: Request) -> str:
    limit = request.app.state.portal.upload_limit
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


async def _return_sent(request: Request, deps: Any, missing: str) -> uploads.Staged:
    """The workbook a form sent in its ``return`` field, streamed to the staging folder within the upload limit."""
    visitor: Visitor = request.state.visitor
    form = await read_form(
        request,
        genuine=visitor.genuine,
        files_to=uploads.staging_folder(deps),
        file_limit=request.app.state.portal.upload_limit,
    )
    staged = form.files.get("return")
    if staged is None:
        form.discard()
        raise UsageError(missing)
    return staged


@router.post("/upload")
async def upload(request: Request, signed_in: Submit) -> Response:
    deps = _deps(request)
    try:
        staged = await _return_sent(request, deps, "Select your return (an Excel workbook, .xlsx)")
        received = await run_in_threadpool(uploads.receive, deps, signed_in.principal, staged)
        assert received.id is not None
        request.app.state.checker.submit(received.id)
        return RedirectResponse(f"/uploads/{received.id}", status_code=303)
    except (FileTooLarge, FormRefused, UsageError, uploads.UploadBusy) as refused:
        problem = str(refused)
    busy = await run_in_threadpool(uploads.being_checked, deps, signed_in.principal)
    return render(
        request,
        "partner/upload.html",
        status=400,
        title="Upload a return",
        busy=busy,
        limit=_limit_words(request),
        errors=[{"text": problem, "href": "#return"}],
    )


@router.get("/uploads/{upload_id}")
def upload_result(request: Request, upload_id: Id, signed_in: Returns) -> Response:
    deps = _deps(request)
    received = uploads.upload_of(deps, signed_in.principal, upload_id)
    if received.state == "done" and received.submission_id and received.outcome in ("accepted", "rejected"):
        return RedirectResponse(f"/versions/{received.submission_id}", status_code=303)
    own_version = None
    if received.submission_id:
        try:
            own_version = portal.own_submission(deps, signed_in.principal, received.submission_id)
        except NotFound:
            own_version = None
    preview = [portal.Shown(**f) for f in json.loads(received.findings or "[]")] if received.state == "checked" else []
    counts = {s: sum(1 for f in preview if f.severity == s) for s in ("error", "warning", "info")}
    return render(
        request,
        "partner/upload_result.html",
        title="Your upload",
        upload=received,
        version=own_version,
        shown=preview[:FINDINGS_SHOWN],
        more=max(0, len(preview) - FINDINGS_SHOWN),
        counts=counts,
    )


@router.get("/uploads/{upload_id}/state")
async def upload_state(
    request: Request, upload_id: Id, signed_in: Returns, seen: str = "", wait: float = 0
) -> Response:
    """The upload's state; with ``seen`` and ``wait`` (seconds, at most 25), answered when it is no longer ``seen``
    (the page's script waits here instead of asking again and again)."""
    deps = _deps(request)
    received = await run_in_threadpool(uploads.upload_of, deps, signed_in.principal, upload_id)
    if seen and received.state == seen and wait > 0:
        await request.app.state.checker.wait(upload_id, min(wait, 25.0))
        received = await run_in_threadpool(uploads.upload_of, deps, signed_in.principal, upload_id)
    return JSONResponse({"state": received.state})


# --- Versions and their findings -----------------------------------------------------------------


@router.get("/versions/{submission_id}")
def version_page(request: Request, submission_id: Id, signed_in: Returns) -> Response:
    detail = portal.version(_deps(request), signed_in.principal, submission_id)
    submission = detail.submission
    title = f"{portal.month_label_of(submission.period)} return, version {submission.version or '-'}"
    return render(
        request,
        "partner/version.html",
        title=title,
        detail=detail,
        shown=detail.findings[:FINDINGS_SHOWN],
        more=max(0, len(detail.findings) - FINDINGS_SHOWN),
    )


@router.get("/versions/{submission_id}/feedback")
def feedback_file(request: Request, submission_id: Id, signed_in: Returns) -> Response:
    return _download(portal.feedback_file(_deps(request), signed_in.principal, submission_id))


# --- Checking a file without submitting it -------------------------------------------------------


@router.get("/check")
def check_page(request: Request, signed_in: Checking) -> Response:
    return render(request, "partner/check.html", title="Check a file without sending it", limit=_limit_words(request))


@router.post("/check")
async def check(request: Request, signed_in: Checking) -> Response:
    deps = _deps(request)
    try:
        staged = await _return_sent(request, deps, "Select the file to check (an Excel workbook, .xlsx)")
        result = await run_in_threadpool(uploads.check_only, deps, signed_in.principal, staged)
        findings = portal.shown_from(result.findings)
        return render(
            request,
            "partner/check_result.html",
            title="Check result",
            result=result,
            filename=staged.filename,
            shown=findings[:FINDINGS_SHOWN],
            more=max(0, len(findings) - FINDINGS_SHOWN),
            counts={s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")},
        )
    except (FileTooLarge, FormRefused, UsageError) as refused:
        problem = str(refused)
    except AccessDenied:
        problem = "That file is another partner's return: you can check your own organisation's returns only"
    return render(
        request,
        "partner/check.html",
        status=400,
        title="Check a file without sending it",
        limit=_limit_words(request),
        errors=[{"text": problem, "href": "#return"}],
    )


# --- Statements and messages ---------------------------------------------------------------------


@router.get("/statements")
def statements_page(request: Request, signed_in: StatementsPage) -> Response:
    found = portal.statements(_deps(request), signed_in.principal)
    return render(request, "partner/statements.html", title="Payment statements", statements=found)


@router.get("/statements/{period}/v{version_number}")
def statement_file(request: Request, period: str, version_number: Id, signed_in: StatementsPage) -> Response:
    return _download(portal.statement_file(_deps(request), signed_in.principal, period, version_number))


@router.get("/messages")
def messages_page(request: Request, signed_in: MessagesPage) -> Response:
    found = portal.messages(_deps(request), signed_in.principal)
    return render(request, "partner/messages.html", title="Messages", messages=found)


# --- The annual review ---------------------------------------------------------------------------


@router.get("/review")
def review_page(request: Request, signed_in: ReviewPage) -> Response:
    notices = portal.reviews_of(_deps(request), signed_in.principal)
    return render(request, "partner/review.html", title="Annual review", notices=notices)


@router.get("/review/{year}/evidence")
def evidence_file(request: Request, year: Id, signed_in: ReviewPage) -> Response:
    return _download(portal.evidence_file(_deps(request), signed_in.principal, year))


def _notice(request: Request, signed_in: SignedIn, year: Id) -> portal.ReviewNotice:
    for notice in portal.reviews_of(_deps(request), signed_in.principal):
        if notice.year == year:
            return notice
    raise NotFound(NOT_FOUND)


@router.get("/review/{year}/reply")
def reply_page(request: Request, year: Id, signed_in: Replying) -> Response:
    notice = _notice(request, signed_in, year)
    return render(request, "partner/reply.html", title="Reply to the review", notice=notice, limit=REPLY_TEXT_LIMIT)


@router.post("/review/{year}/reply")
async def send_reply(request: Request, year: Id, signed_in: Replying) -> Response:
    visitor: Visitor = request.state.visitor
    deps = _deps(request)
    notice = await run_in_threadpool(_notice, request, signed_in, year)
    form = None
    text = ""
    try:
        form = await read_form(
            request,
            genuine=visitor.genuine,
            files_to=uploads.staging_folder(deps),
            file_limit=request.app.state.portal.reply_limit,
        )
        text = form.get("text")
        staged = form.files.get("document")
        partner = portal.own_partner(deps, signed_in.principal, "review reply")
        await run_in_threadpool(
            lambda: reply(
                deps,
                year=year,
                partner_id=partner.id,
                by=signed_in.principal,
                text=text,
                file=staged.path if staged else None,
                filename=staged.filename if staged else None,
            )
        )
    except (FileTooLarge, FormRefused, UsageError) as refused:
        words = str(refused).replace("a reply needs --text or --file", "Write your reply or attach a document")
        return render(
            request,
            "partner/reply.html",
            status=400,
            title="Reply to the review",
            notice=notice,
            limit=REPLY_TEXT_LIMIT,
            text=text,
            errors=[{"text": words, "href": "#text"}],
        )
    except AllianceError:
        raise
    finally:
        if form is not None:
            form.discard()
    return RedirectResponse("/review?done=reply", status_code=303)
