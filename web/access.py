"""Every route says who may use it, as a dependency the access-matrix test can read (tests/web/test_access_matrix.py
fails for a route without one): :class:`Public` (signed out too), :class:`SignedInOnly` (anyone signed in), or
:class:`Require` with an action of domain.access (PERMISSIONS or PAGES), which decides the CLI's commands too.
"""

from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request

from domain.access import may
from domain.errors import AllianceError
from services.accounts import SignedIn
from web.security import Visitor


class NotSignedIn(AllianceError):
    """A page for people signed in, asked for by someone who is not (or whose session has ended)."""

    exit_code = 4


class NotForYou(AllianceError):
    """A page the signed-in account's role is not for."""

    exit_code = 4


class Public:
    """Open to anyone, signed in or not (sign-in, password links, static files, health)."""

    action = None

    def __call__(self, request: Request) -> Visitor:
        visitor: Visitor = request.state.visitor
        return visitor


class SignedInOnly:
    """Anyone signed in, whatever their role (their home page, signing out)."""

    action = None

    def __call__(self, request: Request) -> SignedIn:
        visitor: Visitor = request.state.visitor
        if visitor.signed_in is None:
            raise NotSignedIn("Sign in to continue")
        return visitor.signed_in


class Require(SignedInOnly):
    """Signed in, with a role that may do ``action`` (domain.access.may)."""

    def __init__(self, action: str) -> None:
        self.action = action  # type: ignore[assignment]

    def __call__(self, request: Request) -> SignedIn:
        signed_in = super().__call__(request)
        assert self.action is not None
        if not may(signed_in.principal, self.action):
            raise NotForYou(self.action)
        return signed_in


def routes_of(app: Any) -> list[APIRoute]:
    """Every route of the app, those of included routers too (FastAPI includes them lazily)."""
    found: list[APIRoute] = []
    for route in getattr(app, "routes", []):
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += routes_of(route.original_router)
    return found
