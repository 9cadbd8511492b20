"""MlOpsConfig: the seed's inputs, their defaults, and every validation rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from mlops_component.config import MlOpsConfig
from mlops_component.tools.reference import SEED_INPUTS
from tests.conftest import BUILT_IN_XGBOOST, SEED_EXAMPLE


def error_locations(error: ValidationError) -> set[str]:
    """Where each error is, spelled as the input spelled it."""
    return {".".join(str(part) for part in e["loc"]) for e in error.errors()}


def test_every_seed_input_is_a_field_with_a_description() -> None:
    assert len(SEED_INPUTS) == 33  # the module table of seeds/002
    assert set(MlOpsConfig.model_fields) >= SEED_INPUTS
    undocumented = [name for name, f in MlOpsConfig.model_fields.items() if not f.description]
    assert undocumented == []


def test_seed_example_is_accepted_with_the_seed_defaults(make_config) -> None:
    config = make_config()
    assert config.job_name == "employee-attrition"
    assert config.tuning_metric == "accuracy"
    assert config.inference_metric_threshold == 0.7
    assert config.static_hyperparameters == {"kfold_splits": "5"}
    assert config.parameter_ranges.names() == [
        "gamma", "min_child_weight", "subsample", "max_delta_step", "scale_pos_weight", "max_depth",
    ]  # fmt: skip
    ranges = config.parameter_ranges.to_sagemaker()
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Auto"}
    ]
    assert len(ranges["ContinuousParameterRanges"]) == 5
    # Seed defaults kept as they were...
    assert config.endpoint_or_batch_transform == "Batch Transform"
    assert config.inference_comparison_operator == "NumericGreaterThan"
    assert (config.max_number_training_jobs, config.max_parallel_training_jobs) == (3, 1)
    assert config.byo_model_image_name == "byo-xgboost"
    assert config.glue_job_name == "data-transformation"
    assert config.glue_job_spark_flag is False
    # ...except previous-generation instances, and paths into the old repository's layout.
    assert config.training_job_instance_type == "ml.m5.xlarge"
    assert config.script_path.endswith("etl/transform.py")


def test_camel_case_and_snake_case_build_the_same_config(project_dir: Path) -> None:
    snake = {**SEED_EXAMPLE, "max_number_training_jobs": 4, "environment": {"aws_region": "eu-west-1"}}
    camel = {to_camel(k): v for k, v in snake.items()} | {"environment": {"awsRegion": "eu-west-1"}}
    context = {"base_dir": project_dir}
    assert "jobName" in camel
    assert MlOpsConfig.model_validate(camel, context=context) == MlOpsConfig.model_validate(
        snake, context=context
    )


def test_strings_from_the_engine_are_parsed(make_config) -> None:
    config = make_config(
        max_number_training_jobs="5", glue_job_spark_flag="true", inference_metric_threshold="0.8"
    )
    assert (
        config.max_number_training_jobs,
        config.glue_job_spark_flag,
        config.inference_metric_threshold,
    ) == (
        5,
        True,
        0.8,
    )


INVALID_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("job_name too long", {"job_name": "a" * 19}, "job_name"),
    ("job_name characters", {"job_name": "bad_name"}, "job_name"),
    ("name_prefix uppercase", {"name_prefix": "MLOps"}, "name_prefix"),
    ("name_prefix too long", {"name_prefix": "a" * 25}, "name_prefix"),
    ("inference mode", {"endpoint_or_batch_transform": "Endpoint"}, "endpoint_or_batch_transform"),
    ("operator", {"inference_comparison_operator": "GreaterThan"}, "inference_comparison_operator"),
    ("objective", {"tuning_objective": "Biggest"}, "tuning_objective"),
    (
        "scaling type",
        {"parameter_ranges": {"IntegerParameterRanges": [{"Name": "d", "MinValue": "1", "MaxValue": "2", "ScalingType": "Log"}]}},
        "parameter_ranges.IntegerParameterRanges.0.ScalingType",
    ),
    (
        "min above max",
        {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "2", "MaxValue": "1"}]}},
        "parameter_ranges.ContinuousParameterRanges.0",
    ),
    (
        "non-numeric bound",
        {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "low", "MaxValue": "1"}]}},
        "parameter_ranges.ContinuousParameterRanges.0",
    ),
    (
        "logarithmic from zero",
        {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}},
        "parameter_ranges.ContinuousParameterRanges.0",
    ),
    (
        "fractional integer range",
        {"parameter_ranges": {"IntegerParameterRanges": [{"Name": "depth", "MinValue": "1.5", "MaxValue": "4"}]}},
        "parameter_ranges.IntegerParameterRanges.0",
    ),
    ("no ranges", {"parameter_ranges": {}}, "parameter_ranges"),
    ("parallel above total", {"max_number_training_jobs": 2, "max_parallel_training_jobs": 3}, "max_parallel_training_jobs"),
    ("zero count", {"training_job_instance_count": 0}, "training_job_instance_count"),
    ("zero endpoint count", {"endpoint_instance_count": 0}, "endpoint_instance_count"),
    ("instance type", {"batch_transform_instance_type": "m5.xlarge"}, "batch_transform_instance_type"),
    ("missing upload", {"train_local_path": "nowhere/train.csv"}, "train_local_path"),
    ("missing script", {"script_path": "etl/missing.py"}, "script_path"),
    ("missing image folder", {"byo_model_image_source_path": "no-such-dir"}, "byo_model_image_source_path"),
    ("unknown key", {"job_nmae": "x"}, "job_nmae"),
    ("bucket override", {"feature_store_override": "Not_A_Bucket"}, "feature_store_override"),
    ("vpc id", {"environment": {"vpc_id": "vpc1"}}, "environment.vpc_id"),
    ("region", {"environment": {"aws_region": "Moon"}}, "environment.aws_region"),
    ("threshold not finite", {"inference_metric_threshold": float("nan")}, "inference_metric_threshold"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "overrides", "key"), INVALID_CASES, ids=[c[0] for c in INVALID_CASES])
def test_invalid_input_is_rejected_naming_the_key(make_config, case: str, overrides: dict, key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(**overrides)
    assert key in error_locations(raised.value), raised.value


def test_one_error_names_every_bad_key(make_config) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(
            job_name="x" * 40, name_prefix="UPPER", tuning_objective="Up", max_parallel_training_jobs=9
        )
    assert {"job_name", "name_prefix", "tuning_objective", "max_parallel_training_jobs"} <= error_locations(
        raised.value
    )


def test_rules_that_depend_on_the_mode_skip_unused_files(make_config) -> None:
    endpoint = make_config(
        endpoint_or_batch_transform="Create Model Endpoint Config", score_local_path="gone.csv"
    )
    assert endpoint.score_local_path is None
    built_in = make_config(**BUILT_IN_XGBOOST, byo_model_image_source_path="no-such-dir")
    assert not built_in.uses_own_image


def test_upload_paths_resolve_against_the_program_folder(make_config, project_dir: Path) -> None:
    config = make_config()
    assert config.train_local_path == str(project_dir / "data" / "train.csv")
    assert make_config(train_local_path=None).train_local_path is None


def test_name_prefix_trailing_hyphen_from_terraform_is_accepted(make_config) -> None:
    assert make_config(name_prefix="myproj-dev-").name_prefix == "myproj-dev"


def test_tags_include_the_name_prefix(make_config) -> None:
    assert make_config().tags == {**SEED_EXAMPLE["resource_tags"], "mlops:name-prefix": "mlops-test"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
field_names = st.sampled_from(
    sorted({*MlOpsConfig.model_fields, *(f.alias for f in MlOpsConfig.model_fields.values() if f.alias)})
)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(field_names | st.text(max_size=12), json_values, max_size=8))
def test_any_mapping_validates_or_raises_validation_error(
    shared_project_dir: Path, data: dict[str, Any]
) -> None:
    # Any other exception escapes and fails the test.
    try:
        config = MlOpsConfig.model_validate(
            {**SEED_EXAMPLE, **data}, context={"base_dir": shared_project_dir}
        )
    except ValidationError as error:
        assert error.errors(), "a ValidationError must say what is wrong"
    else:
        assert isinstance(config, MlOpsConfig)
