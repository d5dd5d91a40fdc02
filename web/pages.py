"""Rendering pages: Jinja2 with the GOV.UK Frontend macros (govuk-frontend-jinja), autoescaped (partner text is
always escaped), with what every page needs: the service's name, the navigation for the visitor's role, the
visitor's CSRF token."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from domain.access import Role, may
from domain.money import format_pounds
from integrations.email.plain import plain_text
from web.security import Visitor

TEMPLATES = Path(__file__).parent / "templates"

ENVIRONMENT = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    ),
    autoescape=select_autoescape(["html", "xml"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["pounds"] = format_pounds
ENVIRONMENT.filters["plain"] = plain_text


def _when(moment: Any) -> str:
    from domain.periods import LONDON

    return f"{moment.astimezone(LONDON):%-d %B %Y at %H:%M}" if moment else ""


ENVIRONMENT.filters["when"] = _when


def _figure(value: Any) -> str:
    """A value from a workbook as a page shows it: fractions to three places, yes/no for booleans, blanks empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return str(value)


ENVIRONMENT.filters["figure"] = _figure


def navigation(request: Request, visitor: Visitor) -> list[dict[str, Any]]:
    """The service navigation for the visitor's role."""
    signed_in = visitor.signed_in
    if signed_in is None:
        return []
    path = request.url.path
    items: list[tuple[str, str, str | None]] = []
    if may(signed_in.principal, "portal returns") and Role.partner in signed_in.principal.roles:
        items += [
            ("/returns", "Your returns", "/returns"),
            ("/upload", "Upload a return", "/upload"),
            ("/check", "Check a file", "/check"),
            ("/statements", "Statements", "/statements"),
            ("/messages", "Messages", "/messages"),
            ("/review", "Review", "/review"),
        ]
    else:
        items.append(("/home", "Home", "/home"))
        principal = signed_in.principal
        for action, href, text in (
            ("status", "/office/returns", "Returns"),
            ("office payments", "/office/payments", "Payments"),
            ("checks list", "/office/checks", "Spot checks"),
            ("board review", "/board/review", "Review"),
            ("users list", "/office/accounts", "Accounts"),
            ("notifications retry", "/office/outbox", "Outbox"),
            ("audit verify", "/office/audit", "Audit"),
        ):
            if may(principal, action):
                items.append((href, text, href))
    return [
        {"href": href, "text": text, "active": bool(prefix and path.startswith(prefix))} for href, text, prefix in items
    ]


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    visitor: Visitor = request.state.visitor
    settings = request.app.state.portal
    page = ENVIRONMENT.get_template(template)
    html = page.render(
        request=request,
        visitor=visitor,
        signed_in=visitor.signed_in,
        csrf_field=Markup('<input type="hidden" name="csrf_token" value="{}">').format(visitor.csrf_token),
        service=settings.service_name,
        navigation=navigation(request, visitor),
        **context,
    )
    return HTMLResponse(html, status_code=status)


async def refused_again(page: Callable[..., Response], problem: str, href: str, *args: Any, **kwargs: Any) -> Response:
    """``page(*args, **kwargs)`` again (built off the event loop), saying what was refused and where, as a 400."""
    response: Response = await run_in_threadpool(
        lambda: page(*args, errors=[{"text": problem, "href": href}], **kwargs)
    )
    response.status_code = 400
    return response
