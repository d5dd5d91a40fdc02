"""Who is visiting, and the headers and tokens that keep other sites out.

Two cookies, both HttpOnly and SameSite=Lax (Secure when the portal's base URL is https): the *visitor* cookie,
a random id every browser gets, and the *session* cookie, a random token given at sign-in whose SHA-256 is the
only copy kept (services.accounts). A form's CSRF token is an HMAC, under the workspace's secret key, of the
session token when signed in and of the visitor id otherwise; web/forms.py checks it on every POST.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from services.accounts import SignedIn

SESSION_COOKIE = "alliance_session"
VISITOR_COOKIE = "alliance_visitor"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline script anywhere: progressive enhancement comes from /static files
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


@dataclass
class Visitor:
    """Set on every request by the portal's middleware (request.state.visitor)."""

    visitor_id: str
    new_visitor: bool
    session_token: str | None  # the session cookie, if it still signs someone in
    signed_in: SignedIn | None
    key: bytes

    @property
    def csrf_token(self) -> str:
        basis = f"session|{self.session_token}" if self.session_token else f"visitor|{self.visitor_id}"
        digest = hmac.new(self.key, f"csrf|{basis}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def genuine(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self.csrf_token.encode())


def visitor_id(request: Request) -> tuple[str, bool]:
    current = request.cookies.get(VISITOR_COOKIE, "")
    if 20 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum():
        return current, False
    return secrets.token_urlsafe(24), True


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure, path="/")


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure, path="/")


def security_headers(response: Response, *, secure: bool, private: bool) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # Links carrying tokens (set-password) must not leak them to other sites; "no-referrer" would make browsers send
    # "Origin: null" with the page's own forms, which the origin check then refuses.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if private:
        response.headers["Cache-Control"] = "no-store"
    if secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def same_origin(request: Request, base_url: str | None) -> bool:
    """A state-changing request from a page of this site: its Origin (sent by browsers with every POST), when
    there is one, is this site. A request without Origin still needs its CSRF token."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    expected = base_url or f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") == expected.rstrip("/")
