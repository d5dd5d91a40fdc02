"""The front door: where each role starts, and the health check a proxy or a deployment test asks."""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from domain.access import Role
from services.accounts import SignedIn
from web.access import Public, SignedInOnly
from web.pages import render
from web.security import Visitor

router = APIRouter()


@router.get("/")
def front(request: Request, visitor: Annotated[Visitor, Depends(Public())]) -> Response:
    signed_in = visitor.signed_in
    if signed_in is None:
        return RedirectResponse("/account/sign-in", status_code=303)
    if Role.partner in signed_in.principal.roles:
        return RedirectResponse("/returns", status_code=303)
    return RedirectResponse("/home", status_code=303)


@router.get("/home")
def home(request: Request, signed_in: Annotated[SignedIn, Depends(SignedInOnly())]) -> Response:
    return render(request, "home.html", title="Your account", account=signed_in.account)


@router.get("/healthz")
def health(visitor: Annotated[Visitor, Depends(Public())]) -> Response:
    return PlainTextResponse("ok")
