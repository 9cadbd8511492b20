"""Policies of the training workflow's roles: the state machine, SageMaker execution, the functions, the image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_component import layout
from mlops_component.builders.iam.statements import (
    Account,
    Policy,
    allow,
    document,
    list_bucket,
    list_whole_bucket,
    objects_arn,
    pass_role,
    use_kms_key,
    write_logs,
)

# --- Training workflow roles ----------------------------------------------------------------------------------

# The EventBridge rules Step Functions manages to learn when a .sync job or child execution ends.
_SYNC_RULES = {
    "tuning": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    "transform": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
    "execution": "StepFunctionsGetEventsForStepFunctionsExecutionRule",
}


@dataclass(frozen=True)
class WorkflowTargets:
    """What the training workflow's role may act on, by name or ARN."""

    job_name: str
    glue_job_name: str
    sagemaker_role_arn: str
    topic_arn: str
    function_arns: list[str]
    deployment_state_machine_arn: str | None  # automatic approval: the run deploys what it registered
    metadata_bucket: str
    kms_key_arn: str | None = None


def sync_rules(account: Account, *kinds: str) -> dict[str, Any]:
    """The managed EventBridge rules of the .sync integrations `kinds` name (`tuning`, `transform`, ...)."""
    return allow(
        ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        [account.arn("events", f"rule/{_SYNC_RULES[kind]}") for kind in kinds],
        sid="ManageSyncRules",
    )


def invoke_functions(function_arns: list[str]) -> dict[str, Any]:
    """Invoke exactly these functions. The workflows call them by unqualified ARN, which Lambda authorizes as
    is: no version or alias (`<arn>:<qualifier>`) is granted."""
    return allow(["lambda:InvokeFunction"], function_arns, sid="InvokeFunctions")


def state_machine_policy(account: Account, targets: WorkflowTargets, *, tracing: bool) -> Policy:
    """Exactly what the training workflow's tasks call, on the resources the run creates or uses."""
    run = f"{targets.job_name}-*"  # every SageMaker resource a run creates is named "<job_name>-<suffix>"
    tuning = account.sagemaker("hyper-parameter-tuning-job", run)
    statements = [
        allow(
            ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
            account.arn("glue", f"job/{targets.glue_job_name}"),
            sid="RunEtlJob",
        ),
        allow(
            [
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            ],
            tuning,
            sid="TuneHyperparameters",
        ),
        pass_role(targets.sagemaker_role_arn, "sagemaker.amazonaws.com"),
        invoke_functions(targets.function_arns),
        allow(["sns:Publish"], targets.topic_arn, sid="NotifyFailures"),
        # Why a model was not registered, beside the run record.
        allow(
            ["s3:PutObject"],
            objects_arn(account.partition, targets.metadata_bucket, "runs/"),
            sid="RecordNotRegistered",
        ),
        *use_kms_key(targets.kms_key_arn, decrypt=False),
        # Step Functions tags what it starts with .sync, and reads the tags back. SageMaker copies the tuning
        # job's tags to the training jobs it launches itself: AWS's policy for this integration grants nothing
        # on training jobs.
        allow(["sagemaker:AddTags", "sagemaker:ListTags"], tuning, sid="TagRunResources"),
    ]
    rules = ["tuning"]
    if targets.deployment_state_machine_arn:
        machine = targets.deployment_state_machine_arn
        executions = machine.replace(":stateMachine:", ":execution:") + ":*"
        rules.append("execution")
        statements += [
            allow(["states:StartExecution"], machine, sid="StartDeployment"),
            # .sync waits on the child execution, and stops it when this run is stopped.
            allow(["states:DescribeExecution", "states:StopExecution"], executions, sid="WatchDeployment"),
        ]
    statements.append(sync_rules(account, *rules))
    statements += execution_log_statements(tracing=tracing)
    return document(*statements)


@dataclass(frozen=True)
class DeploymentTargets:
    """What the deployment workflow's role may act on, by name or ARN."""

    job_name: str
    model_package_group: str
    sagemaker_role_arn: str
    topic_arn: str
    function_arns: list[str]
    metadata_bucket: str
    kms_key_arn: str | None
    glue_job_name: str | None = None  # batch mode
    prediction_crawler_name: str | None = None  # batch mode
    endpoint_name: str | None = None  # endpoint mode


def model_packages(account: Account, group: str) -> str:
    """Every version of the group's packages (`model-package/<group>/<version>`)."""
    return account.sagemaker("model-package", f"{group}/*")


