"""`serve` as a real process: gunicorn over HTTP (ping, batches, single rows, every bad input, 16 clients at
once), nginx in front of it when nginx is installed, and the switch to an unprivileged user."""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from xgb_model.model import Model
from xgb_model.paths import MlPaths
from xgb_model.server import NGINX_CONF, SAGEMAKER_PORT, gunicorn_command
from xgb_model.settings import ServingSettings

from tests.container.conftest import CONTAINER_DIR, process_env
from tests.container.synthetic import FEATURES, score_csv_text

pytestmark = pytest.mark.slow
CSV = {"Content-Type": "text/csv"}
MAX_PAYLOAD_MB = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """No listener on the port (connections still in TIME_WAIT do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/ping", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # still starting: the workers load the model before they answer
        time.sleep(0.2)
    pytest.fail(f"serve did not answer /ping within {timeout_s}s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@pytest.fixture(scope="module")
def server(trained_root: MlPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn process (no nginx) with two workers serving the trained model; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = process_env(
        trained_root.root,
        MODEL_SERVER_WORKERS="2",
        MODEL_SERVER_TIMEOUT="60",
        MODEL_SERVER_MAX_PAYLOAD_MB=str(MAX_PAYLOAD_MB),
    )
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(CONTAINER_DIR / "serve"), "--no-nginx", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, log)
        yield url
    finally:
        assert stop(process) == 0, log.read_text()


def probabilities(response: requests.Response) -> list[float]:
    assert response.status_code == 200, response.text
    return [float(line) for line in response.text.splitlines()]


def test_ping_batch_and_single_row_over_http(server: str, model: Model, holdout_frame: pd.DataFrame) -> None:
    assert requests.get(f"{server}/ping", timeout=10).status_code == 200
    frame = pd.concat([holdout_frame] * 5, ignore_index=True)  # 10,000 rows, ~1.3 MB
    batch = requests.post(f"{server}/invocations", data=score_csv_text(frame), headers=CSV, timeout=60)
    expected = model.predict(frame[FEATURES].to_numpy(np.float32))
    assert len(frame) == 10_000
    assert probabilities(batch) == pytest.approx(expected.tolist(), rel=1e-6)
    assert int(batch.headers["Content-Length"]) == len(batch.content)

    single = requests.post(
        f"{server}/invocations", data=score_csv_text(frame.iloc[[3]]), headers=CSV, timeout=10
    )
    assert probabilities(single) == pytest.approx([expected[3]], rel=1e-6)


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"Content-Type": "application/xml"}, "<rows/>", 415, "unsupported content type 'application/xml'"),
        (CSV, "1,2,3\n", 400, "line 1 has 3 columns; expected 43 features"),
        (CSV, ",".join(["1"] * 43) + "\n" + ",".join(["1"] * 44), 400, "line 2 has 44 columns; expected 43"),
        (CSV, ",".join(["1"] * 40 + ["1e99", "1", "1"]), 400, "line 1, column 41: '1e99' is not a finite"),
        (CSV, "\n", 400, "the body holds no rows"),
        ({"Content-Type": "application/json"}, '{"instances": 5}', 400, "expected a list of instances"),
    ],
)
def test_bad_inputs_over_http(
    server: str, headers: dict[str, str], body: str, status: int, message: str
) -> None:
    response = requests.post(f"{server}/invocations", data=body, headers=headers, timeout=10)
    assert response.status_code == status
    assert message in response.text


def test_oversized_bodies_get_413_over_http(server: str) -> None:
    body = b"1," * (MAX_PAYLOAD_MB * 1024 * 1024)
    sized = requests.post(f"{server}/invocations", data=body, headers=CSV, timeout=30)
    assert sized.status_code == 413 and f"larger than the {MAX_PAYLOAD_MB} MiB limit" in sized.text
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))  # chunked: no Content-Length
    chunked = requests.post(f"{server}/invocations", data=chunks, headers=CSV, timeout=30)
    assert chunked.status_code == 413
    assert requests.get(f"{server}/ping", timeout=10).status_code == 200  # the worker is fine afterwards


def test_unknown_paths_and_methods(server: str) -> None:
    assert requests.get(f"{server}/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{server}/invocations", timeout=10).status_code == 405


def test_sixteen_clients_for_ten_seconds(server: str, model: Model, holdout_frame: pd.DataFrame) -> None:
    """Zero errors, and every response complete: the right status, one valid probability per row sent."""
    single = holdout_frame.iloc[[11]]
    batch = holdout_frame.iloc[:300]
    cases = [
        (score_csv_text(single), model.predict(single[FEATURES].to_numpy(np.float32))),
        (score_csv_text(batch), model.predict(batch[FEATURES].to_numpy(np.float32))),
    ]
    failures: list[str] = []
    completed = [0] * 16
    deadline = time.monotonic() + 10

    def client(number: int) -> None:
        with requests.Session() as session:
            turn = number
            while time.monotonic() < deadline:
                body, expected = cases[turn % 2]
                turn += 1
                try:
                    response = session.post(f"{server}/invocations", data=body, headers=CSV, timeout=30)
                    got = [float(line) for line in response.text.splitlines()]
                    if response.status_code != 200 or got != pytest.approx(expected.tolist(), rel=1e-6):
                        failures.append(f"client {number}: {response.status_code} {response.text[:200]!r}")
                        continue
                    if int(response.headers["Content-Length"]) != len(response.content):
                        failures.append(f"client {number}: truncated response")
                        continue
                except (requests.RequestException, ValueError) as error:
                    failures.append(f"client {number}: {error!r}")
                    continue
                completed[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert all(count > 0 for count in completed), completed  # every client was served
    assert sum(completed) >= 100


def test_serve_refuses_bad_settings(trained_root: MlPaths) -> None:
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "serve"), "--no-nginx", "--bind", f"127.0.0.1:{free_port()}"],
        env=process_env(trained_root.root, MODEL_SERVER_WORKERS="lots"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "serve: MODEL_SERVER_WORKERS='lots' is not a whole number" in done.stderr


def test_gunicorn_command_follows_the_settings() -> None:
    command = gunicorn_command(
        ServingSettings(workers=3, timeout_s=45, max_payload_mb=6, cpu_count=4), "unix:/x"
    )
    pairs = dict(itertools.pairwise(command))
    assert (pairs["--workers"], pairs["--timeout"], pairs["--bind"]) == ("3", "45", "unix:/x")
    assert pairs["--chdir"] == str(CONTAINER_DIR) and command[-1] == "wsgi:app"


# --- nginx in front (the SageMaker shape); only where nginx is installed --------------------------------------
needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here")


@needs_nginx
def test_nginx_accepts_the_shipped_config() -> None:
    done = subprocess.run(
        ["nginx", "-t", "-c", str(NGINX_CONF), "-e", "stderr"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


def start_serve_with_nginx(trained_root: MlPaths, log: Path) -> subprocess.Popen[bytes]:
    """`serve` as SageMaker starts it: nginx on the contract's port in front of one gunicorn worker."""
    if not port_is_free(SAGEMAKER_PORT):
        pytest.skip(f"port {SAGEMAKER_PORT} is taken on this machine")
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, str(CONTAINER_DIR / "serve")],
            env=process_env(trained_root.root, MODEL_SERVER_WORKERS="1"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@needs_nginx
def test_serve_runs_nginx_and_gunicorn_and_stops_both(trained_root: MlPaths, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process = start_serve_with_nginx(trained_root, log)
    url = f"http://127.0.0.1:{SAGEMAKER_PORT}"
    try:
        wait_until_ready(url, process, log)
        pong = requests.get(f"{url}/ping", timeout=10)
        assert pong.headers["Server"] == "nginx"  # no version: server_tokens off
        body = ",".join(["1"] * 43) + "\n"
        assert (
            len(probabilities(requests.post(f"{url}/invocations", data=body, headers=CSV, timeout=10))) == 1
        )
        # Bodies nginx accepts but the application's limit refuses get the application's message.
        too_big = requests.post(f"{url}/invocations", data=b"1," * (7 * 1024 * 1024), headers=CSV, timeout=30)
        assert too_big.status_code == 413 and "MiB limit" in too_big.text
    finally:
        assert stop(process) == 0, log.read_text()
    assert port_is_free(SAGEMAKER_PORT)  # nginx went with it


@needs_nginx
def test_serve_stops_everything_when_gunicorn_dies(trained_root: MlPaths, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process = start_serve_with_nginx(trained_root, log)
    workers: list[int] = []
    try:
        wait_until_ready(f"http://127.0.0.1:{SAGEMAKER_PORT}", process, log)
        children = subprocess.run(
            ["ps", "-o", "pid=,args=", "--ppid", str(process.pid)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        gunicorn = next(int(line.split()[0]) for line in children if "gunicorn" in line)
        workers = child_pids(gunicorn)
        os.kill(gunicorn, signal.SIGKILL)
        assert process.wait(timeout=60) == 1
    finally:
        stop(process)
        for worker in workers:  # orphaned by the kill; they would only notice at their next heartbeat
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGTERM)
    assert port_is_free(SAGEMAKER_PORT)


SLOW_CLIENTS = 4


def open_slow_bodies(port: int, count: int) -> list[socket.socket]:
    """Connections that announce a body and send one byte of it: a client on a slow link, or an attacker."""
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
            b"Content-Length: 100000\r\n\r\n1"
        )
        clients.append(client)
    return clients


@needs_nginx
def test_with_nginx_slow_bodies_do_not_stop_ping_or_scoring(trained_root: MlPaths, tmp_path: Path) -> None:
    """nginx buffers each request before gunicorn sees it, so slow clients cannot hold the only worker."""
    log = tmp_path / "serve.log"
    process = start_serve_with_nginx(trained_root, log)  # one worker: one held request would block it
    url = f"http://127.0.0.1:{SAGEMAKER_PORT}"
    clients: list[socket.socket] = []
    try:
        wait_until_ready(url, process, log)
        clients = open_slow_bodies(SAGEMAKER_PORT, SLOW_CLIENTS)
        time.sleep(1)  # let nginx hand on anything it would hand on
        for _ in range(5):
            assert requests.get(f"{url}/ping", timeout=5).status_code == 200
            body = ",".join(["1"] * 43) + "\n"
            scored = requests.post(f"{url}/invocations", data=body, headers=CSV, timeout=5)
            assert len(probabilities(scored)) == 1
    finally:
        for client in clients:
            client.close()
        assert stop(process) == 0, log.read_text()


def test_no_nginx_says_it_is_a_test_mode(trained_root: MlPaths) -> None:
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "serve"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    help_text = " ".join(done.stdout.split())
    assert "--no-nginx test mode, for tests and local runs only" in help_text
    assert "a few slow clients can hold every worker" in help_text


def child_pids(parent: int) -> list[int]:
    listing = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True)
    return [int(pid) for pid in listing.stdout.split()]


# --- the switch to an unprivileged user ----------------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can switch users")
def test_serve_switches_to_the_unprivileged_user() -> None:
    nobody = pwd.getpwnam("nobody")
    program = (
        "import os; from xgb_model.server import drop_privileges; drop_privileges('nobody'); "
        "print(os.getuid(), os.getgid(), os.getgroups())"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=CONTAINER_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(maxsplit=2) == [str(nobody.pw_uid), str(nobody.pw_gid), "[]\n"]
    unknown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from xgb_model.server import drop_privileges; drop_privileges('no-such-user')",
        ],
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "MODEL_SERVER_USER='no-such-user' does not exist" in unknown.stderr


def test_a_worker_wakes_its_loop_when_sigterm_arrives(tmp_path: Path) -> None:
    """gthread's loop sleeps in its poller up to a second between checks of its stop flag; ours makes the poller
    ready when SIGTERM's handler runs, so a graceful stop (finishing requests in flight, as gthread does) starts
    at once."""
    import selectors

    from gunicorn.config import Config
    from xgb_model.gunicorn_worker import PromptThreadWorker

    config = Config()
    config.set("worker_tmp_dir", str(tmp_path))
    worker = PromptThreadWorker(0, os.getppid(), [], None, 30, config, None)
    worker.poller = selectors.DefaultSelector()
    worker.alive = True
    worker.listen_for_wakeups()
    assert worker.poller.select(timeout=0) == []  # idle: the loop would sleep its full second
    worker.handle_exit(signal.SIGTERM, None)
    ready = worker.poller.select(timeout=0)
    assert not worker.alive and len(ready) == 1
    ((key, _),) = ready
    key.data(key.fileobj)  # what the loop does with a ready key: the wake-up is consumed
    assert worker.poller.select(timeout=0) == []
