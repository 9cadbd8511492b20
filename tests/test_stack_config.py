"""Stack config: both key spellings, engine-style string values, secrets, and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_component.config.stack_file import StackConfigError, from_stack_file, from_values

REPO = Path(__file__).resolve().parent.parent

SNAKE_STACK = {
    "aws:region": "us-east-1",
    "mlops:name_prefix": "mlops-dev",
    "mlops:job_name": "employee-attrition",
    "mlops:resource_tags": {"team": "ml"},
    "mlops:max_number_training_jobs": 4,
    "mlops:parameter_ranges": {
        "IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Auto"}
        ]
    },
    "mlops:glue_job_spark_flag": True,
}
CAMEL_STACK = {
    "aws:region": "us-east-1",
    "mlops:namePrefix": "mlops-dev",
    "mlops:jobName": "employee-attrition",
    "mlops:resourceTags": {"team": "ml"},
    "mlops:maxNumberTrainingJobs": 4,
    "mlops:parameterRanges": SNAKE_STACK["mlops:parameter_ranges"],
    "mlops:glueJobSparkFlag": True,
}


def write_stack(folder: Path, values: dict) -> Path:
    path = folder / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": values}))
    return path


def test_camel_and_snake_stack_files_load_the_same(project_dir: Path) -> None:
    snake, _ = from_stack_file(write_stack(project_dir, SNAKE_STACK))
    camel, _ = from_stack_file(write_stack(project_dir, CAMEL_STACK))
    assert snake == camel
    assert snake.max_number_training_jobs == 4
    assert snake.parameter_ranges.names() == ["max_depth"]


def test_engine_values_arrive_as_strings_and_json(project_dir: Path) -> None:
    # The Pulumi engine hands every value over as text, structured ones as JSON.
    as_engine = {k: v if isinstance(v, str) else json.dumps(v) for k, v in CAMEL_STACK.items()}
    assert from_values(as_engine, base_dir=project_dir) == from_values(CAMEL_STACK, base_dir=project_dir)


def test_secret_keys_are_remembered(project_dir: Path) -> None:
    config = from_values(
        CAMEL_STACK, secret_keys=["mlops:resourceTags", "aws:secretKey"], base_dir=project_dir
    )
    assert config.secret_fields == frozenset({"resource_tags"})


def test_encrypted_values_are_skipped_offline_and_reported(project_dir: Path) -> None:
    stack = {**CAMEL_STACK, "mlops:endpointName": {"secure": "v1:AAAA"}}
    config, encrypted = from_stack_file(write_stack(project_dir, stack))
    assert encrypted == ["mlops:endpointName"]
    assert config.endpoint_name == "training-endpoint"


def test_every_bad_key_is_named_as_written(project_dir: Path) -> None:
    stack = {
        **CAMEL_STACK,
        "mlops:jobName": "x" * 30,
        "mlops:tuningObjetive": "Maximize",
        "mlops:max_parallel_training_jobs": 9,
    }
    with pytest.raises(StackConfigError) as raised:
        from_values(stack, base_dir=project_dir)
    message = str(raised.value)
    assert "mlops:jobName: must be at most 18 characters" in message
    assert "mlops:tuningObjetive: unknown key" in message
    assert "mlops:max_parallel_training_jobs: must be at most max_number_training_jobs (4)" in message
    assert len(raised.value.problems) == 3


def test_a_key_given_in_both_spellings_is_rejected(project_dir: Path) -> None:
    with pytest.raises(StackConfigError, match="given twice"):
        from_values({**CAMEL_STACK, "mlops:job_name": "other"}, base_dir=project_dir)


def test_missing_default_files_are_named_in_camel_case(tmp_path: Path) -> None:
    with pytest.raises(StackConfigError) as raised:
        from_values(CAMEL_STACK, base_dir=tmp_path)
    assert any(
        p.startswith("mlops:trainLocalPath: file 'data/train.csv' does not exist")
        for p in raised.value.problems
    )


def test_the_example_stack_is_valid_on_a_fresh_checkout(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((REPO / "Pulumi.dev.yaml").read_text())
    config, encrypted = from_stack_file(stack)
    assert (config.job_name, config.name_prefix, encrypted) == ("employee-attrition", "mlops-dev", [])
    assert len(config.parameter_ranges.names()) == 6
    assert config.train_local_path is None and config.score_local_path is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"config:\n  mlops:jobName: \xe9t\xe9\n", "not UTF-8 text: byte 0xe9"),
        (
            b"config:\n  mlops:jobName: a\n  mlops:namePrefix: b\n  mlops:jobName: c\n",
            "line 4, column 3: key 'mlops:jobName' is given twice (first on line 2)",
        ),
        (
            b"config:\n  mlops:resourceTags:\n    team: a\n    team: b\n",
            "line 4, column 5: key 'team' is given twice (first on line 3)",
        ),
        (b"config:\n  1: a\n  true: b\n", "line 3, column 3: key True collides with key 1 (first on line 2)"),
        (b"config:\n  42: a\n", "config key 42 is not text"),
        (b"config:\n  mlops:jobName: [a, b\n", "line 3, column 1: expected ',' or ']'"),
    ],
    ids=["latin-1", "key twice", "nested key twice", "colliding keys", "number key", "broken yaml"],
)
def test_unreadable_stack_files_are_one_line_naming_the_file_and_line(
    tmp_path: Path, text: bytes, expected: str
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(text)
    with pytest.raises(StackConfigError) as raised:
        from_stack_file(path)
    [problem] = raised.value.problems
    assert problem.startswith(f"{path}: ") and expected in problem and "\n" not in problem


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=80) | st.text(max_size=80).map(lambda t: ("config:\n  " + t).encode()))
def test_any_stack_file_loads_or_raises_stack_config_error(tmp_path_factory, body: bytes) -> None:
    path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_bytes(body)
    try:
        from_stack_file(path)
    except StackConfigError as error:
        assert error.problems and all("\n" not in p for p in error.problems)