def deployment_workflow_policy(account: Account, targets: DeploymentTargets, *, tracing: bool) -> Policy:
    """Exactly what the deployment workflow's tasks call: find and read a package, create a model from it,
    then score with it or put it behind the endpoint, and record the deployment."""
    run = f"{targets.job_name}-*"  # each deployment's model, job and endpoint config: "<job_name>-<suffix>"
    model = account.sagemaker("model", run)
    statements = [
        # ListModelPackages has no resource-level permissions (Service Authorization Reference).
        allow(["sagemaker:ListModelPackages"], "*", sid="FindApprovedPackages"),
        allow(
            ["sagemaker:DescribeModelPackage"],
            model_packages(account, targets.model_package_group),
            sid="ReadModelPackage",
        ),
        allow(["sagemaker:CreateModel"], model, sid="CreateModel"),
        pass_role(targets.sagemaker_role_arn, "sagemaker.amazonaws.com"),
        invoke_functions(targets.function_arns),
        allow(["sns:Publish"], targets.topic_arn, sid="NotifyFailures"),
        allow(
            ["s3:PutObject"],
            objects_arn(account.partition, targets.metadata_bucket, layout.DEPLOYMENTS_PREFIX),
            sid="RecordDeployment",
        ),
        *use_kms_key(targets.kms_key_arn, decrypt=False),
    ]
    tagged = [model]
    if targets.glue_job_name and targets.prediction_crawler_name:
        transform = account.sagemaker("transform-job", run)
        tagged.append(transform)
        statements += [
            allow(
                ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                account.arn("glue", f"job/{targets.glue_job_name}"),
                sid="PrepareScoreData",
            ),
            allow(
                [
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                ],
                transform,
                sid="BatchTransform",
            ),
            allow(
                ["glue:StartCrawler"],
                account.arn("glue", f"crawler/{targets.prediction_crawler_name}"),
                sid="Crawl",
            ),
            sync_rules(account, "transform"),
        ]
    if targets.endpoint_name:
        endpoint_config = account.sagemaker("endpoint-config", run)
        tagged.append(endpoint_config)
        statements += [
            allow(["sagemaker:CreateEndpointConfig"], endpoint_config, sid="CreateEndpointConfig"),
            allow(
                ["sagemaker:DescribeEndpoint"],
                account.sagemaker("endpoint", targets.endpoint_name),
                sid="WatchEndpoint",
            ),
        ]
    # Step Functions tags what it creates and starts with .sync, and reads the tags back.
    statements.append(allow(["sagemaker:AddTags", "sagemaker:ListTags"], tagged, sid="TagRunResources"))
    statements += execution_log_statements(tracing=tracing)
    return document(*statements)


def execution_log_statements(*, tracing: bool) -> list[dict[str, Any]]:
    """What a state machine's role needs to deliver execution logs, and to send traces when tracing is on."""
    statements = [
        # Log delivery is configured on the account's delivery service, which has no resource-level permissions.
        allow(
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "*",
            sid="DeliverExecutionLogs",
        )
    ]
    if tracing:
        # X-Ray's write APIs have no resource-level permissions.
        statements.append(
            allow(
                [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                "*",
                sid="Trace",
            )
        )
    return statements


@dataclass(frozen=True)
class SageMakerTargets:
    """What training, transform and endpoint instances read and write."""

    extracts_bucket: str
    models_bucket: str
    output_bucket: str
    repository_arn: str | None  # None with a built-in image, which SageMaker pulls itself
    endpoint_name: str | None
    kms_key_arn: str | None


def sagemaker_execution_policy(account: Account, targets: SageMakerTargets) -> Policy:
    """The role SageMaker jobs and endpoints run as: their data, their image, their logs."""
    p = account.partition
    statements = [
        list_bucket(p, targets.extracts_bucket, ["train/", "validation/", "score/"]),
        allow(
            ["s3:GetObject"],
            [
                objects_arn(p, targets.extracts_bucket, prefix)
                for prefix in ("train/", "validation/", "score/")
            ],
            sid="ReadExtracts",
        ),
        # Models are written and read by their exact keys, never listed.
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            objects_arn(p, targets.models_bucket, "tuning/"),
            sid="ReadWriteModels",
        ),
        allow(
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            objects_arn(p, targets.output_bucket, "predictions/"),
            sid="WritePredictions",
        ),
        *sagemaker_job_monitoring_statements(
            account,
            [
                "/aws/sagemaker/TrainingJobs",
                "/aws/sagemaker/TransformJobs",
                *([f"/aws/sagemaker/Endpoints/{targets.endpoint_name}"] if targets.endpoint_name else []),
            ],
        ),
        *use_kms_key(targets.kms_key_arn),
    ]
    if targets.repository_arn:
        statements += ecr_image_pull_statements(targets.repository_arn)
    return document(*statements)


