"""The single-machine default: a Prefect server of our own, started beside `alliance serve`.

Prefect's ephemeral in-process API runs no scheduler ("Cannot schedule flows on an ephemeral server"), so
scheduled deployments need a real server. Its database lives in the workspace (`.prefect/`), never the
application's, so its schedules and run history survive a restart.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.errors import ConfigError


@contextmanager
def local_prefect_server(home: Path, port: int, startup_timeout: float = 120.0) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1:``port`` with PREFECT_HOME ``home``; yield its API URL."""
    home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_UI_API_URL=api_url,
        PREFECT_UI_URL=f"http://127.0.0.1:{port}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    log_path = home / "server.log"
    _refuse_taken(port)  # else whatever already answers there (another workspace's server) would pass for ours
    # The server has a session of its own (a Ctrl-C or hang-up of ours does not reach it): SIGTERM and SIGHUP must
    # unwind through the `finally` below, also while it starts (Prefect's own SIGTERM handler comes later).
    with _exit_on(signal.SIGTERM, signal.SIGHUP):
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        try:
            _wait_healthy(api_url, process, startup_timeout, log_path)
            yield api_url
        finally:
            _stop(process)


def _refuse_taken(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ConfigError(
                f"port {port} is in use (another `alliance serve`?): give another --port, "
                "or set PREFECT_API_URL to use a Prefect server that is already running"
            ) from None


@contextmanager
def _exit_on(*signals: signal.Signals) -> Iterator[None]:
    """Turn ``signals`` into SystemExit while inside (main thread only: elsewhere handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_healthy(api_url: str, process: subprocess.Popen[bytes], timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"the local Prefect server stopped at start (code {process.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.read().strip() == b"true":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise ConfigError(f"the local Prefect server did not answer at {api_url} within {timeout:.0f} s; see {log_path}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Started in its own session: its process group is the server and its children.
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
