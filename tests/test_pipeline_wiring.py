"""The whole pipeline under recording mocks: the parts are wired to each other, and every policy is clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_component import MlOpsPipeline
from mlops_component.tools.iam_lint import lint
from tests.conftest import BUILT_IN_XGBOOST
from tests.iam_checks import wildcard_problems
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

ENDPOINT_MODE = "Create Model Endpoint Config"
BUILT_IN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def deploy(config) -> tuple[RecordingMocks, dict[str, Any]]:
    def program() -> dict[str, Any]:
        pipeline = MlOpsPipeline("mlops", config)
        return {
            "state_machine_arn": pipeline.state_machine_arn,
            "deployment_state_machine_arn": pipeline.training.deployment_state_machine_arn,
            "image": pipeline.model_image_uri,
            "summary": pipeline.summary,
        }

    return run_program(program)


def definition_of(mocks: RecordingMocks) -> dict[str, Any]:
    return json.loads(mocks.named("mlops-training-state-machine").inputs["definition"])


@pytest.fixture(params=["Batch Transform", ENDPOINT_MODE])
def mode(request) -> str:
    return request.param


def test_workflow_drives_the_stacks_own_job_image_and_crawler(make_config, mode: str) -> None:
    mocks, outputs = deploy(make_config(endpoint_or_batch_transform=mode))
    states = definition_of(mocks)["States"]
    glue_job = mocks.named("mlops-etl-job")
    assert states["Transform Data"]["Parameters"]["JobName"] == glue_job.inputs["name"]
    image = states["Tune Hyperparameters"]["Parameters"]["TrainingJobDefinition"]["AlgorithmSpecification"][
        "TrainingImage"
    ]
    assert image == outputs["image"] and "@sha256:" in image  # the pushed image, pinned by digest
    # The same image is what the model package is registered with, and so what every deployment runs.
    register = next(
        r
        for r in mocks.of_type("aws:lambda/function:Function")
        if r.inputs["name"] == "mlops-test-register-model"
    )
    assert register.inputs["environment"]["variables"]["IMAGE_URI"] == image
    deployment = json.loads(mocks.named("mlops-training-deployment-state-machine").inputs["definition"])[
        "States"
    ]
    assert states["Deploy Model"]["Parameters"]["StateMachineArn"] == outputs["deployment_state_machine_arn"]
    if mode == "Batch Transform":
        crawler = mocks.named("mlops-etl-predictions-crawler")
        assert deployment["Catalog Predictions"]["Parameters"]["Name"] == crawler.inputs["name"]
        assert deployment["Prepare Score Data"]["Parameters"]["JobName"] == glue_job.inputs["name"]
    trigger = next(
        r for r in mocks.of_type("aws:lambda/function:Function") if r.inputs["name"] == "mlops-test-trigger"
    )
    assert trigger.inputs["environment"]["variables"]["STATE_MACHINE_ARN"] == outputs["state_machine_arn"]
    assert outputs["state_machine_arn"] in outputs["summary"]


def test_built_in_image_builds_nothing_and_runs_the_given_image(make_config) -> None:
    mocks, outputs = deploy(make_config(**BUILT_IN_XGBOOST))
    assert outputs["image"] == BUILT_IN
    assert not any(r.typ.startswith(("docker:", "aws:ecr/")) for r in mocks.resources)
    sagemaker_policy = json.loads(mocks.named("mlops-training-sagemaker-policy").inputs["policy"])
    assert not any(a.startswith("ecr:") for s in sagemaker_policy["Statement"] for a in s["Action"])


def test_own_image_can_be_pulled_by_the_sagemaker_role_only_from_its_repository(make_config) -> None:
    mocks, _ = deploy(make_config())
    repository = mocks.named("mlops-model-image-repository")
    policy = json.loads(mocks.named("mlops-training-sagemaker-policy").inputs["policy"])
    (pull,) = [s for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"] == f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/{repository.inputs['name']}"


def every_policy(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    policies = {
        r.name: json.loads(r.inputs["policy"]) for r in mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    policies |= {
        r.name: json.loads(r.inputs["policy"]) for r in mocks.of_type("aws:s3/bucketPolicy:BucketPolicy")
    }
    return policies


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"endpoint_or_batch_transform": ENDPOINT_MODE, "enable_xray_tracing": True},
        {**BUILT_IN_XGBOOST, "crawl_feature_store": True, "glue_job_spark_flag": True},
        {"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
    ],
    ids=["batch", "endpoint-traced", "built-in-spark-crawled", "kms"],
)
def test_every_policy_the_stack_produces_is_parliament_clean_without_wildcard_actions(
    make_config, overrides
) -> None:
    mocks, _ = deploy(make_config(**overrides))
    policies = every_policy(mocks)
    assert len(policies) >= 10
    findings = {name: lint(policy) for name, policy in policies.items() if "bucketPolicy" not in name}
    assert {name: f for name, f in findings.items() if f} == {}
    assert {name: p for name, p in ((n, wildcard_problems(p)) for n, p in policies.items()) if p} == {}


def test_every_role_trusts_exactly_one_service(make_config, mode: str) -> None:
    mocks, _ = deploy(make_config(endpoint_or_batch_transform=mode))
    for role in mocks.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert isinstance(statement["Principal"]["Service"], str), role.name
        assert statement["Principal"].keys() == {"Service"}, role.name


def test_mlops_render_shows_exactly_what_the_stack_deploys(make_config, mode: str) -> None:
    from mlops_component.builders import iam
    from mlops_component.tools import render

    config = make_config(endpoint_or_batch_transform=mode)
    mocks, outputs = deploy(config)
    deployed = definition_of(mocks)
    rendered = json.loads(render.render(config, iam.Account("aws", REGION, ACCOUNT_ID))[0].content)
    # Only the image reference differs: the deployment pins the pushed digest, render shows the content tag.
    assert json.loads(json.dumps(deployed).replace(outputs["image"], "IMAGE")) == json.loads(
        json.dumps(rendered).replace(
            render.image_reference(config, iam.Account("aws", REGION, ACCOUNT_ID)), "IMAGE"
        )
    )


def test_mlops_render_shows_exactly_the_processing_pipeline_the_stack_deploys(make_config) -> None:
    from mlops_component.builders import iam
    from mlops_component.tools import render

    config = make_config(enable_processing_pipeline=True)
    mocks, outputs = deploy(config)
    deployed = json.loads(mocks.named("mlops-processing-state-machine").inputs["definition"])
    account = iam.Account("aws", REGION, ACCOUNT_ID)
    rendered = {r.file_name: r.content for r in render.render(config, account)}
    planned = render.planned_processing_resources(config, account)
    assert json.loads(json.dumps(deployed).replace(outputs["image"], "IMAGE")) == json.loads(
        rendered["processing.asl.json"].replace(planned.inference_image_uri, "IMAGE")
    )
    assert "PreProcessing" in rendered["processing.mmd"]
