"""MlOpsConfig: the seed's inputs, their defaults, and every validation rule."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from mlops_component.assets import asset_path
from mlops_component.builders.state_machines import deployment_workflow as dw
from mlops_component.builders.state_machines import training_workflow as wf
from mlops_component.config import MlOpsConfig, builtin_xgboost
from mlops_component.config.base import (
    BATCH_TRANSFORM_MAX_MINUTES,
    ENDPOINT_WAIT_MAX_MINUTES,
    STATE_MACHINE_MAX_SECONDS,
    TUNING_MAX_RUNTIME_SECONDS,
)
from mlops_component.config.image_contract import CONTRACT_FILE, own_image_contract
from mlops_component.tools.reference import SEED_INPUTS
from tests.conftest import BUILT_IN_XGBOOST, SEED_EXAMPLE

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_RESOURCES = wf.TrainingResources(
    glue_job_name="etl", etl_timeout_seconds=3600, extracts_bucket="extracts", models_bucket="models",
    metadata_bucket="metadata", image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/byo@sha256:" + "0" * 64,
    sagemaker_role_arn="arn:aws:iam::123456789012:role/sm", topic_arn="arn:aws:sns:us-east-1:123456789012:t",
    run_metadata_function_arn="arn:aws:lambda:us-east-1:123456789012:function:meta",
    register_model_function_arn="arn:aws:lambda:us-east-1:123456789012:function:register",
    deployment_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:deploy",
)  # fmt: skip


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
    ("name_prefix ending in a capital", {"name_prefix": "mlopsX-"}, "name_prefix"),
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
    # What the bring-your-own image never prints, or would reject (container/xgb_model/contract.json).
    ("metric the image never prints", {"tuning_metric": "auc"}, "tuning_metric"),
    ("metric of the built-in algorithm", {"tuning_metric": "validation:auc"}, "tuning_metric"),
    ("minimizing a metric to maximize", {"tuning_metric": "f1", "tuning_objective": "Minimize"}, "tuning_objective"),
    ("range beyond the bounds", {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "subsample", "MinValue": "0.5", "MaxValue": "1.5"}]}}, "parameter_ranges"),
    ("range from an exclusive bound", {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "0.5"}]}}, "parameter_ranges"),
    ("range of an unknown name", {"parameter_ranges": {"IntegerParameterRanges": [{"Name": "max_dpeth", "MinValue": "1", "MaxValue": "5"}]}}, "parameter_ranges"),
    ("continuous range of an integer", {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "5"}]}}, "parameter_ranges"),
    ("categorical value out of bounds", {"parameter_ranges": {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["3", "99"]}]}}, "parameter_ranges"),
    ("static unknown name", {"static_hyperparameters": {"kfold_split": "5"}}, "static_hyperparameters"),
    ("static bad value", {"static_hyperparameters": {"kfold_splits": "1"}}, "static_hyperparameters"),
    ("static fraction for an integer", {"static_hyperparameters": {"num_round": "10.5"}}, "static_hyperparameters"),
    ("static and tuned at once", {"static_hyperparameters": {"max_depth": "3"}}, "static_hyperparameters"),
    ("static key SageMaker sets", {"static_hyperparameters": {"_tuning_objective_metric": "f1"}}, "static_hyperparameters"),
    # Tags AWS refuses once the pipeline's own are added.
    ("too many tags", {"resource_tags": {f"k{i}": "v" for i in range(48)}}, "resource_tags"),
    ("empty tag key", {"resource_tags": {"": "v"}}, "resource_tags"),
    ("empty tag value", {"resource_tags": {"team": ""}}, "resource_tags"),
    ("tag key too long", {"resource_tags": {"k" * 129: "v"}}, "resource_tags"),
    ("tag value too long", {"resource_tags": {"team": "v" * 257}}, "resource_tags"),
    ("reserved tag prefix", {"resource_tags": {"AWS:team": "v"}}, "resource_tags"),
    ("tag characters", {"resource_tags": {"team": "a;b"}}, "resource_tags"),
    ("tag the pipeline sets", {"resource_tags": {"mlops:name-prefix": "x"}}, "resource_tags"),
    # Counts and times beyond what SageMaker and Step Functions take.
    ("training jobs beyond an API integer", {"max_number_training_jobs": 10**30}, "max_number_training_jobs"),
    ("parallel jobs beyond an API integer", {"max_number_training_jobs": 2**31, "max_parallel_training_jobs": 2**31}, "max_parallel_training_jobs"),
    ("instances beyond an API integer", {"training_job_instance_count": 2**31}, "training_job_instance_count"),
    ("endpoint instances beyond an API integer", {"endpoint_instance_count": 2**31}, "endpoint_instance_count"),
    ("transform instances beyond an API integer", {"batch_transform_instance_count": 2**31}, "batch_transform_instance_count"),
    ("tuning longer than SageMaker allows", {"max_number_training_jobs": 5000, "training_job_max_runtime_seconds": 3600}, "training_job_max_runtime_seconds"),
    ("batch transform wait beyond 30 days", {"batch_transform_timeout_minutes": 43201}, "batch_transform_timeout_minutes"),
    ("endpoint wait beyond a day", {"endpoint_wait_timeout_minutes": 1441}, "endpoint_wait_timeout_minutes"),
    # Names each service refuses: SageMaker and Glue take letters, digits and hyphens; ECR lowercase only.
    ("endpoint name with an underscore", {"endpoint_name": "training_endpoint"}, "endpoint_name"),
    ("glue job name with an underscore", {"glue_job_name": "data_transformation"}, "glue_job_name"),
    ("repository name in capitals", {"byo_model_image_name": "BYO-xgboost"}, "byo_model_image_name"),
    ("image tag starting with a dot", {"byo_model_image_tag": ".v1"}, "byo_model_image_tag"),
    ("image tag of the content tags", {"byo_model_image_tag": "src-0123abcd"}, "byo_model_image_tag"),
    ("prefix S3 reserves: xn--", {"name_prefix": "xn--team"}, "name_prefix"),
    ("prefix S3 reserves: sthree-", {"name_prefix": "sthree-team"}, "name_prefix"),
    ("prefix S3 reserves: amzn-s3-demo-", {"name_prefix": "amzn-s3-demo-team"}, "name_prefix"),
    ("private subnet id", {"environment": {"private_subnets": ["subnet1"]}}, "environment.private_subnets"),
    ("public subnet id", {"environment": {"public_subnets": ["subnet-XYZ00000"]}}, "environment.public_subnets"),
    ("email address", {"notification_email": "ml-team"}, "notification_email"),
    ("glue version without a minor", {"glue_version": "4"}, "glue_version"),
    # Paths that cannot exist on this file system.
    ("path too long", {"train_local_path": "a" * 5000}, "train_local_path"),
    ("folder path too long", {"byo_model_image_source_path": "d/" * 3000}, "byo_model_image_source_path"),
]  # fmt: skip

# SageMaker's built-in XGBoost: what it emits, needs and rejects (mlops_component/config/builtin_xgboost.py).
BUILT_IN_INVALID_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("the bring-your-own image's metric", {"tuning_metric": "accuracy"}, "tuning_metric"),
    ("a train metric", {"tuning_metric": "train:auc"}, "tuning_metric"),
    ("maximizing a loss", {"tuning_metric": "validation:logloss", "tuning_objective": "Maximize"}, "tuning_objective"),
    ("no validation channel", {"use_validation_channel": False}, "use_validation_channel"),
    ("no num_round", {"static_hyperparameters": {"objective": "binary:logistic"}}, "static_hyperparameters"),
    ("the image's kfold_splits", {"static_hyperparameters": {"num_round": "10", "kfold_splits": "5"}}, "static_hyperparameters"),
    ("an objective it does not have", {"static_hyperparameters": {"num_round": "10", "objective": "binary:hinges"}}, "static_hyperparameters"),
    ("range beyond its bounds", {"parameter_ranges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "2"}]}}, "parameter_ranges"),
    ("range of a name it lacks", {"parameter_ranges": {"IntegerParameterRanges": [{"Name": "kfold_splits", "MinValue": "2", "MaxValue": "5"}]}}, "parameter_ranges"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "overrides", "key"), BUILT_IN_INVALID_CASES, ids=[c[0] for c in BUILT_IN_INVALID_CASES]
)
def test_built_in_xgboost_settings_it_would_reject_are_named(
    make_config, case: str, overrides: dict, key: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(**{**BUILT_IN_XGBOOST, **overrides})
    assert key in error_locations(raised.value), raised.value


def test_setting_only_a_built_in_image_names_the_metric_and_hyperparameters_to_change(make_config) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(built_in_model_image=BUILT_IN_XGBOOST["built_in_model_image"])
    assert error_locations(raised.value) == {"tuning_metric", "static_hyperparameters"}
    message = str(raised.value)
    assert "never emits 'accuracy'" in message and "validation:auc" in message
    assert "'kfold_splits' is not a hyperparameter the built-in XGBoost algorithm knows" in message
    assert "needs ['num_round']" in message


def test_a_built_in_xgboost_stack_that_sets_what_it_needs_is_valid(make_config) -> None:
    config = make_config(
        **{
            **BUILT_IN_XGBOOST,
            "tuning_metric": "validation:logloss",
            "tuning_objective": "Minimize",
            "static_hyperparameters": {"objective": "binary:logistic", "_kfold": "5"},
        },
        parameter_ranges={
            "IntegerParameterRanges": [{"Name": "num_round", "MinValue": "50", "MaxValue": "400"}],
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "1"}],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
    )
    assert not config.uses_own_image and config.tuning_metric == "validation:logloss"


def test_the_build_context_s_own_contract_decides(make_config, project_dir: Path) -> None:
    # A customised image declares what it accepts in its own contract.json; the config follows it.
    contract = json.loads(asset_path("container", "xgb_model", "contract.json").read_text())
    written = project_dir / "container" / "xgb_model" / "contract.json"
    written.parent.mkdir()
    contract["metrics"]["brier"] = "Minimize"
    written.write_text(json.dumps(contract))
    assert make_config(tuning_metric="brier", tuning_objective="Minimize").tuning_metric == "brier"
    contract["hyperparameters"]["max_depth"]["maximum"] = 3
    written.write_text(json.dumps(contract))
    with pytest.raises(
        ValidationError, match="the tuner may pick '10' which is not an integer >= 1 and <= 3"
    ):
        make_config()  # the seed's max_depth range 1-10 exceeds this image's bound
    (project_dir / "container" / "xgb_model" / "contract.json").write_text("{not json")
    with pytest.raises(ValidationError, match="cannot read the image's contract"):
        make_config()


def test_the_shipped_contract_is_the_one_the_image_loads() -> None:
    # The image's programs read container/xgb_model/contract.json; so does the config by default.
    assert asset_path("container", *CONTRACT_FILE) == (REPO / "container" / "xgb_model" / "contract.json")
    assert own_image_contract(None).metrics.keys() == {
        "accuracy", "roc_auc", "precision", "recall", "f1", "logloss",
    }  # fmt: skip


def test_the_most_a_config_allows_still_renders_timeouts_step_functions_accepts(make_config) -> None:
    # The largest waits and the longest tuning the config accepts, in both inference modes.
    longest = {
        "max_number_training_jobs": 6, "max_parallel_training_jobs": 1,
        "training_job_max_runtime_seconds": 28 * 24 * 3600, "glue_job_timeout_minutes": 2880,
        "batch_transform_timeout_minutes": BATCH_TRANSFORM_MAX_MINUTES,
        "endpoint_wait_timeout_minutes": ENDPOINT_WAIT_MAX_MINUTES,
    }  # fmt: skip
    assert 6 * (28 * 24 * 3600 + 900) <= TUNING_MAX_RUNTIME_SECONDS < 7 * (28 * 24 * 3600 + 900)
    for mode in ("Batch Transform", "Create Model Endpoint Config"):
        config = make_config(**longest, endpoint_or_batch_transform=mode)
        resources = replace(EXAMPLE_RESOURCES, etl_timeout_seconds=config.glue_job_timeout_minutes * 60)
        deployment = dw.deployment_definition(
            config, dw.DeploymentResources(
                model_package_group="models", extracts_bucket="extracts", output_bucket="output",
                metadata_bucket="metadata", sagemaker_role_arn=resources.sagemaker_role_arn,
                topic_arn=resources.topic_arn, glue_job_name="etl",
                etl_timeout_seconds=resources.etl_timeout_seconds, rename_output_function_arn="arn:rename",
                prediction_crawler_name="crawler", endpoint_function_arn="arn:endpoint",
            ),
        )  # fmt: skip
        for definition in (wf.training_definition(config, resources), deployment):
            timeouts = [definition["TimeoutSeconds"]] + [
                state["TimeoutSeconds"]
                for state in definition["States"].values()
                if "TimeoutSeconds" in state
            ]
            assert max(timeouts) <= STATE_MACHINE_MAX_SECONDS, mode
    with pytest.raises(ValidationError, match="more than SageMaker's longest tuning job"):
        make_config(**{**longest, "max_number_training_jobs": 7})


def test_defaults_of_every_limit_stay_valid(make_config) -> None:
    config = make_config(resource_tags={f"k{i}": "v" for i in range(47)})
    assert len(config.tags) == 48


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
    assert config.score_local_path == str(project_dir / "data" / "score.csv")
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


hyperparameter_names = st.sampled_from(
    sorted({*own_image_contract(None).hyperparameters, *builtin_xgboost.HYPERPARAMETERS})
) | st.text(max_size=8)
number_text = st.one_of(st.integers().map(str), st.floats().map(str), st.text(max_size=6))
numeric_range = st.fixed_dictionaries(
    {"Name": hyperparameter_names, "MinValue": number_text, "MaxValue": number_text}
)
risky_fields = st.fixed_dictionaries(
    {},
    optional={
        "built_in_model_image": st.just(BUILT_IN_XGBOOST["built_in_model_image"]),
        "tuning_metric": st.sampled_from(["accuracy", "logloss", "validation:auc", "train:auc"])
        | st.text(max_size=12),
        "tuning_objective": st.sampled_from(["Maximize", "Minimize"]),
        "use_validation_channel": st.booleans(),
        "static_hyperparameters": st.dictionaries(hyperparameter_names, number_text, max_size=4),
        "parameter_ranges": st.fixed_dictionaries(
            {},
            optional={
                "ContinuousParameterRanges": st.lists(numeric_range, max_size=2),
                "IntegerParameterRanges": st.lists(numeric_range, max_size=2),
                "CategoricalParameterRanges": st.lists(
                    st.fixed_dictionaries(
                        {"Name": hyperparameter_names, "Values": st.lists(number_text, max_size=3)}
                    ),
                    max_size=2,
                ),
            },
        ),
        "resource_tags": st.dictionaries(st.text(max_size=130), st.text(max_size=260), max_size=52),
        "max_number_training_jobs": st.integers() | st.floats(),
        "max_parallel_training_jobs": st.integers() | st.floats(),
        "training_job_max_runtime_seconds": st.integers(),
        "train_local_path": st.text(max_size=20) | st.text(min_size=256, max_size=5000),
        "byo_model_image_source_path": st.text(max_size=20) | st.text(min_size=256, max_size=5000),
    },
)


@settings(max_examples=300, deadline=None)
@given(data=risky_fields)
def test_image_tag_limit_and_path_fields_validate_or_raise_validation_error(
    shared_project_dir: Path, data: dict[str, Any]
) -> None:
    # The fields whose checks read files or the image's contract: still nothing but a ValidationError.
    try:
        MlOpsConfig.model_validate({**SEED_EXAMPLE, **data}, context={"base_dir": shared_project_dir})
    except ValidationError as error:
        assert error.errors()


@pytest.mark.parametrize(
    "expression", ["rate(1 day)", "rate(7 days)", "rate(30 minutes)", "cron(0 3 ? * MON *)"]
)
def test_schedules_take_eventbridge_scheduler_expressions(make_config, expression: str) -> None:
    config = make_config(retrain_schedule=expression, score_schedule=expression)
    assert (config.retrain_schedule, config.score_schedule) == (expression, expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 days)", "singular unit for 1"),
        ("rate(2 day)", "singular unit for 1"),
        ("rate(0 days)", "EventBridge Scheduler expression"),
        ("at(2026-01-01T00:00:00)", "EventBridge Scheduler expression"),
        ("cron(0 3 * * ?)", "EventBridge Scheduler expression"),
        ("every day", "EventBridge Scheduler expression"),
    ],
)
def test_a_bad_schedule_is_named(make_config, expression: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        make_config(retrain_schedule=expression)
    assert "retrain_schedule" in str(error.value) and message in str(error.value)


def test_score_schedule_is_for_batch_mode_only(make_config) -> None:
    with pytest.raises(ValidationError, match=r"score_schedule\n.*batch mode only"):
        make_config(endpoint_or_batch_transform="Create Model Endpoint Config", score_schedule="rate(1 day)")


def test_models_are_approved_automatically_unless_set_to_manual(make_config) -> None:
    assert make_config().model_approval_mode == "automatic"
    assert make_config(model_approval_mode="manual").model_approval_mode == "manual"
    with pytest.raises(ValidationError, match="model_approval_mode"):
        make_config(model_approval_mode="never")


def test_names_and_tags_each_service_accepts_are_kept(make_config) -> None:
    # SageMaker endpoint names take capitals, ECR repository names dots and underscores: each field is
    # checked against its own service's rule, not another's.
    config = make_config(
        endpoint_name="Churn-Endpoint-2",
        glue_job_name="Nightly-ETL",
        byo_model_image_name="team.byo_xgboost",
        byo_model_image_tag="v1.2_rc-1",
        environment={
            "vpc_id": "vpc-0a1b2c3d",
            "aws_region": "eu-west-1",
            "public_subnets": ["subnet-0aaa1111"],
            "private_subnets": ["subnet-0bbb2222"],
        },
        notification_email="ml-team@example.com",
    )
    assert (config.endpoint_name, config.glue_job_name) == ("Churn-Endpoint-2", "Nightly-ETL")
    assert (config.byo_model_image_name, config.byo_model_image_tag) == ("team.byo_xgboost", "v1.2_rc-1")
    assert config.environment is not None
    assert (config.environment.public_subnets, config.environment.private_subnets) == (
        ["subnet-0aaa1111"],
        ["subnet-0bbb2222"],
    )
    assert config.notification_email == "ml-team@example.com"
    assert make_config(byo_model_image_tag=None).byo_model_image_tag is None  # no movable tag at all


def test_parallel_training_jobs_run_in_waves_and_the_last_wave_counts_whole(make_config) -> None:
    # 13 jobs, 2 at a time: 7 waves of up to 28 days each exceed SageMaker's longest tuning job; 12 jobs
    # (6 waves) fit. Parallelism is what lets a tuning job hold more long training jobs.
    longest = {"training_job_max_runtime_seconds": 28 * 24 * 3600, "max_parallel_training_jobs": 2}
    assert make_config(**longest, max_number_training_jobs=12).max_number_training_jobs == 12
    with pytest.raises(ValidationError) as raised:
        make_config(**longest, max_number_training_jobs=13)
    assert error_locations(raised.value) == {"training_job_max_runtime_seconds"}
    assert "7 waves of training jobs" in str(raised.value)


def test_retraining_on_a_schedule_works_in_both_modes(make_config) -> None:
    endpoint = make_config(
        endpoint_or_batch_transform="Create Model Endpoint Config", retrain_schedule="rate(7 days)"
    )
    assert endpoint.retrain_schedule == "rate(7 days)" and not endpoint.is_batch


def test_the_feature_store_is_crawled_when_asked_or_for_the_dev_environment(make_config) -> None:
    assert not make_config().crawls_feature_store
    assert make_config(crawl_feature_store=True).crawls_feature_store
    assert make_config(enable_dev_environment=True).crawls_feature_store


def test_a_wrong_image_setting_is_named_without_breaking_the_rules_that_read_it(make_config) -> None:
    # The metric, objective, range and channel rules depend on the image; when the image setting itself is
    # wrong, they must step aside (the image is unknown) rather than fail, so the one error names it.
    for image in (["an", "image"], {"uri": "an-image"}):
        with pytest.raises(ValidationError) as raised:
            make_config(built_in_model_image=image, use_validation_channel=True)
        assert error_locations(raised.value) == {"built_in_model_image"}


def test_a_wrong_job_type_is_named_without_judging_the_python_modules_by_it(make_config) -> None:
    # Only a Spark job installs wheels from S3; when the flag that says which job it is is wrong, the one error
    # names the flag, not the wheel.
    wheel = "s3://wheels/lib-1.0-py3-none-any.whl"
    with pytest.raises(ValidationError) as raised:
        make_config(glue_job_spark_flag="sometimes", glue_additional_python_modules=[wheel])
    assert error_locations(raised.value) == {"glue_job_spark_flag"}


def test_a_config_built_in_code_has_no_secret_fields(make_config) -> None:
    config = make_config()
    assert config.secret_fields == frozenset()
    assert config.with_secret_fields(["notification_email"]).secret_fields == {"notification_email"}
