"""The training workflow and trigger components under recording mocks, in both inference modes."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from pulumi.runtime.rpc import _special_secret_sig as SECRET_SIGNATURE
from pulumi.runtime.rpc import _special_sig_key as SECRET_SIGNATURE_KEY

from mlops_component.builders import iam, naming
from mlops_component.builders.state_machines.deployment_workflow import (
    DeploymentResources,
    deployment_definition,
)
from mlops_component.builders.state_machines.training_workflow import TrainingResources, training_definition
from mlops_component.components.data_stores import BucketRef
from mlops_component.components.landing_trigger import DataLandingTrigger
from mlops_component.components.pipeline import training_workflow_args, trigger_args
from mlops_component.components.training_workflow import TrainingWorkflow
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

ENDPOINT_MODE = "Create Model Endpoint Config"
IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/byo-xgboost@sha256:" + "b" * 64
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/byo-xgboost"


def bucket(store: naming.Store) -> BucketRef:
    name = naming.bucket_name("mlops-test", store, ACCOUNT_ID, REGION)
    return BucketRef(
        name=pulumi.Output.from_input(name), arn=pulumi.Output.from_input(f"arn:aws:s3:::{name}")
    )


def deploy(config) -> tuple[RecordingMocks, dict[str, Any]]:
    def program() -> dict[str, Any]:
        account = pulumi.Output.from_input(iam.Account("aws", REGION, ACCOUNT_ID))
        buckets = {store: bucket(store) for store in naming.STORES}
        workflow = TrainingWorkflow(
            "wf",
            training_workflow_args(
                config,
                buckets=buckets,
                glue_job_name="mlops-test-data-transformation",
                etl_timeout_seconds=3900,
                prediction_crawler_name="mlops-test-predictions",
                image_uri=IMAGE,
                image_repository_arn=REPOSITORY_ARN,
                account=account,
            ),
        )
        trigger = DataLandingTrigger(
            "trigger", trigger_args(config, buckets["feature_store"], workflow.state_machine_arn, account)
        )
        return {
            "definition": workflow.definition,
            "deployment_definition": workflow.deployment_definition,
            "deployment_state_machine_arn": workflow.deployment_state_machine_arn,
            "model_package_group_name": workflow.model_package_group_name,
            "state_machine_arn": workflow.state_machine_arn,
            "trigger_arn": trigger.function_arn,
        }

    return run_program(program)


def policies_of(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {r.name: json.loads(r.inputs["policy"]) for r in mocks.of_type("aws:iam/rolePolicy:RolePolicy")}


def trusted_service(role: Any) -> str:
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement["Principal"]["Service"]


@pytest.mark.parametrize("mode", ["Batch Transform", ENDPOINT_MODE])
def test_state_machine_runs_the_definition_built_from_the_components_outputs(make_config, mode: str) -> None:
    config = make_config(endpoint_or_batch_transform=mode)
    mocks, outputs = deploy(config)
    machine = mocks.named("wf-state-machine")
    assert machine.inputs["name"] == "mlops-test-training"
    definition = json.loads(machine.inputs["definition"])
    functions = {r.inputs["name"]: r for r in mocks.of_type("aws:lambda/function:Function")}
    arn = {name: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}" for name in functions}
    deployment_arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-deployment"
    expected = training_definition(
        config,
        TrainingResources(
            glue_job_name="mlops-test-data-transformation",
            etl_timeout_seconds=3900,
            extracts_bucket=naming.bucket_name("mlops-test", "extracts", ACCOUNT_ID, REGION),
            models_bucket=naming.bucket_name("mlops-test", "models", ACCOUNT_ID, REGION),
            metadata_bucket=naming.bucket_name("mlops-test", "metadata", ACCOUNT_ID, REGION),
            image_uri=IMAGE,
            sagemaker_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/mlops-test-sagemaker-execution",
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:mlops-test-failures",
            run_metadata_function_arn=arn["mlops-test-run-metadata"],
            register_model_function_arn=arn["mlops-test-register-model"],
            deployment_state_machine_arn=deployment_arn,
        ),
    )
    assert outputs["deployment_state_machine_arn"] == deployment_arn
    deployment = mocks.named("wf-deployment-state-machine")
    assert deployment.inputs["name"] == "mlops-test-deployment"
    assert json.loads(deployment.inputs["definition"]) == deployment_definition(
        config,
        DeploymentResources(
            model_package_group="mlops-test-models",
            extracts_bucket=naming.bucket_name("mlops-test", "extracts", ACCOUNT_ID, REGION),
            output_bucket=naming.bucket_name("mlops-test", "output", ACCOUNT_ID, REGION),
            metadata_bucket=naming.bucket_name("mlops-test", "metadata", ACCOUNT_ID, REGION),
            sagemaker_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/mlops-test-sagemaker-execution",
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:mlops-test-failures",
            glue_job_name="mlops-test-data-transformation" if config.is_batch else None,
            etl_timeout_seconds=3900,
            rename_output_function_arn=arn.get("mlops-test-rename-output"),
            prediction_crawler_name="mlops-test-predictions" if config.is_batch else None,
            endpoint_function_arn=arn.get("mlops-test-endpoint"),
        ),
    )
    assert outputs["deployment_definition"] == deployment.inputs["definition"]
    assert deployment.inputs["loggingConfiguration"]["logDestination"].endswith(
        "/aws/vendedlogs/states/mlops-test-deployment:*"
    )
    assert definition == expected
    assert outputs["definition"] == machine.inputs["definition"]
    logging = machine.inputs["loggingConfiguration"]
    assert logging["level"] == "ALL" and logging["includeExecutionData"] is True
    assert logging["logDestination"].endswith("/aws/vendedlogs/states/mlops-test-training:*")
    assert machine.inputs["tracingConfiguration"] == {"enabled": False}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "Batch Transform",
            {
                "mlops-test-run-metadata",
                "mlops-test-register-model",
                "mlops-test-rename-output",
                "mlops-test-trigger",
            },
        ),
        (
            ENDPOINT_MODE,
            {
                "mlops-test-run-metadata",
                "mlops-test-register-model",
                "mlops-test-endpoint",
                "mlops-test-trigger",
            },
        ),
    ],
)
def test_each_function_is_packaged_with_its_own_role_and_log_group(
    make_config, mode: str, expected: set[str]
) -> None:
    mocks, _ = deploy(make_config(endpoint_or_batch_transform=mode, log_retention_days=14))
    functions = {r.inputs["name"]: r for r in mocks.of_type("aws:lambda/function:Function")}
    assert set(functions) == expected
    roles = {r.name: r for r in mocks.of_type("aws:iam/role:Role")}
    for name, function in functions.items():
        assert function.inputs["runtime"] == "python3.13"
        assert function.inputs["handler"].startswith("functions.") and function.inputs["handler"].endswith(
            ".handler"
        )
        assert function.inputs["sourceCodeHash"]
        assert function.inputs["loggingConfig"]["logGroup"] == f"/aws/lambda/{name}"
    # One role per function, each trusted by Lambda alone.
    assert sum(trusted_service(r) == "lambda.amazonaws.com" for r in roles.values()) == len(expected)
    groups = {
        r.inputs["name"]: r.inputs["retentionInDays"]
        for r in mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    }
    assert {f"/aws/lambda/{n}" for n in expected} <= set(groups)
    assert set(groups.values()) == {14}


def test_every_role_is_trusted_by_one_service_only(make_config) -> None:
    mocks, _ = deploy(make_config())
    services = {r.name: trusted_service(r) for r in mocks.of_type("aws:iam/role:Role")}
    assert services["wf-role"] == "states.amazonaws.com"
    assert services["wf-deployment-role"] == "states.amazonaws.com"
    assert services["wf-sagemaker-role"] == "sagemaker.amazonaws.com"
    assert all(isinstance(s, str) for s in services.values())  # one service per role, never a list


def test_trigger_watches_the_data_prefixes_of_its_mode(make_config) -> None:
    for mode, prefixes in (
        ("Batch Transform", ["data/train/", "data/score/"]),
        (ENDPOINT_MODE, ["data/train/"]),
    ):
        mocks, outputs = deploy(make_config(endpoint_or_batch_transform=mode))
        notification = mocks.named("trigger-notification")
        feature_store = naming.bucket_name("mlops-test", "feature_store", ACCOUNT_ID, REGION)
        assert notification.inputs["bucket"] == feature_store
        assert [f["filterPrefix"] for f in notification.inputs["lambdaFunctions"]] == prefixes
        assert all(f["events"] == ["s3:ObjectCreated:*"] for f in notification.inputs["lambdaFunctions"])
        permission = mocks.named("trigger-s3-invoke")
        assert permission.inputs["principal"] == "s3.amazonaws.com"
        assert permission.inputs["sourceArn"] == f"arn:aws:s3:::{feature_store}"
        assert permission.inputs["sourceAccount"] == ACCOUNT_ID
        trigger = next(
            r
            for r in mocks.of_type("aws:lambda/function:Function")
            if r.inputs["name"] == "mlops-test-trigger"
        )
        env = trigger.inputs["environment"]["variables"]
        assert env["STATE_MACHINE_ARN"] == outputs["state_machine_arn"]
        assert env["INFERENCE_MODE"] == ("batch" if mode == "Batch Transform" else "endpoint")


def test_failure_topic_is_encrypted_and_email_is_optional(make_config) -> None:
    mocks, _ = deploy(make_config())
    assert mocks.named("wf-failures").inputs["kmsMasterKeyId"] == "alias/aws/sns"
    assert mocks.of_type("aws:sns/topicSubscription:TopicSubscription") == []

    mocks, _ = deploy(make_config(notification_email="ml-team@example.com"))
    (subscription,) = mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "ml-team@example.com"

    # Set with `pulumi config set --secret`, the address reaches the resource as a Pulumi secret.
    config = make_config(notification_email="ml-team@example.com").with_secret_fields({"notification_email"})
    mocks, _ = deploy(config)
    (subscription,) = mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"][SECRET_SIGNATURE_KEY] == SECRET_SIGNATURE
    assert subscription.inputs["endpoint"]["value"] == "ml-team@example.com"


def test_tracing_option_reaches_the_state_machine_and_its_role(make_config) -> None:
    mocks, _ = deploy(make_config(enable_xray_tracing=True))
    assert mocks.named("wf-state-machine").inputs["tracingConfiguration"] == {"enabled": True}
    actions = {a for s in policies_of(mocks)["wf-policy"]["Statement"] for a in s["Action"]}
    assert "xray:PutTraceSegments" in actions


@pytest.mark.parametrize("approval", ["automatic", "manual"])
def test_the_model_package_group_and_the_registering_function_follow_the_config(
    make_config, approval
) -> None:
    mocks, outputs = deploy(make_config(model_approval_mode=approval))
    group = mocks.named("wf-model-package-group")
    assert group.inputs["modelPackageGroupName"] == outputs["model_package_group_name"] == "mlops-test-models"
    register = next(
        r
        for r in mocks.of_type("aws:lambda/function:Function")
        if r.inputs["name"] == "mlops-test-register-model"
    )
    env = register.inputs["environment"]["variables"]
    assert env["APPROVAL_MODE"] == approval and env["MODEL_PACKAGE_GROUP"] == "mlops-test-models"
    assert env["IMAGE_URI"] == IMAGE  # the image the workflow runs, pinned by digest
    assert env["METADATA_BUCKET"] == naming.bucket_name("mlops-test", "metadata", ACCOUNT_ID, REGION)
    assert (env["INFERENCE_MODE"], env["INSTANCE_TYPE"]) == ("batch", "ml.m5.xlarge")
    policy = policies_of(mocks)["wf-policy"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    # Only a run that deploys what it registers may start the deployment workflow.
    assert ("states:StartExecution" in actions) == (approval == "automatic")
