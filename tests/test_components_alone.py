"""Each part of the pipeline built alone, from its own args and plain names and ARNs, under recording mocks.

No `MlOpsConfig` and no `MlOpsPipeline`: these are the programs a platform team writes when it wants one part
over resources that already exist. No account is passed either, so each part looks up its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from mlops_component import (
    DataLandingTrigger,
    DataLandingTriggerArgs,
    DataStores,
    DataStoresArgs,
    DevEnvironment,
    DevEnvironmentArgs,
    Etl,
    EtlArgs,
    ExistingImage,
    LandedData,
    LandedDataArgs,
    ModelImage,
    ModelImageArgs,
    ProcessingPipeline,
    ProcessingPipelineArgs,
    TrainingWorkflow,
    TrainingWorkflowArgs,
)
from mlops_component.assets import asset_path
from mlops_component.builders.state_machines.deployment_workflow import DeploymentResources
from mlops_component.builders.state_machines.training_workflow import TrainingResources
from mlops_component.components.lambda_function import FunctionSpec, PythonFunction
from mlops_component.components.pipeline import processing_plan
from tests.iam_checks import allows
from tests.pulumi_mocks import ACCOUNT_ID, REGION, REGISTRY, RecordingMocks, run_program

BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
FUNCTION = "aws:lambda/function:Function"
MACHINE = "aws:sfn/stateMachine:StateMachine"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:team-training"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:team-alerts"
IMAGE = f"{REGISTRY}/team/scorer@sha256:" + "c" * 64
REPOSITORY_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/team/scorer"


def policy(mocks: RecordingMocks, name: str) -> dict[str, Any]:
    return json.loads(mocks.named(name).inputs["policy"])


def created_buckets(mocks: RecordingMocks) -> list[str]:
    return [r.inputs["bucket"] for r in mocks.of_type(BUCKET)]


def test_data_stores_alone_create_six_secure_buckets_and_upload_the_script() -> None:
    args = DataStoresArgs(name_prefix="team", etl_script_path=str(asset_path("etl", "transform.py")))
    mocks, names = run_program(
        lambda: pulumi.Output.all(**{k: v.name for k, v in DataStores("stores", args).buckets.items()})
    )
    assert sorted(created_buckets(mocks)) == sorted(names.values())
    assert names["feature_store"] == f"team-features-{ACCOUNT_ID}-{REGION}"
    assert len(mocks.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")) == 6
    (script,) = mocks.of_type(OBJECT)
    assert script.inputs["bucket"] == names["source_repository"]
    assert script.inputs["key"] == "etl/transform.py"


def test_data_stores_alone_only_reference_an_existing_feature_store() -> None:
    args = DataStoresArgs(
        name_prefix="team",
        etl_script_path=str(asset_path("etl", "transform.py")),
        existing_feature_store="landing-zone",
    )
    mocks, feature_store = run_program(
        lambda: pulumi.Output.all(*vars(DataStores("stores", args).buckets["feature_store"]).values())
    )
    assert feature_store == ["landing-zone", "arn:aws:s3:::landing-zone"]
    assert len(created_buckets(mocks)) == 5 and "landing-zone" not in created_buckets(mocks)


def test_landed_data_alone_uploads_to_an_existing_bucket(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_text("id,label\n1,0\n")
    mocks, key = run_program(
        lambda: LandedData("landing", LandedDataArgs("landing-zone", train_file=str(train))).train_key
    )
    (upload,) = mocks.of_type(OBJECT)
    assert upload.inputs["bucket"] == "landing-zone"
    assert key == upload.inputs["key"] == "data/train/train.csv"


def test_etl_alone_runs_over_buckets_that_already_exist() -> None:
    args = EtlArgs(
        name_prefix="team",
        job_name="prepare",
        feature_store_bucket="raw-data",
        source_bucket="code",
        extracts_bucket="extracts",
        output_bucket="results",
        script_key="jobs/transform.py",
        inference_type="batch",
        output_layout="byo",
        timeout_minutes=30,
        max_retries=0,
    )
    mocks, job_name = run_program(lambda: Etl("etl", args).job_name)
    assert job_name == "team-prepare"
    assert created_buckets(mocks) == []
    job = mocks.named("etl-job").inputs
    assert job["command"]["scriptLocation"] == "s3://code/jobs/transform.py"
    assert job["defaultArguments"]["--source_bucket"] == "raw-data"
    assert job["defaultArguments"]["--destination_bucket"] == "extracts"
    job_policy = policy(mocks, "etl-job-policy")
    assert allows(job_policy, "s3:GetObject", "arn:aws:s3:::raw-data/data/train/a.csv")
    assert allows(job_policy, "s3:PutObject", "arn:aws:s3:::extracts/train/train.csv")
    assert not allows(job_policy, "s3:PutObject", "arn:aws:s3:::raw-data/data/train/a.csv")
    crawler = mocks.named("etl-predictions-crawler").inputs
    assert crawler["s3Targets"] == [{"path": "s3://results/predictions/"}]
    assert not any(r.name == "etl-feature-store-crawler" for r in mocks.resources)


def test_model_image_alone_builds_into_the_repository_it_names() -> None:
    args = ModelImageArgs(
        repository_name="team/scorer", source_path=str(asset_path("container")), keep_images=5
    )
    mocks, uri = run_program(lambda: ModelImage("image", args).image_uri)
    (repository,) = mocks.of_type("aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "team/scorer"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    (image,) = mocks.of_type("docker:index/image:Image")
    assert image.inputs["imageName"].startswith(f"{REGISTRY}/team/scorer:src-")
    assert uri.startswith(f"{REGISTRY}/team/scorer@sha256:")
    rules = json.loads(mocks.named("image-lifecycle").inputs["policy"])["rules"]
    assert rules[0]["selection"]["countNumber"] == 5


def test_training_workflow_alone_runs_the_definition_it_is_given() -> None:
    seen: list[TrainingResources] = []
    deployments: list[DeploymentResources] = []

    def definition(resources: TrainingResources) -> dict[str, Any]:
        seen.append(resources)
        return {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}

    def deployment(resources: DeploymentResources) -> dict[str, Any]:
        deployments.append(resources)
        return {"StartAt": "Deployed", "States": {"Deployed": {"Type": "Pass", "End": True}}}

    args = TrainingWorkflowArgs(
        name_prefix="team",
        job_name="churn",
        definition=definition,
        deployment_definition=deployment,
        approval_mode="manual",
        inference_instance_type="ml.c5.large",
        extracts_bucket="extracts",
        models_bucket="models",
        metadata_bucket="runs",
        output_bucket="results",
        glue_job_name="prepare",
        etl_timeout_seconds=1200,
        image_uri=IMAGE,
        log_retention_days=7,
        image_repository_arn=REPOSITORY_ARN,
        endpoint_name="churn-endpoint",
    )
    mocks, _ = run_program(lambda: TrainingWorkflow("wf", args).state_machine_arn)
    machine = mocks.named("wf-state-machine").inputs
    assert json.loads(machine["definition"])["StartAt"] == "Done"
    (resources,) = seen
    assert (resources.glue_job_name, resources.extracts_bucket, resources.image_uri) == (
        "prepare",
        "extracts",
        IMAGE,
    )
    (deployed,) = deployments
    assert deployed.endpoint_function_arn is not None and deployed.rename_output_function_arn is None
    assert deployed.model_package_group == "team-models" and deployed.metadata_bucket == "runs"
    assert (
        json.loads(mocks.named("wf-deployment-state-machine").inputs["definition"])["StartAt"] == "Deployed"
    )
    assert {f.inputs["name"] for f in mocks.of_type(FUNCTION)} == {
        "team-run-metadata",
        "team-register-model",
        "team-endpoint",
    }
    workflow_policy = policy(mocks, "wf-policy")
    # Manual approval: the training workflow never starts a deployment itself.
    assert not any("states:StartExecution" in s["Action"] for s in workflow_policy["Statement"])
    assert allows(workflow_policy, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:job/prepare")
    sagemaker_policy = policy(mocks, "wf-sagemaker-policy")
    assert allows(sagemaker_policy, "ecr:BatchGetImage", REPOSITORY_ARN)


def test_trigger_alone_watches_an_existing_bucket() -> None:
    args = DataLandingTriggerArgs(
        name_prefix="team",
        feature_store_bucket="landing-zone",
        state_machine_arn=STATE_MACHINE_ARN,
        log_retention_days=7,
        batch=False,
    )
    mocks, _ = run_program(lambda: DataLandingTrigger("trigger", args).function_arn)
    permission = mocks.named("trigger-s3-invoke").inputs
    assert permission["sourceArn"] == "arn:aws:s3:::landing-zone"
    assert permission["sourceAccount"] == ACCOUNT_ID
    notification = mocks.named("trigger-notification").inputs
    assert notification["bucket"] == "landing-zone"
    assert [f["filterPrefix"] for f in notification["lambdaFunctions"]] == ["data/train/"]
    (function,) = mocks.of_type(FUNCTION)
    assert function.inputs["environment"]["variables"]["STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    assert allows(policy(mocks, "trigger-function-policy"), "states:StartExecution", STATE_MACHINE_ARN)


def processing_args(make_config: Any, image: ModelImageArgs | ExistingImage) -> ProcessingPipelineArgs:
    config = make_config(enable_processing_pipeline=True)
    return ProcessingPipelineArgs(
        name_prefix="team",
        job_name="churn",
        plan=lambda resources: processing_plan(config, resources),
        feature_store_bucket="raw-data",
        source_bucket="code",
        extracts_bucket="extracts",
        models_bucket="models",
        output_bucket="results",
        code_prefix="processing/code/",
        topic_arn=TOPIC_ARN,
        inference_image=image,
        framework_version="1.2-1",
        log_retention_days=7,
    )


def test_processing_pipeline_alone_runs_an_existing_image(make_config: Any) -> None:
    args = processing_args(make_config, ExistingImage(uri=IMAGE, repository_arn=REPOSITORY_ARN))
    mocks, outputs = run_program(
        lambda: (
            (pipeline := ProcessingPipeline("processing", args)) and {"image": pipeline.inference_image_uri}
        )
    )
    assert outputs["image"] == IMAGE
    assert mocks.of_type("aws:ecr/repository:Repository") == []
    assert {r.inputs["bucket"] for r in mocks.of_type(OBJECT)} == {"code"}
    assert all(r.inputs["key"].startswith("processing/code/") for r in mocks.of_type(OBJECT))
    assert allows(policy(mocks, "processing-jobs-policy"), "ecr:BatchGetImage", REPOSITORY_ARN)
    assert allows(policy(mocks, "processing-policy"), "sns:Publish", TOPIC_ARN)


def test_processing_pipeline_alone_builds_an_inference_image_from_its_args(make_config: Any) -> None:
    image = ModelImageArgs(
        repository_name="team/inference", source_path=str(asset_path("container")), keep_images=3
    )
    mocks, _ = run_program(
        lambda: ProcessingPipeline("processing", processing_args(make_config, image)).state_machine_arn
    )
    assert mocks.named("processing-inference-image").typ == "mlops:index:ModelImage"
    (repository,) = mocks.of_type("aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "team/inference"


def test_dev_environment_alone_explores_an_existing_lake() -> None:
    stores = ("feature_store", "source_repository", "extracts", "models", "metadata", "output")
    args = DevEnvironmentArgs(
        name_prefix="team",
        job_name="churn",
        batch=True,
        bucket_names={store: f"lake-{store.replace('_', '-')}" for store in stores},  # type: ignore[misc]
        database_name="lake_catalog",
        crawler_name="lake-crawler",
    )
    mocks, outputs = run_program(
        lambda: (
            (env := DevEnvironment("devenv", args))
            and {"db": env.database_name, "notebook": env.notebook_name}
        )
    )
    assert outputs == {"db": "lake_catalog", "notebook": "team-notebook"}
    assert mocks.of_type("aws:glue/catalogDatabase:CatalogDatabase") == []
    assert created_buckets(mocks) == []
    workgroup = mocks.named("devenv-athena").inputs
    assert workgroup["configuration"]["resultConfiguration"]["outputLocation"].startswith("s3://lake-output/")
    (repository,) = mocks.of_type("aws:codecommit/repository:Repository")
    assert repository.inputs["repositoryName"] == "team-project"
    notebook_policy = policy(mocks, "devenv-notebook-policy")
    assert allows(
        notebook_policy, "glue:StartCrawler", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:crawler/lake-crawler"
    )


def test_python_function_alone_gets_its_own_role_and_log_group() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    mocks, _ = run_program(
        lambda: (
            PythonFunction(
                "fn",
                function_name="team-trigger",
                spec=FunctionSpec("trigger", "Starts runs"),
                policy=json.dumps(document),
                environment={"STATE_MACHINE_ARN": STATE_MACHINE_ARN},
                log_retention_days=7,
            ).arn
        )
    )
    (function,) = mocks.of_type(FUNCTION)
    assert function.inputs["name"] == "team-trigger"
    assert mocks.named("fn-logs").inputs == {"name": "/aws/lambda/team-trigger", "retentionInDays": 7}
    assert json.loads(mocks.named("fn-policy").inputs["policy"]) == document
