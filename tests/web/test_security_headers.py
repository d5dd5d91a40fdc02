"""Headers and cookies that keep other sites out: a CSP without inline script and with frame-ancestors none,
cookies HttpOnly and SameSite=Lax (Secure behind TLS), no page cached, no inline script in any template."""

import re
from pathlib import Path

from tests.web.conftest import HARBOUR, Portal, start_portal
from web.pages import TEMPLATES


def test_every_page_sends_a_csp_without_inline_script_and_refuses_framing(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    for path in ("/account/sign-in", "/returns", "/upload", "/statements", "/nowhere", "/static/portal.css"):
        response = person.get(path)
        csp = response.headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert directives["script-src"] == "'self'" and "unsafe" not in csp, path
        assert directives["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert person.get("/returns").headers["Cache-Control"] == "no-store"  # a partner's page is never cached


def test_no_template_has_inline_script_or_event_handlers() -> None:
    for template in Path(TEMPLATES).rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{template.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: an inline event handler"
        assert "| safe" not in text and "|safe" not in text, f"{template.name}: unescaped output"


def test_cookies_are_http_only_and_same_site_lax_and_secure_behind_tls(tmp_path: Path) -> None:
    for base, secure in (("http://portal.test", False), ("https://portal.test", True)):
        portal = start_portal(tmp_path / ("tls" if secure else "plain"), base_url=base)
        try:
            person = portal.person()
            first = person.get("/account/sign-in")
            response = person.post(
                "/account/sign-in",
                {"email": HARBOUR, "password": "correct horse battery staple"},
                page="/account/sign-in",
                headers={"Origin": base},
            )
            cookies = first.headers.get_list("set-cookie") + response.headers.get_list("set-cookie")
            assert {c.split("=", 1)[0] for c in cookies} == {"alliance_visitor", "alliance_session"}
            for cookie in cookies:
                flags = {f.strip().lower() for f in cookie.split(";")[1:]}
                assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags, cookie
                assert ("secure" in flags) is secure, cookie
            assert ("Strict-Transport-Security" in response.headers) is secure
        finally:
            portal.close()
