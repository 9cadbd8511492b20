"""Fixtures for running the notebook's scripts on this machine: the real AWS CLI against moto's server, a fake
Jupyter server's API, and a bundle laid out as the lifecycle scripts leave it in /opt/mlops."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from mlops_component.builders.notebook_bundle import bundle

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
NOTEBOOK = "mlops-test-notebook"
# The virtualenv's bin folder holds the `aws` command (awscli) the scripts call.
VENV_BIN = Path(sys.executable).parent


def stack_for(clone_url: str, **changes: Any) -> bundle.NotebookStack:
    """A deployed stack's settings, as the component renders them, with the repository at `clone_url`."""
    stores = ("feature_store", "source_repository", "extracts", "models", "metadata", "output")
    stack = bundle.NotebookStack(
        region=REGION,
        name_prefix="mlops-test",
        job_name="attrition",
        notebook_name=NOTEBOOK,
        batch=True,
        buckets={store: f"mlops-test-{store.replace('_', '-')}" for store in stores},
        prefixes={
            "train": "data/train/",
            "score": "data/score/",
            "runs": "runs/",
            "predictions": "predictions/",
            "train_extract": "train/train.csv",
        },
        database_name="mlops_test_lake",
        crawler_name="mlops-test-feature-store",
        athena_workgroup="mlops-test-explore",
        repository=bundle.RepositorySettings(kind="codecommit", clone_url=clone_url),
        idle_shutdown_minutes=60,
    )
    return replace(stack, **changes)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server, for the AWS CLI the scripts run as separate processes."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str) -> Iterator[dict[str, Any]]:
    """boto3 clients on moto's server, emptied before each test."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    options = {"endpoint_url": moto_url, "region_name": REGION}
    yield {name: boto3.client(name, **options) for name in ("s3", "sagemaker", "secretsmanager")}


@dataclass
class Machine:
    """A notebook instance's folders and environment, inside a temporary folder."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def mlops_home(self) -> Path:
        return self.root / "opt-mlops"

    @property
    def sagemaker_dir(self) -> Path:
        return self.root / "SageMaker"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def metadata(self) -> Path:
        return self.root / "resource-metadata.json"


@pytest.fixture
def machine(tmp_path: Path, moto_url: str) -> Machine:
    """The environment the scripts see on a notebook instance, redirected to a temporary folder."""
    machine = Machine(tmp_path / "notebook")
    for folder in (machine.sagemaker_dir, machine.home, machine.log_dir):
        folder.mkdir(parents=True)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:notebook-instance/{NOTEBOOK}"
    machine.metadata.write_text(json.dumps({"ResourceArn": arn, "ResourceName": NOTEBOOK}))
    machine.env = {
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "HOME": str(machine.home),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MLOPS_HOME": str(machine.mlops_home),
        "MLOPS_RESOURCE_METADATA": str(machine.metadata),
        "MLOPS_NOTEBOOK_USER": getpass.getuser(),
        "MLOPS_SAGEMAKER_DIR": str(machine.sagemaker_dir),
        "MLOPS_LOG_DIR": str(machine.log_dir),
        "MLOPS_AUTOSTOP_CRON": str(machine.root / "cron.d-mlops-autostop"),
        "MLOPS_PYTHON": sys.executable,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return machine


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    """An empty bare git repository standing in for the new CodeCommit repository."""
    remote = tmp_path / "remote" / "mlops-test-project.git"
    remote.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True)
    return remote


class FakeJupyter:
    """Jupyter's REST API as the idle check reads it: /api/status, /api/sessions, /api/terminals."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {"/api/status": {}, "/api/sessions": [], "/api/terminals": []}
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in answers:
                    self.send_error(404)
                    return
                body = answers[self.path]
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jupyter() -> Iterator[FakeJupyter]:
    server = FakeJupyter()
    yield server
    server.close()


def require(tool: str) -> str:
    """The path of a command-line tool the test needs, or a skip that says which is missing."""
    path = shutil.which(tool) or (str(VENV_BIN / tool) if (VENV_BIN / tool).exists() else None)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path
