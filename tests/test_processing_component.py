"""The processing pipeline under recording mocks: absent when off; when on, every part wired to the others."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from mlops_component import MlOpsPipeline
from mlops_component.builders.state_machines.processing_pipeline import (
    ProcessingResources,
    processing_definition,
)
from mlops_component.components.processing_pipeline import code_files
from tests.conftest import BUILT_IN_XGBOOST
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

BUILT_IN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PREFIX = "mlops-processing"


def bucket(word: str) -> str:
    return f"mlops-test-{word}-{ACCOUNT_ID}-{REGION}"


def deploy(config) -> tuple[RecordingMocks, dict[str, Any]]:
    def program() -> dict[str, Any]:
        pipeline = MlOpsPipeline("mlops", config)
        outputs: dict[str, Any] = {
            "topic_arn": pipeline.training.topic_arn,
            "image": pipeline.model_image_uri,
            "has_processing": pipeline.processing is not None,
        }
        if pipeline.processing:
            p = pipeline.processing
            outputs.update(
                arn=p.state_machine_arn,
                role_arn=p.role_arn,
                example_input=p.example_input,
                start_policy=p.start_policy,
                start_policy_arn=p.start_policy_arn,
                inference_image_uri=p.inference_image_uri,
                framework_image_uri=p.framework_image_uri,
                code_uri=p.code_uri,
            )
        return outputs

    return run_program(program)


def processing_resources(mocks: RecordingMocks) -> list[str]:
    return [r.name for r in mocks.resources if r.name.startswith(PREFIX)]


def test_nothing_of_it_exists_when_the_flag_is_off(make_config) -> None:
    mocks, outputs = deploy(make_config())
    assert outputs["has_processing"] is False
    assert processing_resources(mocks) == []
    assert not any(r.typ == "mlops:index:ProcessingPipeline" for r in mocks.resources)
    assert sorted(r.inputs["name"] for r in mocks.of_type("aws:sfn/stateMachine:StateMachine")) == [
        "mlops-test-deployment",
        "mlops-test-training",
    ]
    assert not any(
        "legacycode" in r.inputs.get("key", "") for r in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    )


@pytest.fixture(scope="module")
def enabled(tmp_path_factory) -> tuple[RecordingMocks, dict[str, Any], Any]:
    from mlops_component.config import MlOpsConfig
    from tests.conftest import SEED_EXAMPLE, write_project

    folder = write_project(tmp_path_factory.mktemp("project"))
    config = MlOpsConfig.model_validate(
        {**SEED_EXAMPLE, "enable_processing_pipeline": True}, context={"base_dir": folder}
    )
    mocks, outputs = deploy(config)
    return mocks, outputs, config


def test_the_component_and_its_parts_exist_when_on(enabled) -> None:
    mocks, _, _ = enabled
    assert mocks.named(PREFIX).typ == "mlops:index:ProcessingPipeline"
    machine = mocks.named(f"{PREFIX}-state-machine")
    assert machine.inputs["name"] == "mlops-test-processing"
    assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
    assert machine.inputs["loggingConfiguration"]["logDestination"].endswith(":*")
    logs = mocks.named(f"{PREFIX}-logs")
    assert logs.inputs["name"] == "/aws/vendedlogs/states/mlops-test-processing"
    assert logs.inputs["retentionInDays"] == 30


def test_the_state_machine_runs_the_definition_built_from_the_stacks_outputs(enabled) -> None:
    mocks, outputs, config = enabled
    definition = json.loads(mocks.named(f"{PREFIX}-state-machine").inputs["definition"])
    expected = processing_definition(
        config,
        ProcessingResources(
            feature_bucket=bucket("features"),
            source_bucket=bucket("source"),
            extracts_bucket=bucket("extracts"),
            models_bucket=bucket("models"),
            output_bucket=bucket("output"),
            framework_image_uri=SKLEARN,
            inference_image_uri=outputs["image"],
            role_arn=outputs["role_arn"],
            topic_arn=outputs["topic_arn"],
        ),
    )
    assert definition == expected
    # Failures go to the training workflow's topic: one subscription hears about both pipelines.
    assert definition["States"]["Notify Failure"]["Parameters"]["TopicArn"] == outputs["topic_arn"]
    assert len(mocks.of_type("aws:sns/topic:Topic")) == 1


def test_the_byo_image_is_reused_for_inference(enabled) -> None:
    mocks, outputs, _ = enabled
    assert outputs["inference_image_uri"] == outputs["image"]
    assert "@sha256:" in outputs["inference_image_uri"]
    assert len(mocks.of_type("aws:ecr/repository:Repository")) == 1
    assert outputs["framework_image_uri"] == SKLEARN


def test_the_code_location_holds_the_scripts_and_the_etl_transform(enabled) -> None:
    mocks, outputs, _ = enabled
    uploads = {
        r.inputs["key"]: r
        for r in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if r.name.startswith(PREFIX)
    }
    files = code_files()
    assert set(uploads) == {f"legacycode/scripts/{name}" for name in files}
    for name, path in files.items():
        upload = uploads[f"legacycode/scripts/{name}"]
        assert upload.inputs["bucket"] == bucket("source")
        assert upload.inputs["sourceHash"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert files["transform.py"].parent.name == "etl"  # the ETL's own file, not a copy
    assert outputs["code_uri"] == f"s3://{bucket('source')}/legacycode/scripts/"


def trust(role) -> dict[str, Any]:
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement


def test_each_role_is_trusted_by_one_service_for_this_account(enabled) -> None:
    mocks, _, _ = enabled
    for name, service in [
        (f"{PREFIX}-jobs-role", "sagemaker.amazonaws.com"),
        (f"{PREFIX}-role", "states.amazonaws.com"),
    ]:
        statement = trust(mocks.named(name))
        assert statement["Principal"] == {"Service": service}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_the_policies_are_the_builders_output_for_this_stack(enabled) -> None:
    mocks, outputs, _ = enabled
    machine_policy = json.loads(mocks.named(f"{PREFIX}-policy").inputs["policy"])
    (pass_role,) = [s for s in machine_policy["Statement"] if s.get("Sid") == "PassExecutionRole"]
    assert pass_role["Resource"] == outputs["role_arn"]
    job_policy = json.loads(mocks.named(f"{PREFIX}-jobs-policy").inputs["policy"])
    (pull,) = [s for s in job_policy["Statement"] if s.get("Sid") == "PullModelImage"]
    # The bring-your-own image's repository.
    assert pull["Resource"].endswith(":repository/mlops-test/byo-xgboost")
    (writes,) = [s for s in job_policy["Statement"] if s.get("Sid") == "WriteOutputs"]
    assert writes["Resource"] == [
        f"arn:aws:s3:::{bucket('extracts')}/legacycode/preprocessed/*",
        f"arn:aws:s3:::{bucket('output')}/legacycode/predictions/*",
        f"arn:aws:s3:::{bucket('output')}/legacycode/reports/*",
    ]


def test_outputs_say_how_to_start_it(enabled) -> None:
    mocks, outputs, _ = enabled
    example = json.loads(outputs["example_input"])
    assert example["PreProcessing"]["InputUri"] == {"S3Uri": f"s3://{bucket('features')}/legacycode/input/"}
    assert example["PreProcessing"]["ImageUri"] == SKLEARN
    assert example["Inference"]["ImageUri"] == outputs["image"]
    assert {job["RoleArn"] for job in example.values()} == {outputs["role_arn"]}
    policy = json.loads(outputs["start_policy"])
    assert (
        policy["Statement"][0]["Resource"]
        == f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-processing"
    )
    managed = mocks.named(f"{PREFIX}-start-policy")
    assert managed.inputs["name"] == "mlops-test-processing-start"
    assert json.loads(managed.inputs["policy"]) == policy


def test_processing_resources_are_tagged(enabled) -> None:
    mocks, _, config = enabled
    taggable = [
        r
        for r in mocks.resources
        if r.name.startswith(PREFIX) and r.typ.startswith("aws:") and "tags" in r.inputs
    ]
    assert {r.typ for r in taggable} >= {
        "aws:sfn/stateMachine:StateMachine",
        "aws:iam/role:Role",
        "aws:cloudwatch/logGroup:LogGroup",
    }
    for resource in taggable:
        assert resource.inputs["tags"] == config.tags, resource.name


def test_with_a_built_in_training_image_the_inference_image_is_built_for_processing(
    make_config, project_dir
) -> None:
    mocks, outputs = deploy(make_config(enable_processing_pipeline=True, **BUILT_IN_XGBOOST))
    (repository,) = mocks.of_type("aws:ecr/repository:Repository")
    assert repository.name == f"{PREFIX}-inference-image-repository"
    assert repository.inputs["name"] == "mlops-test/legacycode"
    image = mocks.named(f"{PREFIX}-inference-image-image")
    assert image.inputs["build"]["context"] == str((project_dir / "container").resolve())
    assert outputs["image"] == BUILT_IN  # training keeps its built-in image
    assert outputs["inference_image_uri"].startswith(
        f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/mlops-test/legacycode@sha256:"
    )
    job_policy = json.loads(mocks.named(f"{PREFIX}-jobs-policy").inputs["policy"])
    (pull,) = [s for s in job_policy["Statement"] if s.get("Sid") == "PullModelImage"]
    assert pull["Resource"].endswith("mlops-test/legacycode")


def test_a_framework_image_override_replaces_the_lookup(make_config) -> None:
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-sklearn:2025-01"
    _, outputs = deploy(make_config(enable_processing_pipeline=True, processing={"framework_image_uri": uri}))
    assert outputs["framework_image_uri"] == uri
    assert json.loads(outputs["example_input"])["PostProcessing"]["ImageUri"] == uri
