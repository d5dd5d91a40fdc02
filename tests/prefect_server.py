"""A throwaway local Prefect server (`prefect server start`) for tests that need a real one: the UI, workers,
`prefect deploy`, `alliance serve`. Its own PREFECT_HOME; its database SQLite there, or the PostgreSQL URL given.

`prefect server start --port N` does not tell the UI where the API is: `/ui-settings` still says port 4200 unless
`PREFECT_UI_API_URL` is set, so the server is started with it (and `PREFECT_UI_URL`).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LocalPrefectServer:
    api_url: str  # http://127.0.0.1:PORT/api
    ui_url: str  # http://127.0.0.1:PORT
    home: Path  # the server's own PREFECT_HOME (SQLite DB lives here)
    log_path: Path

    def client_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a process (e.g. a flow) that should talk to this server."""
        env = _clean_env(os.environ if base is None else base)
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_UI_URL=self.ui_url,
            PREFECT_HOME=str(self.home / "client"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        return env

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"<no server log: {exc}>"


def _clean_env(base: Mapping[str, str]) -> dict[str, str]:
    # Inherited PREFECT_* settings (a profile, an API URL, a database URL...) must not leak into the throwaway server.
    return {k: v for k, v in base.items() if not k.startswith("PREFECT_")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TRANSIENT = {429, 502, 503, 504}  # a busy server (SQLite-backed Prefect answers 503 while its database is locked)


def http_json(url: str, payload: Any = None, timeout: float = 20.0, attempts: int = 6) -> Any:
    """GET (payload None) or POST JSON to the server; returns the decoded body.

    Retries what Prefect's own client retries (a busy server's 429/502/503/504) with backoff: CI
    once saw a 503 on a loaded machine. A read (a GET, a `/filter` query) that timed out is asked
    again too (seen with three workers polling one SQLite-backed server); a write is not, as it may
    have been done. Any other error is raised at once."""
    data = None if payload is None else json.dumps(payload).encode()
    is_read = payload is None or url.endswith("/filter")
    for attempt in range(attempts):
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
            return json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            if error.code not in TRANSIENT or attempt == attempts - 1:
                raise
            time.sleep(min(2**attempt, 10))
        except TimeoutError:
            if not is_read or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@contextmanager
def local_prefect_server(
    startup_timeout: float = 90.0, database_url: str | None = None
) -> Iterator[LocalPrefectServer]:
    """Start `prefect server start` on a free port with its own PREFECT_HOME; stop it on exit.

    Prints the server log if startup fails or the body raises.
    """
    home = Path(tempfile.mkdtemp(prefix="prefect-ui-test-"))
    port = _free_port()
    ui_url = f"http://127.0.0.1:{port}"
    server = LocalPrefectServer(api_url=f"{ui_url}/api", ui_url=ui_url, home=home, log_path=home / "server.log")
    env = _clean_env(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=server.api_url,
        PREFECT_UI_API_URL=server.api_url,
        PREFECT_UI_URL=ui_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    prefect_cli = Path(sys.executable).with_name("prefect")
    command = [str(prefect_cli), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        _wait_healthy(server, process, startup_timeout)
        yield server
    except BaseException:
        print(f"---- prefect server log ({server.log_path}) ----\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        _stop(process)
        shutil.rmtree(home, ignore_errors=True)


def _wait_healthy(server: LocalPrefectServer, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {process.returncode} before becoming healthy")
        try:
            if http_json(f"{server.api_url}/health", timeout=2) is True:
                settings = http_json(f"{server.ui_url}/ui-settings", timeout=2)
                if settings.get("api_url") != server.api_url:
                    raise RuntimeError(f"UI would call {settings.get('api_url')}, not {server.api_url}")
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"prefect server not healthy at {server.api_url} after {timeout:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server was started in its own session, so its process group is exactly the server and its children.
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
