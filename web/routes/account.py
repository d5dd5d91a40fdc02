"""Signing in and out, setting a password from an invitation or reset link, asking for a reset."""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.accounts import PASSWORD_MIN, LinkPurpose
from domain.errors import UsageError
from services import accounts
from services.accounts import LinkInvalid, SignedIn, SignInRefused
from web.access import Public, SignedInOnly
from web.forms import read_form
from web.pages import render
from web.security import SESSION_COOKIE, Visitor, clear_cookie, set_cookie

router = APIRouter()
Anyone = Annotated[Visitor, Depends(Public())]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site, never a scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return "/"


@router.get("/account/sign-in")
def sign_in_page(request: Request, visitor: Anyone, next: str = "", done: str = "") -> Response:
    if visitor.signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    banners = {
        "password": "Your password is set. Sign in with it now.",
        "signed-out": "You have signed out.",
    }
    return render(request, "account/sign_in.html", title="Sign in", next=safe_next(next), banner=banners.get(done))


@router.post("/account/sign-in")
async def sign_in(request: Request, visitor: Anyone) -> Response:
    form = await read_form(request, genuine=visitor.genuine)
    deps = request.app.state.deps()
    email, target = form.get("email"), safe_next(form.get("next"))
    client = request.client.host if request.client else None
    try:
        token, _ = await run_in_threadpool(
            accounts.sign_in, deps, email=email, password=form.get("password"), client=client
        )
    except SignInRefused as refused:
        return render(
            request,
            "account/sign_in.html",
            status=400,
            title="Sign in",
            next=target,
            email=email,
            errors=[{"text": str(refused), "href": "#email"}],
        )
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, SESSION_COOKIE, token, secure=request.app.state.portal.secure)
    return response


@router.post("/account/sign-out")
async def sign_out(request: Request, signed_in: Annotated[SignedIn, Depends(SignedInOnly())]) -> Response:
    visitor: Visitor = request.state.visitor
    await read_form(request, genuine=visitor.genuine)
    await run_in_threadpool(accounts.sign_out, request.app.state.deps(), visitor.session_token)
    response = RedirectResponse("/account/sign-in?done=signed-out", status_code=303)
    clear_cookie(response, SESSION_COOKIE, secure=request.app.state.portal.secure)
    return response


_PURPOSES = {"set-password": LinkPurpose.invitation, "reset-password": LinkPurpose.reset}


@router.get("/account/set-password/{token}")
@router.get("/account/reset-password/{token}")
def password_page(request: Request, token: str, visitor: Anyone) -> Response:
    purpose = _PURPOSES[request.url.path.split("/")[2]]
    try:
        _, account = accounts.open_link(request.app.state.deps(), token, purpose)
    except LinkInvalid as invalid:
        return _unusable(request, invalid)
    return render(
        request,
        "account/set_password.html",
        title=_title(purpose),
        email=account.email,
        minimum=PASSWORD_MIN,
        purpose=purpose.value,
    )


@router.post("/account/set-password/{token}")
@router.post("/account/reset-password/{token}")
async def set_password(request: Request, token: str, visitor: Anyone) -> Response:
    purpose = _PURPOSES[request.url.path.split("/")[2]]
    form = await read_form(request, genuine=visitor.genuine)
    deps = request.app.state.deps()
    try:
        await run_in_threadpool(
            accounts.set_password,
            deps,
            token=token,
            purpose=purpose,
            password=form.get("password"),
            confirm=form.get("confirm"),
        )
    except LinkInvalid as invalid:
        return _unusable(request, invalid)
    except UsageError as problem:
        _, account = accounts.open_link(deps, token, purpose)
        return render(
            request,
            "account/set_password.html",
            status=400,
            title=_title(purpose),
            email=account.email,
            minimum=PASSWORD_MIN,
            purpose=purpose.value,
            errors=[{"text": str(problem), "href": "#password"}],
        )
    response = RedirectResponse("/account/sign-in?done=password", status_code=303)
    clear_cookie(response, SESSION_COOKIE, secure=request.app.state.portal.secure)
    return response


def _unusable(request: Request, invalid: LinkInvalid) -> Response:
    link = ("/account/forgotten-password", "Ask for a new link")
    return render(request, "error.html", status=410, title="This link cannot be used", message=str(invalid), link=link)


def _title(purpose: LinkPurpose) -> str:
    return "Create your password" if purpose is LinkPurpose.invitation else "Choose a new password"


@router.get("/account/forgotten-password")
def forgotten_page(request: Request, visitor: Anyone) -> Response:
    return render(request, "account/forgotten.html", title="Reset your password")


@router.post("/account/forgotten-password")
async def forgotten(request: Request, visitor: Anyone) -> Response:
    form = await read_form(request, genuine=visitor.genuine)
    email = form.get("email").strip()
    if not email:
        return render(
            request,
            "account/forgotten.html",
            status=400,
            title="Reset your password",
            errors=[{"text": "Enter your email address", "href": "#email"}],
        )
    # The page is the same, and as quick, whether or not the address has an account: the work happens after it.
    response = render(request, "account/reset_sent.html", title="Check your email", email=email)
    response.background = BackgroundTask(accounts.request_reset, request.app.state.deps(), email=email)
    return response
