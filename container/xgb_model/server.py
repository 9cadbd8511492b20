"""The `serve` program: nginx on port 8080 in front of gunicorn, as SageMaker's serving contract expects.

SageMaker runs `docker run <image> serve` and talks to port 8080. nginx buffers slow clients and large
bodies; gunicorn runs `MODEL_SERVER_WORKERS` workers of `wsgi:app` on a Unix socket, each loading the model
once. When started as root (SageMaker's default), `serve` first switches to the unprivileged
`MODEL_SERVER_USER`, so neither nginx nor the Python workers run as root.

`serve --no-nginx --bind HOST:PORT` runs gunicorn alone on a TCP port, for tests and local runs only. Its
workers read each request themselves, so a few clients that send their bodies slowly hold every worker
until gunicorn's timeout (`MODEL_SERVER_TIMEOUT`) kills it, and `/ping` goes unanswered meanwhile. With nginx
in front (the default, and what SageMaker runs), nginx buffers each whole request first and gunicorn never
waits on a client.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from xgb_model.settings import ServingSettings, SettingsError

PROGRAM_DIR = Path(__file__).resolve().parent.parent
NGINX_CONF = PROGRAM_DIR / "nginx.conf"
GUNICORN_SOCKET = "unix:/tmp/gunicorn.sock"
SAGEMAKER_PORT = 8080
NO_NGINX_LIMIT = "without nginx, a few slow clients can hold every worker until MODEL_SERVER_TIMEOUT"
NO_NGINX_HELP = (
    f"test mode, for tests and local runs only: run gunicorn alone, bound to --bind ({NO_NGINX_LIMIT}; "
    "never expose it to clients you do not control)"
)
WORKER_CLASS = "xgb_model.gunicorn_worker.PromptThreadWorker"
THREADS_PER_WORKER = 2
# Longer than nginx's upstream keepalive_timeout (nginx.conf): nginx closes idle connections first.
KEEP_ALIVE_S = 5


def gunicorn_command(settings: ServingSettings, bind: str) -> list[str]:
    """The gunicorn command line for `wsgi:app` with the given settings."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(settings.workers),
        # gthread rather than sync: it keeps connections alive between requests (nginx's upstream pool, or
        # a client on loopback), where sync workers accept, answer and close a connection per request.
        # That doubled single-row throughput (benchmarks/bench_served.py). Two threads let a worker read
        # the next request while XGBoost (one thread, GIL released) scores the current one. Our subclass
        # starts a graceful stop at once instead of within a second (see gunicorn_worker).
        "--worker-class",
        WORKER_CLASS,
        "--threads",
        str(THREADS_PER_WORKER),
        "--keep-alive",
        str(KEEP_ALIVE_S),
        "--timeout",
        str(settings.timeout_s),
        "--graceful-timeout",
        str(settings.timeout_s),
        "--chdir",
        str(PROGRAM_DIR),
        "--error-logfile",
        "-",
        "--access-logfile",
        "-",
        "--log-level",
        "info",
    ]
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        # Worker heartbeats on a RAM disk: a slow container disk cannot then make workers look hung.
        command += ["--worker-tmp-dir", "/dev/shm"]
    return [*command, "wsgi:app"]


def nginx_command(config: Path = NGINX_CONF) -> list[str]:
    """The nginx command line: our config, errors to stderr from the first message on."""
    return ["nginx", "-c", str(config), "-e", "stderr"]


def drop_privileges(user: str | None) -> None:
    """Become `user` when running as root; do nothing when already unprivileged or no user is set."""
    if user is None or os.geteuid() != 0:
        return
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise SettingsError(f"MODEL_SERVER_USER={user!r} does not exist in this image") from None
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    os.environ["USER"] = entry.pw_name


def _supervise(commands: list[tuple[list[str], signal.Signals]]) -> int:
    """Run the commands side by side; when one exits or SIGTERM arrives, stop every one with its signal."""
    processes = [(subprocess.Popen(command), stop_signal) for command, stop_signal in commands]

    def stop(*_: object) -> None:
        for process, stop_signal in processes:
            if process.poll() is None:
                process.send_signal(stop_signal)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pid, status = os.wait()
    first = next(p for p, _ in processes if p.pid == pid)
    first.returncode = os.waitstatus_to_exitcode(status)
    stop()
    for process, _ in processes:
        process.wait()
    return 0 if first.returncode in (0, -signal.SIGTERM, -signal.SIGQUIT) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `serve` program."""
    parser = argparse.ArgumentParser(prog="serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-nginx", action="store_true", help=NO_NGINX_HELP)
    parser.add_argument("--bind", default=f"0.0.0.0:{SAGEMAKER_PORT}", help="HOST:PORT with --no-nginx")
    args = parser.parse_args(argv)
    try:
        settings = ServingSettings.from_env()
        drop_privileges(settings.user)
    except SettingsError as error:
        print(f"serve: {error}", file=sys.stderr, flush=True)
        return 1
    print(
        f"serve: {settings.workers} worker(s), timeout {settings.timeout_s}s, "
        f"{settings.threads_per_worker} XGBoost thread(s) each, bodies up to {settings.max_payload_mb} MiB",
        flush=True,
    )
    if args.no_nginx:
        print(f"serve: --no-nginx is a test mode: {NO_NGINX_LIMIT}", flush=True)
        command = gunicorn_command(settings, args.bind)
        os.execv(command[0], command)
    if shutil.which("nginx") is None:
        print("serve: nginx is not installed; use --no-nginx to run gunicorn alone", file=sys.stderr)
        return 1
    # SIGQUIT and SIGTERM are the graceful stops of nginx and gunicorn: requests in flight are finished.
    return _supervise(
        [(nginx_command(), signal.SIGQUIT), (gunicorn_command(settings, GUNICORN_SOCKET), signal.SIGTERM)]
    )