def sagemaker_job_monitoring_statements(account: Account, log_groups: list[str]) -> list[dict[str, Any]]:
    """What a SageMaker execution role needs for its jobs' logs (in SageMaker's log groups) and metrics."""
    return [
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [account.log_group(name) for name in log_groups],
            sid="WriteJobLogs",
        ),
        # PutMetricData has no resource-level permissions; the namespace condition keeps it to SageMaker's.
        allow(
            ["cloudwatch:PutMetricData"],
            "*",
            sid="PublishJobMetrics",
            StringLike={"cloudwatch:namespace": "/aws/sagemaker/*"},
        ),
    ]


# --- Function roles ---------------------------------------------------------------------------------------------


def run_metadata_function_policy(
    account: Account,
    *,
    job_name: str,
    metadata_bucket: str,
    metadata_prefix: str,
    kms_key_arn: str | None,
    log_group: str,
) -> Policy:
    """Read the finished tuning job and its best training job; write one metadata document."""
    run = f"{job_name}-*"
    return document(
        allow(
            ["sagemaker:DescribeHyperParameterTuningJob"],
            account.sagemaker("hyper-parameter-tuning-job", run),
            sid="ReadTuningJob",
        ),
        allow(
            ["sagemaker:DescribeTrainingJob"], account.sagemaker("training-job", run), sid="ReadTrainingJob"
        ),
        allow(
            ["s3:PutObject"],
            objects_arn(account.partition, metadata_bucket, metadata_prefix),
            sid="WriteMetadata",
        ),
        *use_kms_key(kms_key_arn, decrypt=False),
        write_logs([account.log_group(log_group)]),
    )


def register_model_function_policy(
    account: Account,
    *,
    model_package_group: str,
    models_bucket: str,
    models_prefix: str,
    metadata_bucket: str,
    quality_prefix: str,
    kms_key_arn: str | None,
    log_group: str,
) -> Policy:
    """Find this run's package, read the model artifact's quality report, copy it, register the package."""
    p = account.partition
    return document(
        # ListModelPackages has no resource-level permissions (Service Authorization Reference).
        allow(["sagemaker:ListModelPackages"], "*", sid="FindRegisteredPackage"),
        allow(
            ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
            model_packages(account, model_package_group),
            sid="RegisterModelPackage",
        ),
        allow(["s3:GetObject"], objects_arn(p, models_bucket, models_prefix), sid="ReadModelArtifact"),
        allow(["s3:PutObject"], objects_arn(p, metadata_bucket, quality_prefix), sid="CopyQualityReport"),
        *use_kms_key(kms_key_arn),
        write_logs([account.log_group(log_group)]),
    )


def endpoint_function_policy(
    account: Account, *, job_name: str, endpoint_name: str, log_group: str
) -> Policy:
    """Create or update one endpoint, by name, from a run's endpoint config."""
    endpoint = account.sagemaker("endpoint", endpoint_name)
    return document(
        allow(["sagemaker:DescribeEndpoint", "sagemaker:AddTags"], endpoint, sid="InspectAndTagEndpoint"),
        # Creating or updating an endpoint is authorized against both the endpoint and the config it deploys.
        allow(
            ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
            [endpoint, account.sagemaker("endpoint-config", f"{job_name}-*")],
            sid="DeployEndpoint",
        ),
        write_logs([account.log_group(log_group)]),
    )


def rename_output_function_policy(
    account: Account, *, output_bucket: str, prefix: str, kms_key_arn: str | None, log_group: str
) -> Policy:
    """Copy a batch output to its .csv name and delete the original, under the predictions prefix only.

    Listing is the whole bucket's: a retry checks for a source already renamed away, and S3 answers that HEAD
    with 404 only to a caller allowed ListBucket without a prefix condition (the request carries no prefix);
    with a prefix-scoped ListBucket it is a 403 and the retry fails."""
    p = account.partition
    return document(
        list_whole_bucket(p, output_bucket),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            objects_arn(p, output_bucket, prefix),
            sid="RenameOutput",
        ),
        *use_kms_key(kms_key_arn),
        write_logs([account.log_group(log_group)]),
    )


# --- The bring-your-own model image (model_image.py) -------------------------------------------------------------
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def ecr_image_pull_statements(repository_arn: str) -> list[dict[str, Any]]:
    """What SageMaker's execution role needs to pull the model image from its repository.

    Reading layers is scoped to the one repository. `ecr:GetAuthorizationToken` is the exception: it names
    no resource type (the token is for the whole registry), so IAM only accepts it on `*`.
    """
    return [
        allow(ECR_PULL_ACTIONS, repository_arn, sid="PullModelImage"),
        allow(["ecr:GetAuthorizationToken"], "*", sid="GetRegistryToken"),
    ]
