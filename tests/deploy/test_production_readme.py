"""The README's production section, run as written on this machine: a fresh virtualenv, two PostgreSQL databases,
a Prefect server on its own, the deployments, a worker, a cycle."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL, REPO, require_or_skip
from tests.prefect_server import _free_port, http_json
from tests.smtp_server import smtp_server

MARKER = "<!-- production-script -->"


def production_script() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(re.escape(MARKER) + r"\s*```sh\n(.*?)\n```", readme, re.DOTALL)
    assert match, f"README.md has no sh block after {MARKER}"
    return match.group(1)


def test_the_readme_production_section_runs_from_a_fresh_machine(tmp_path: Path) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        require_or_skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    suffix = uuid.uuid4().hex[:8]
    app_db, prefect_db = f"alliance_readme_{suffix}", f"prefect_readme_{suffix}"
    server_root = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql+psycopg:", "postgresql:")
    port = _free_port()
    logs = tmp_path / "logs"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ALLIANCE_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(
        PG=server_root,
        APP_DB=app_db,
        PREFECT_DB=prefect_db,
        CODE=str(REPO),
        VENV=str(tmp_path / "venv"),
        WORKSPACE=str(tmp_path / "workspace"),
        LOGS=str(logs),
        PORT=str(port),
        PREFECT_HOME=str(tmp_path / "prefect-home"),
    )
    web_port = _free_port()
    env.update(WEB_PORT=str(web_port), PORTAL_HOST="returns.alliance.test", OFFICER_EMAIL="first@office.test")
    mail = smtp_server()
    mailbox, smtp = mail.__enter__()
    env.update(SMTP_HOST=smtp.host, SMTP_PORT=str(smtp.port), SMTP_SECURITY="none")
    script = tmp_path / "production.sh"
    script.write_text("set -euo pipefail\n" + production_script() + "\n")
    process = subprocess.Popen(
        ["bash", str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the server and the worker it leaves running share its process group
    )
    try:
        output, _ = process.communicate(timeout=1200)
        assert process.returncode == 0, f"the README's production script failed:\n{output[-8000:]}{_logs(logs)}"
        # The cycle ran on the worker and paid core funding from the application's PostgreSQL database.
        for partner in ("harbour-trust", "city-mind", "northfield-works"):
            assert partner in output
        api = f"http://127.0.0.1:{port}/api"
        runs = http_json(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
        assert [r["parameters"] for r in runs] == [{"period": "2026-10"}]
        # The scheduler of the PostgreSQL-backed server schedules the next cycles.
        assert _eventually(lambda: _scheduled(api), timeout=120), "the Prefect scheduler created no scheduled runs"
        with create_engine(f"{server_root.replace('postgresql:', 'postgresql+psycopg:')}/{prefect_db}").connect() as c:
            assert c.execute(text("SELECT count(*) FROM flow_run")).scalar_one() >= 1  # Prefect's own database
        with create_engine(f"{server_root.replace('postgresql:', 'postgresql+psycopg:')}/{app_db}").connect() as c:
            assert c.execute(text("SELECT count(*) FROM payment_run WHERE period = '2026-10'")).scalar_one() == 1
        # The portal runs beside them, on the application's database, and its first officer was invited by email.
        portal = f"http://127.0.0.1:{web_port}"
        with urllib.request.urlopen(f"{portal}/healthz", timeout=10) as health:
            assert health.read() == b"ok"
        with urllib.request.urlopen(f"{portal}/account/sign-in", timeout=10) as page:
            assert (
                "Sign in" in page.read().decode()
                and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
            )
        [invitation] = mailbox.to("first@office.test")
        assert "https://returns.alliance.test/account/set-password/" in invitation.get_content()
    finally:
        mail.__exit__(None, None, None)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            time.sleep(3)
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with admin.connect() as connection:
            for name in (app_db, prefect_db):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _scheduled(api: str) -> bool:
    runs = http_json(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
    return bool(runs)


def _eventually(probe, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(1)
    return False


def _logs(logs: Path) -> str:
    shown = ""
    for log in sorted(logs.glob("*.log")) if logs.exists() else []:
        shown += f"\n---- {log.name} ----\n{log.read_text(errors='replace')[-4000:]}"
    return shown


if __name__ == "__main__":  # print the script, e.g. to read it or run it by hand
    print(production_script(), file=sys.stdout)
