"""The image's build files: what a real `docker build` depends on, checked without Docker."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement

from mlops_component.components.model_image import build_context_files
from tests.container.conftest import CONTAINER_DIR

REPO = CONTAINER_DIR.parent
DOCKERFILE = (CONTAINER_DIR / "Dockerfile").read_text()
CONTRACT_FILES = ["train", "serve", "batch-predict", "wsgi.py", "predictor.py"]


def stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]


def instructions(stage: str) -> str:
    """The stage without comments, continuation lines joined."""
    lines = [line for line in stage.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(lines).replace("\\\n", " ")


def requirement_pins() -> dict[str, Requirement]:
    text = (CONTAINER_DIR / "requirements.txt").read_text().replace("\\\n", " ")
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    requirements = [Requirement(line.split(" --hash")[0]) for line in lines if line]
    return {r.name.lower(): r for r in requirements}


def test_base_image_is_a_current_slim_python_pinned_to_a_patch_release() -> None:
    match = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)\.(\d+)-slim-(\w+)$", DOCKERFILE, re.MULTILINE)
    assert match, "the base image must be a patch-level python:X.Y.Z-slim-<debian> tag"
    assert (int(match[1]), int(match[2])) >= (3, 11)
    assert [stage.split()[0] for stage in stages(DOCKERFILE)] == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]


def test_the_final_stage_has_no_compiler_and_installs_nothing_from_pypi() -> None:
    build, final = (instructions(s) for s in stages(DOCKERFILE))
    assert "AS build" in build
    for tool in ("gcc", "g++", "build-essential", "clang", "make ", "pip install"):
        assert tool not in final, tool
    assert "COPY --from=build /opt/venv /opt/venv" in final
    # Pinned, hash-checked wheels only: nothing is compiled or resolved at build time.
    assert re.search(r"pip .*install .*--require-hashes .*--only-binary=:all: .*--no-deps -r", build)


def test_programs_are_on_path_and_sagemaker_can_run_them_by_name() -> None:
    final = instructions(stages(DOCKERFILE)[1])
    assert re.search(r"COPY --chmod=0755 train serve batch-predict /opt/program/", final)
    assert re.search(r'ENV PATH="/opt/program:/opt/venv/bin:\$\{PATH\}"', final)
    assert "ENTRYPOINT" not in final  # `docker run <image> train|serve` must reach the programs
    assert "MODEL_SERVER_USER=model-server" in final and "useradd" in final
    for program in ("train", "serve", "batch-predict"):
        path = CONTAINER_DIR / program
        assert path.stat().st_mode & 0o111, f"{program} is not executable"
        assert path.read_text().startswith("#!/usr/bin/env python3\n")


def test_every_file_the_dockerfile_copies_is_in_the_build_context_and_nothing_else_is() -> None:
    context = build_context_files(CONTAINER_DIR)
    copied = set()
    for line in instructions(DOCKERFILE).splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            copied.update(part for part in line.split()[1:-1] if not part.startswith("--"))
    assert copied <= set(context) | {"xgb_model"}
    assert any(path.startswith("xgb_model/") for path in context)
    assert not [path for path in context if "__pycache__" in path or path.endswith(".pyc")]
    assert "requirements.in" not in context  # only the compiled requirements reach the builder


def test_requirements_are_exact_hashed_pins_and_cpu_only() -> None:
    text = (CONTAINER_DIR / "requirements.txt").read_text()
    pins = requirement_pins()
    for name, requirement in pins.items():
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", name
    blocks = re.split(r"\n(?=[a-z])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if block.strip())
    assert "xgboost-cpu" in pins and "xgboost" not in pins  # no CUDA runtime in the image


def test_image_pins_satisfy_the_ranges_the_tests_run_with() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = requirement_pins()
    for line in pyproject["project"]["optional-dependencies"]["container"]:
        wanted = Requirement(line)
        if wanted.marker is not None and not wanted.marker.evaluate({"platform_system": "Linux"}):
            continue
        pinned = pins[wanted.name.lower()]
        version = next(iter(pinned.specifier)).version
        assert wanted.specifier.contains(version), f"{wanted.name}: image pins {version}, tests use {wanted}"


@pytest.mark.parametrize("name", CONTRACT_FILES)
def test_sagemaker_contract_files_stay_thin(name: str) -> None:
    code = [
        line
        for line in (CONTAINER_DIR / name).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""'))
    ]
    assert len(code) <= 6, code
    assert any("xgb_model" in line or "predictor" in line for line in code)
