"""Policies of the processing pipeline (seed 004): its jobs, its state machine, and starting it."""

from __future__ import annotations

from mlops_component.builders.iam.statements import (
    Account,
    Policy,
    allow,
    document,
    list_bucket,
    objects_arn,
    pass_role,
    use_kms_key,
)
from mlops_component.builders.iam.training_workflow import (
    ecr_image_pull_statements,
    execution_log_statements,
    sagemaker_job_monitoring_statements,
)

PROCESSING_JOB_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
# The EventBridge rule Step Functions manages to learn when a .sync processing job ends.
_PROCESSING_SYNC_RULE = "StepFunctionsGetEventsForSageMakerProcessingJobsRule"


def processing_job_policy(
    account: Account,
    *,
    read: list[tuple[str, str]],
    write: list[tuple[str, str]],
    repository_arn: str | None,
    kms_key_arn: str | None,
) -> Policy:
    """The role the processing jobs run as: read and write exactly the given (bucket, prefix) areas, pull the
    inference image, write the jobs' logs and metrics.

    The scripts' framework image is SageMaker's own, which SageMaker pulls with its own credentials.
    """
    p = account.partition
    prefixes_by_bucket: dict[str, list[str]] = {}
    for bucket, prefix in [*read, *write]:
        prefixes_by_bucket.setdefault(bucket, [])
        if prefix not in prefixes_by_bucket[bucket]:
            prefixes_by_bucket[bucket].append(prefix)
    statements = [
        # Downloading an S3Prefix input lists the prefix first.
        *(list_bucket(p, bucket, prefixes) for bucket, prefixes in prefixes_by_bucket.items()),
        allow(
            ["s3:GetObject"], [objects_arn(p, bucket, prefix) for bucket, prefix in read], sid="ReadInputs"
        ),
        allow(
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [objects_arn(p, bucket, prefix) for bucket, prefix in write],
            sid="WriteOutputs",
        ),
        *sagemaker_job_monitoring_statements(account, [PROCESSING_JOB_LOG_GROUP]),
        *use_kms_key(kms_key_arn),
    ]
    if repository_arn:
        statements += ecr_image_pull_statements(repository_arn)
    return document(*statements)


def processing_state_machine_policy(
    account: Account, *, job_name: str, role_arn: str, topic_arn: str, tracing: bool
) -> Policy:
    """Exactly what the processing pipeline's tasks call: its own processing jobs, the one role, the topic."""
    jobs = account.sagemaker("processing-job", f"{job_name}-*")
    return document(
        allow(
            [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                # Step Functions tags what it starts with .sync, and reads the tags back.
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            jobs,
            sid="RunProcessingJobs",
        ),
        # Input may name only this role (the definition refuses others), so only this role can be passed.
        pass_role(role_arn, "sagemaker.amazonaws.com"),
        allow(
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            account.arn("events", f"rule/{_PROCESSING_SYNC_RULE}"),
            sid="ManageSyncRules",
        ),
        allow(["sns:Publish"], topic_arn, sid="NotifyFailures"),
        *execution_log_statements(tracing=tracing),
    )


def start_processing_policy(account: Account, state_machine_name: str) -> Policy:
    """What a person or CI role needs to start the processing pipeline and follow its runs; nothing else.

    Runs act with the state machine's own role, so starting one passes no role and reaches no data.
    """
    machine = account.arn("states", f"stateMachine:{state_machine_name}")
    # A standard machine's runs; it has no map runs or express executions, so no ARN names them.
    executions = account.arn("states", f"execution:{state_machine_name}:*")
    return document(
        allow(
            ["states:StartExecution", "states:DescribeStateMachine"], machine, sid="StartProcessingPipeline"
        ),
        allow(["states:ListExecutions"], machine, sid="ListProcessingRuns"),
        allow(
            ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
            executions,
            sid="FollowProcessingRuns",
        ),
    )
