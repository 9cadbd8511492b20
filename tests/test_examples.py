"""The programs in examples/: each builds under mocks from its own stack file, as `pulumi up` would run it."""

from __future__ import annotations

import json
import runpy
import tomllib
from pathlib import Path

import pulumi
import pytest
import yaml

from mlops_component.tools import check
from tests.pulumi_mocks import RecordingMocks, run_program

REPOSITORY = Path(__file__).resolve().parent.parent


def _runtime(project_file: Path) -> str:
    runtime = yaml.safe_load(project_file.read_text())["runtime"]
    return runtime if isinstance(runtime, str) else runtime["name"]


# The Python programs; the YAML and TypeScript ones consume the component package (tests/test_package_schema.py).
EXAMPLES = sorted(
    p.parent for p in (REPOSITORY / "examples").glob("*/Pulumi.yaml") if _runtime(p) == "python"
)


def build(example: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> tuple[RecordingMocks, dict]:
    """Run the example's `__main__.py` in its folder with its stack file's config, and return what it exported."""
    project = yaml.safe_load((example / "Pulumi.yaml").read_text())["name"]
    config = yaml.safe_load((example / f"Pulumi.{stack}.yaml").read_text())["config"]
    # The engine hands every value to the program as text.
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        secret_keys=[],
    )
    monkeypatch.chdir(example)  # Pulumi runs the program in its project folder
    exported: dict = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
    mocks, outputs = run_program(
        lambda: (runpy.run_path("__main__.py", run_name="__main__"), exported)[1],
        project=project,
        stack=stack,
    )
    return mocks, outputs


def test_there_is_an_example() -> None:
    assert "python-batch" in [p.name for p in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_complete_pulumi_project(example: Path) -> None:
    project = yaml.safe_load((example / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    for stack_file in example.glob("Pulumi.*.yaml"):
        namespaces = {key.split(":")[0] for key in yaml.safe_load(stack_file.read_text())["config"]}
        assert namespaces <= {project["name"], "aws"}, (
            f"{stack_file.name}: keys outside the project's namespace"
        )
    assert (example / "README.md").is_file()
    # requirements.txt installs this repository's library (pip resolves the path from the project folder).
    requirements = [
        line.strip()
        for line in (example / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(requirements) == 1
    library = (example / requirements[0]).resolve()
    assert tomllib.loads((library / "pyproject.toml").read_text())["project"]["name"] == "mlops-component"


def test_python_batch_builds_the_pipeline_from_its_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    mocks, outputs = build(REPOSITORY / "examples" / "python-batch", "dev", monkeypatch)
    assert outputs["bucket_names"]["feature_store"].startswith("churn-dev-features-")
    assert outputs["state_machine_arn"].endswith(":stateMachine:churn-dev-training")
    assert "churn-dev" in outputs["summary"]
    machines = {m.inputs["name"]: m for m in mocks.of_type("aws:sfn/stateMachine:StateMachine")}
    assert set(machines) == {"churn-dev-training", "churn-dev-deployment"}
    definition = json.loads(machines["churn-dev-training"].inputs["definition"])
    tuning = definition["States"]["Tune Hyperparameters"]["Parameters"]["HyperParameterTuningJobConfig"]
    assert tuning["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    assert "Batch Transform" in json.loads(machines["churn-dev-deployment"].inputs["definition"])["States"]
    buckets = mocks.of_type("aws:s3/bucket:Bucket")
    assert buckets and all(b.inputs["tags"]["team"] == "ml-platform" for b in buckets)
    # The example's folder holds no data, ETL script or container: the copies shipped with the library are used,
    # and no data is uploaded.
    (script,) = mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert Path(script.inputs["source"].path) == REPOSITORY / "etl" / "transform.py"
    (image,) = mocks.of_type("docker:index/image:Image")
    assert Path(image.inputs["build"]["context"]) == REPOSITORY / "container"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_python_example_keeps_every_promise_of_the_policy_pack(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `mlops check` does for the repository's own stack files (their config is the library's), here for
    programs whose stack config is their own."""
    mocks, _ = build(example, "dev", monkeypatch)
    lines, status = check.report(check.check(check.as_policy_resources(mocks.resources)))
    assert status == 0, lines
