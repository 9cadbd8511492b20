"""The bundle's assembly: what it holds, where each file lands, and that the wheel carries all of it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlops_component.builders.notebook_bundle import bundle
from tests.devenv.conftest import stack_for

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "directory"),
    [
        ("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/mlops-dev-project", "mlops-dev-project"),
        ("https://github.com/acme/attrition-lab.git", "attrition-lab"),
        ("https://gitlab.example.com/group/sub/project/", "project"),
    ],
)
def test_the_clone_folder_is_the_urls_last_segment(url: str, directory: str) -> None:
    assert bundle.RepositorySettings(kind="external", clone_url=url).directory == directory


def test_the_layout_matches_what_the_scripts_expect(tmp_path: Path) -> None:
    laid_out = bundle.write_bundle(tmp_path, stack_for("https://example.com/x.git"))
    scripts = sorted(p.name for p in (laid_out / "bin").iterdir())
    assert scripts == [
        "autostop.sh",
        "common.sh",
        "git-credential-secret.sh",
        "install-glue-kernels.sh",
        "notebook-setup.sh",
        "project.sh",
        "setup-git.sh",
    ]
    assert all((laid_out / "bin" / name).stat().st_mode & 0o111 for name in scripts)
    assert (laid_out / "lib" / "idle.py").is_file()
    assert (laid_out / "project" / "gitignore").is_file()  # renamed to .gitignore in the project
    assert not list(laid_out.rglob("__pycache__"))
    settings = json.loads((laid_out / bundle.STACK_FILE).read_text())
    assert settings["schema_version"] == bundle.SCHEMA_VERSION
    assert settings["glue_sessions"] == {"enabled": False, "role_arn": None}
    # Every key the shell scripts read with `setting` exists.
    for text in (laid_out / "bin").glob("*.sh"):
        for key in _settings_read_by(text.read_text()):
            value: object = settings
            for part in key.split("."):
                assert isinstance(value, dict) and part in value, f"{text.name} reads {key}"
                value = value[part]


def _settings_read_by(script: str) -> list[str]:
    return re.findall(r"\$\(setting ([a-z_.]+)\)", script)


@pytest.mark.slow
def test_the_wheel_carries_the_scripts_and_the_project_template(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlops_component-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = Path(bundle.__file__).parent
    shipped = {
        f"mlops_component/builders/notebook_bundle/{path.relative_to(package).as_posix()}"
        for path in bundle.static_files().values()
    }
    shipped |= {"mlops_component/builders/notebook_bundle/lifecycle/hook.sh"}
    assert shipped <= names, shipped - names
