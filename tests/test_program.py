"""The bundled Pulumi program (`__main__.py`): stack config in, pipeline out, nothing on a bad config."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pulumi
import pytest

from tests.pulumi_mocks import run_program

PROGRAM = Path(__file__).resolve().parent.parent / "__main__.py"


def load_program():
    spec = importlib.util.spec_from_file_location("mlops_program", PROGRAM)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs nothing: the program only defines main()
    return module


def engine_config(values: dict) -> None:
    """Hand config to the runtime the way the Pulumi engine does: every value as text."""
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, secret_keys=[]
    )


@pytest.fixture
def in_project(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project_dir)  # Pulumi runs the program in the project folder
    return project_dir


def test_program_builds_the_pipeline_from_stack_config(in_project: Path) -> None:
    program = load_program()
    engine_config({"mlops:namePrefix": "dev", "mlops:jobName": "attrition", "mlops:maxNumberTrainingJobs": 2})
    mocks, pipeline = run_program(lambda: program.main().bucket_names)
    assert pipeline["feature_store"].startswith("dev-features-")
    assert mocks.named("mlops").typ == "mlops:index:MlOpsPipeline"


def test_invalid_stack_config_stops_before_any_resource(in_project: Path) -> None:
    program = load_program()
    engine_config({"mlops:namePrefix": "Dev!", "mlops:jobName": "attrition", "mlops:tuningObjective": "Up"})
    with pytest.raises(pulumi.RunError) as raised:
        run_program(program.main)
    assert "mlops:namePrefix" in str(raised.value) and "mlops:tuningObjective" in str(raised.value)
    engine_config({"mlops:namePrefix": "Dev!"})
    holder = {}

    def attempt() -> None:
        try:
            program.main()
        except pulumi.RunError:
            holder["stopped"] = True

    mocks, _ = run_program(attempt)
    assert holder == {"stopped": True}
    assert mocks.resources == []
