"""Real-browser helpers: a throwaway local Prefect server and driving its UI's "Resume" form.

Written against Prefect 3.8.8's classic (v1, Vue) UI, which is what `/runs/flow-run/<id>` serves; the React UI lives
under `/v2/...` and is not driven here.

Gotchas these helpers deal with:
- `prefect server start --port N` does not tell the UI where the API is: `/ui-settings` still says port 4200 unless
  `PREFECT_UI_API_URL` is set, so the server is started with it (and `PREFECT_UI_URL`).
- The schema's enum/Literal fields render as a custom select (`.p-select`). A mouse click on its button opens and
  closes it in the same click (the click handler is bound twice), so the popover is opened by clicking the chevron
  (`.p-select-button__icon`) and the option is then picked from the teleported `.p-pop-over-content`.
- `pause_flow_run` sets the run to Paused *before* it saves the input schema, so wait for the schema before opening
  the form (`wait_for_paused_with_input`), or the form may render without fields.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Playwright, Request, ViewportSize, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.prefect_server import LocalPrefectServer, http_json, local_prefect_server

__all__ = ["LocalPrefectServer", "local_prefect_server", "http_json"]

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Tall enough that the whole resume form of a handful of fields fits, so one screenshot shows all of it.
VIEWPORT: ViewportSize = {"width": 1400, "height": 1600}

FieldValue = str | int | float | bool | Enum | None


def wait_for_paused_with_input(api_url: str, flow_run_id: str | None = None, timeout: float = 60.0) -> str:
    """Wait until a flow run (the given one, or any) is Paused and its RunInput schema is saved; return its id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if flow_run_id is None:
            runs = http_json(f"{api_url}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}})
        else:
            runs = [http_json(f"{api_url}/flow_runs/{flow_run_id}")]
        for run in runs:
            state = run.get("state") or {}
            keyset = (state.get("state_details") or {}).get("run_input_keyset") or {}
            if state.get("type") != "PAUSED" or "schema" not in keyset:
                continue
            try:
                http_json(f"{api_url}/flow_runs/{run['id']}/input/{keyset['schema']}")
            except urllib.error.HTTPError:
                continue  # paused, but the schema is not saved yet
            return str(run["id"])
        time.sleep(0.25)
    raise TimeoutError(f"no paused flow run with a saved input schema after {timeout:.0f}s")


def wait_for_state(api_url: str, flow_run_id: str, state_types: set[str], timeout: float = 60.0) -> dict[str, Any]:
    """Poll the API until the flow run's state type is one of `state_types`; return the flow run."""
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = http_json(f"{api_url}/flow_runs/{flow_run_id}")
        if (run.get("state") or {}).get("type") in state_types:
            return run
        time.sleep(0.25)
    raise TimeoutError(f"flow run {flow_run_id} not in {state_types} after {timeout:.0f}s: {run.get('state')}")


@dataclass(frozen=True)
class ResumeResult:
    run_input: dict[str, Any]  # what the UI POSTed to /flow_runs/{id}/resume
    description_text: str  # the rendered markdown description shown above the form ("" if none)


def launch_chromium(playwright: Playwright, headless: bool = True, webgl: bool = False) -> Browser:
    """Debian's Chromium, headless. WebGL is off by default: the flow run page's run graph renders with WebGL, which
    without a GPU (SwiftShader) keeps the CPU busy, and every click then waits ~1 s for the page to settle; without
    WebGL the graph stays blank and the rest of the page works (clicks take ~0.1 s)."""
    args = CHROMIUM_ARGS if webgl else [*CHROMIUM_ARGS, "--disable-webgl", "--disable-3d-apis"]
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=args, headless=headless)


def field_label(name: str) -> str:
    """The label the v1 UI shows for a field without an explicit `title` (pydantic's default title)."""
    return name.title().replace("_", " ")


def resume_in_ui(
    page_or_browser: Page | Browser,
    ui_url: str,
    flow_run_id: str,
    values: Mapping[str, FieldValue],
    screenshot: Path | None = None,
    labels: Mapping[str, str] | None = None,
    timeout_ms: float = 30_000,
) -> ResumeResult:
    """Open the flow run page, click Resume, fill the RunInput form, screenshot it, submit.

    `values` maps field names to values; a field is found by its label (`labels[name]`, else `field_label(name)`,
    i.e. a custom `Field(title=...)` needs an entry in `labels`). Enum members are entered by `.value`; `None`
    picks the "None" branch of an Optional field. Returns the `run_input` the UI POSTed and the description shown.
    Raises if the UI does not accept the input (e.g. a pattern fails), with the form's error messages.
    """
    if isinstance(page_or_browser, Page):
        return _resume(page_or_browser, ui_url, flow_run_id, values, screenshot, labels or {}, timeout_ms)
    context = page_or_browser.new_context(viewport=VIEWPORT)
    try:
        return _resume(context.new_page(), ui_url, flow_run_id, values, screenshot, labels or {}, timeout_ms)
    finally:
        context.close()


