"""flows/local_server.py: the Prefect server `alliance serve` starts for itself."""

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import ConfigError
from flows.local_server import local_prefect_server
from tests.prefect_server import _free_port

REPO = Path(__file__).resolve().parents[2]


class _Healthy(http.server.BaseHTTPRequestHandler):
    """Another server already on the port that answers the health check (another workspace's `alliance serve`)."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def taken_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_already_in_use_is_refused_not_taken_for_our_own_server(taken_port: int, tmp_path: Path) -> None:
    with (
        pytest.raises(ConfigError, match=f"port {taken_port} is in use"),
        local_prefect_server(tmp_path / ".prefect", taken_port),
    ):
        pytest.fail("started against whatever already answers on the port")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_server_starts_leaves_no_server_behind(tmp_path: Path, sig: signal.Signals) -> None:
    port = _free_port()
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from flows.local_server import local_prefect_server\n"
        "with local_prefect_server(Path(sys.argv[1]), int(sys.argv[2])):\n"
        "    time.sleep(600)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = str(REPO)
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / ".prefect"), str(port)], env=env)
    log = tmp_path / ".prefect" / "server.log"
    deadline = time.monotonic() + 30
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the server is starting, not yet answering
    parent.send_signal(sig)
    parent.wait(timeout=60)
    time.sleep(1)
    found = subprocess.run(["pgrep", "-f", f"server start --host 127.0.0.1 --port {port}"], capture_output=True)
    left = [int(pid) for pid in found.stdout.split()]
    for pid in left:  # not to leave it running when this fails
        os.killpg(pid, signal.SIGKILL)
    assert left == [], "a Prefect server was left running"
