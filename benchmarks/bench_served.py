"""Served single-row scoring: the container's `serve` program (gunicorn, default workers) under load on loopback.

Trains the container's model on the example's size (1,470 rows), starts `container/serve --no-nginx` on a
free loopback port with the serving settings left at their defaults (one worker per CPU), and drives it with
`wrk` (Debian's package: `apt-get install wrk`), 16 connections for a fixed time, each request one CSV row to
`/invocations`. The baseline, in the same run and against the same server: `GET /ping`, which passes through
gunicorn and Flask but decodes, scores and formats nothing.

Prints one JSON line, then one line per target saying met or MISSED (>= 2,000 requests/s, p99 <= 20 ms).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "container"), str(REPO)]

from xgb_model.paths import MlPaths  # noqa: E402
from xgb_model.training import train  # noqa: E402

from tests.container.synthetic import make_frame, score_csv_text  # noqa: E402

CONNECTIONS = 16
DURATION_S = 10
RPS_TARGET = 2000
P99_TARGET_MS = 20.0
POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
wrk.body = {body}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench_served: serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bench_served: serve did not answer /ping in time")


def wrk(url: str, script: Path | None) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one bounded wrk run."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=DURATION_S + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"bench_served: {errors[1]} requests failed:\n{output}")
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench_served: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-served-") as folder:
        paths = MlPaths(Path(folder))
        paths.channel("train").mkdir(parents=True)
        make_frame(1470, seed=0).to_csv(paths.channel("train") / "train.csv", index=False)
        train(paths, log=lambda _: None)
        row = score_csv_text(make_frame(1, seed=1), with_id=False)
        script = Path(folder) / "post.lua"
        script.write_text(POST_SCRIPT.format(body=json.dumps(row)))

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("MODEL_SERVER_")}
        env["MLOPS_ML_ROOT"] = folder
        with open(Path(folder) / "serve.log", "wb") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "container" / "serve"),
                    "--no-nginx",
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_ready(url, server)
            ping_rps, ping_p99 = wrk(url + "/ping", None)
            rps, p99 = wrk(url + "/invocations", script)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)

    figures = {
        "benchmark": "served",
        "cpus": os.cpu_count(),
        "connections": CONNECTIONS,
        "duration_s": DURATION_S,
        "served_single_row_rps": round(rps),
        "served_single_row_p99_ms": round(p99, 2),
        "served_ping_rps": round(ping_rps),
        "served_ping_p99_ms": round(ping_p99, 2),
        "served_to_ping_ratio": round(rps / ping_rps, 3),
    }
    print(json.dumps(figures))
    print(
        f"target served_single_row_rps >= {RPS_TARGET}: {'met' if rps >= RPS_TARGET else 'MISSED'} ({rps:.0f})"
    )
    print(
        f"target served_single_row_p99_ms <= {P99_TARGET_MS:g}: {'met' if p99 <= P99_TARGET_MS else 'MISSED'} "
        f"({p99:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