def _resume(
    page: Page,
    ui_url: str,
    flow_run_id: str,
    values: Mapping[str, FieldValue],
    screenshot: Path | None,
    labels: Mapping[str, str],
    timeout_ms: float,
) -> ResumeResult:
    page.set_default_timeout(timeout_ms)
    page.goto(f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}")
    page.get_by_role("button", name="Resume", exact=True).click()
    dialog = page.locator(".p-modal__card").filter(has=page.locator(".p-modal__title", has_text="Resume Flow Run"))
    dialog.locator(".schema-form-property").first.wait_for()
    description = dialog.locator(".p-modal__body > .markdown-renderer")
    description_text = description.first.inner_text() if description.count() else ""

    for name, value in values.items():
        _fill_field(page, _field(dialog, labels.get(name) or field_label(name)), name, value)

    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _fit_viewport_to(page, dialog.locator(".p-modal__body"))
        dialog.screenshot(path=str(screenshot))

    submit = dialog.locator(".p-modal__footer").get_by_role("button", name="Submit", exact=True)
    is_resume = _is_resume_request(flow_run_id)
    try:
        with page.expect_request(is_resume, timeout=min(timeout_ms, 10_000)) as request_info:
            submit.click()
    except PlaywrightTimeoutError as exc:  # the UI refused to send: its own validation failed
        raise AssertionError(f"resume form not submitted; form errors: {_form_errors(dialog)}") from exc
    request = request_info.value
    response = request.response()
    if response is None or not response.ok:
        status = response.status if response else "no response"
        raise AssertionError(f"resume request failed ({status}): {response.text() if response else ''}")
    body = response.json()
    if body.get("status") != "ACCEPT":
        reason = (body.get("details") or {}).get("reason") or body
        raise AssertionError(f"server refused the resume ({body.get('status')}): {reason}")
    dialog.wait_for(state="detached")
    return ResumeResult(dict((request.post_data_json or {}).get("run_input") or {}), description_text)


def _is_resume_request(flow_run_id: str) -> Callable[[Request], bool]:
    def matches(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith(f"/flow_runs/{flow_run_id}/resume")

    return matches


def _field(dialog: Locator, label: str) -> Locator:
    # Label text is the title, plus " (Optional)" when the field has a default.
    pattern = re.compile(rf"^\s*{re.escape(label)}( \(Optional\))?\s*$")
    field = dialog.locator(".schema-form-properties > .schema-form-property").filter(
        has=dialog.page.locator(".schema-form-property__label", has_text=pattern)
    )
    if field.count() != 1:
        shown = dialog.locator(".schema-form-property__label").all_inner_texts()
        raise LookupError(f"{field.count()} form fields labelled {label!r}; labels shown: {shown}")
    return field


def _fill_field(page: Page, field: Locator, name: str, value: FieldValue) -> None:
    if isinstance(value, Enum):
        value = value.value
    variants = field.locator(".p-button-group").first.locator("button")
    if variants.count():  # Optional[...] / Union: pick the branch first
        if value is None:
            variants.filter(has_text=re.compile(r"^\s*None\s*$")).click()
            return
        others = [b for b in variants.all() if b.inner_text().strip() != "None"]
        if len(others) != 1:
            raise ValueError(f"{name}: union with several branches {[b.inner_text() for b in others]}; not supported")
        if others[0].get_attribute("aria-selected") != "true":
            others[0].click()
        expect(field.locator(".schema-form-property-null")).to_have_count(0)  # the branch's input has rendered
    if value is None:
        raise ValueError(f"{name}: None given, but the field has no None branch")

    select = field.locator(".p-select")
    if select.count():
        _choose_option(page, select.first, name, str(value))
        return
    switch = field.get_by_role("switch")  # bool: label.p-toggle__control[role=switch]; its checkbox is display:none
    if switch.count():
        want = "true" if value else "false"
        if switch.first.get_attribute("aria-checked") != want:
            switch.first.click()
        expect(switch.first).to_have_attribute("aria-checked", want)
        return
    text = field.locator("textarea, input[type=number], input[type=text]")
    if text.count() != 1:
        raise ValueError(f"{name}: no single text/number input in the field ({text.count()} found)")
    text.fill(str(value))
    expect(text).to_have_value(str(value))


def _choose_option(page: Page, select: Locator, name: str, text: str) -> None:
    current = select.locator(".p-select-button__value")
    if current.inner_text().strip() == text:
        return
    # Not the button itself: a click on it toggles the popover twice (opens and closes at once).
    select.locator(".p-select-button__icon").click()
    options = page.locator(".p-pop-over-content [role=listbox]").last
    options.wait_for()
    option = options.get_by_role("option", name=text, exact=True)
    try:  # the listbox can be attached a moment before its (virtually scrolled) options are
        option.wait_for(timeout=5_000)
    except PlaywrightTimeoutError as exc:
        shown = options.get_by_role("option").all_inner_texts()
        raise ValueError(f"{name}: no option {text!r}; options shown: {shown}") from exc
    option.click()
    options.wait_for(state="detached")
    expect(current).to_have_text(text)


def _fit_viewport_to(page: Page, scroller: Locator) -> None:
    """Grow the viewport until `scroller` no longer scrolls, so a screenshot shows all of it."""
    for _ in range(3):
        hidden = scroller.evaluate("e => e.scrollHeight - e.clientHeight")
        size = page.viewport_size
        if hidden <= 0 or size is None:
            return
        page.set_viewport_size({"width": size["width"], "height": size["height"] + int(hidden) + 40})


def _form_errors(dialog: Locator) -> list[str]:
    texts = dialog.locator(".p-label__message, .p-message, [class*=error]").all_inner_texts()
    return [t.strip() for t in texts if t.strip()]
