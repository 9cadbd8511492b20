"""Pure builders for every IAM and bucket policy document: plain strings in, dicts out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Policy = dict[str, Any]


def document(*statements: dict[str, Any]) -> Policy:
    """An IAM policy document holding `statements`."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def tls_only_bucket_policy(bucket_arn: str) -> Policy:
    """Deny every request to the bucket and its objects that does not arrive over TLS."""
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


# --- ARNs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """Where the stack deploys: the three parts every ARN needs."""

    partition: str
    region: str
    account_id: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN in this account, e.g. `arn("states", "stateMachine:x")`."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def sagemaker(self, kind: str, name: str) -> str:
        """A SageMaker resource ARN. SageMaker lowercases names in ARNs, so the policy must as well."""
        return self.arn("sagemaker", f"{kind}/{name.lower()}")

    def log_group(self, name: str) -> str:
        """A CloudWatch Logs group's ARN, covering its streams."""
        return self.arn("logs", f"log-group:{name}:*")


def bucket_arn(partition: str, bucket: str) -> str:
    """A bucket's ARN (what `s3:ListBucket` applies to)."""
    return f"arn:{partition}:s3:::{bucket}"


def objects_arn(partition: str, bucket: str, prefix: str = "") -> str:
    """The ARN of objects under a prefix (what `s3:GetObject`/`s3:PutObject` apply to)."""
    return f"arn:{partition}:s3:::{bucket}/{prefix}*"


# --- Statements ---------------------------------------------------------------------------------------------------


def allow(
    actions: list[str], resources: list[str] | str, sid: str | None = None, **condition: Any
) -> dict[str, Any]:
    """One Allow statement; `condition` is passed as the Condition block when given."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role_policy(service: str, *, source_account: str | None = None) -> Policy:
    """A trust policy for one AWS service, optionally only on behalf of one account (confused deputy)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


def list_bucket(partition: str, bucket: str, prefixes: list[str], sid: str | None = None) -> dict[str, Any]:
    """ListBucket on the bucket ARN, limited to key prefixes."""
    return allow(
        ["s3:ListBucket"],
        bucket_arn(partition, bucket),
        sid,
        StringLike={"s3:prefix": [f"{p}*" for p in prefixes]},
    )


def list_whole_bucket(partition: str, bucket: str) -> dict[str, Any]:
    """ListBucket without a prefix condition: HeadObject on a missing key then answers 404 rather than 403,
    which functions that probe for objects rely on (the request carries no s3:prefix to match)."""
    return allow(["s3:ListBucket"], bucket_arn(partition, bucket), sid="ListForNotFound")


def write_logs(log_group_arns: list[str]) -> dict[str, Any]:
    """Write to already-created log groups (the component creates them, with retention)."""
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arns, sid="WriteOwnLogs")


def use_kms_key(
    key_arn: str | None, *, decrypt: bool = True, encrypt: bool = True, via_service: str | None = None
) -> list[dict[str, Any]]:
    """Use the stores' KMS key, when there is one; only through `via_service` (e.g. S3) when given."""
    if not key_arn:
        return []
    actions = (["kms:Decrypt"] if decrypt else []) + (["kms:GenerateDataKey"] if encrypt else [])
    if via_service:
        return [allow(actions, key_arn, sid="UseStoreKey", StringEquals={"kms:ViaService": via_service})]
    return [allow(actions, key_arn, sid="UseStoreKey")]


def pass_role(role_arn: str, service: str) -> dict[str, Any]:
    """Pass exactly one role, to exactly one service."""
    return allow(
        ["iam:PassRole"], role_arn, sid="PassExecutionRole", StringEquals={"iam:PassedToService": service}
    )


# --- Training workflow roles ----------------------------------------------------------------------------------

# The EventBridge rules Step Functions manages to learn when a .sync SageMaker job ends.
_SYNC_RULES = {
    "tuning": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    "transform": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
}


@dataclass(frozen=True)
class WorkflowTargets:
    """What the training workflow's role may act on, by name or ARN."""

    job_name: str
    glue_job_name: str
    sagemaker_role_arn: str
    topic_arn: str
    function_arns: list[str]
    prediction_crawler_name: str | None  # batch mode
    endpoint_name: str | None  # endpoint mode


def state_machine_policy(account: Account, targets: WorkflowTargets, *, tracing: bool) -> Policy:
    """Exactly what the training workflow's tasks call, on the resources the run creates or uses."""
    run = f"{targets.job_name}-*"  # every SageMaker resource a run creates is named "<job_name>-<suffix>"
    tuning = account.sagemaker("hyper-parameter-tuning-job", run)
    # The tuning job starts training jobs named after itself and tags them with the run's tags.
    training = account.sagemaker("training-job", run)
    model = account.sagemaker("model", run)
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
        allow(["sagemaker:CreateModel"], model, sid="CreateModel"),
        pass_role(targets.sagemaker_role_arn, "sagemaker.amazonaws.com"),
        allow(
            ["lambda:InvokeFunction"],
            [*targets.function_arns, *(f"{a}:*" for a in targets.function_arns)],
            sid="InvokeFunctions",
        ),
        allow(["sns:Publish"], targets.topic_arn, sid="NotifyFailures"),
    ]
    tagged = [tuning, training, model]
    rules = [_SYNC_RULES["tuning"]]
    if targets.prediction_crawler_name:
        transform = account.sagemaker("transform-job", run)
        tagged.append(transform)
        rules.append(_SYNC_RULES["transform"])
        statements += [
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
    statements += [
        # Step Functions tags what it starts with .sync, and reads the tags back.
        allow(["sagemaker:AddTags", "sagemaker:ListTags"], tagged, sid="TagRunResources"),
        allow(
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [account.arn("events", f"rule/{rule}") for rule in rules],
            sid="ManageSyncRules",
        ),
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
        ),
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
    return document(*statements)


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
        list_bucket(p, targets.models_bucket, ["tuning/"]),
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
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [
                account.log_group("/aws/sagemaker/TrainingJobs"),
                account.log_group("/aws/sagemaker/TransformJobs"),
                *(
                    [account.log_group(f"/aws/sagemaker/Endpoints/{targets.endpoint_name}")]
                    if targets.endpoint_name
                    else []
                ),
            ],
            sid="WriteJobLogs",
        ),
        # PutMetricData has no resource-level permissions; the namespace condition keeps it to SageMaker's.
        allow(
            ["cloudwatch:PutMetricData"],
            "*",
            sid="PublishJobMetrics",
            StringLike={"cloudwatch:namespace": "/aws/sagemaker/*"},
        ),
        *use_kms_key(targets.kms_key_arn),
    ]
    if targets.repository_arn:
        statements += ecr_image_pull_statements(targets.repository_arn)
    return document(*statements)


# --- Function roles ---------------------------------------------------------------------------------------------


def trigger_function_policy(
    account: Account, *, feature_bucket: str, data_prefixes: list[str], state_machine_arn: str, log_group: str
) -> Policy:
    """Look at landed data and start the workflow; nothing else."""
    p = account.partition
    return document(
        list_whole_bucket(p, feature_bucket),
        allow(
            ["s3:GetObject", "s3:GetObjectVersion"],
            [objects_arn(p, feature_bucket, prefix) for prefix in data_prefixes],
            sid="InspectLandedData",
        ),
        allow(["states:StartExecution"], state_machine_arn, sid="StartWorkflow"),
        write_logs([account.log_group(log_group)]),
    )


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
    """Copy a batch output to its .csv name and delete the original, under the predictions prefix only."""
    p = account.partition
    return document(
        list_bucket(p, output_bucket, [prefix]),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            objects_arn(p, output_bucket, prefix),
            sid="RenameOutput",
        ),
        *use_kms_key(kms_key_arn),
        write_logs([account.log_group(log_group)]),
    )


# --- Glue: the ETL job and the data catalog's crawlers (mlops_component/etl.py) -------------------------------------

GLUE_SERVICE = "glue.amazonaws.com"
# Where Glue writes logs: Python shell jobs, Spark jobs (including continuous logging), and crawlers.
GLUE_PYTHON_SHELL_LOG_GROUPS = "/aws-glue/python-jobs/"
GLUE_SPARK_LOG_GROUPS = "/aws-glue/jobs/"
GLUE_CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
_CREATE_AND_WRITE_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# The catalog actions a crawler takes to create and update its tables and partitions (it never deletes:
# its schema change policy only logs deletions).
_CRAWLER_CATALOG_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
]


def glue_job_policy(
    account: Account,
    *,
    feature_bucket: str,
    source_bucket: str,
    extracts_bucket: str,
    input_prefixes: list[str],
    code_prefix: str,
    output_prefixes: list[str],
    log_group_prefix: str,
    kms_key_arn: str | None = None,
) -> Policy:
    """What the ETL job may do: read raw data and its own code, write the extracts, and log.

    It can read only the feature store's input prefixes (never write there, so it cannot start the pipeline
    again) and write only the extract prefixes. `log_group_prefix` is the job type's log group family.
    """
    p = account.partition
    return document(
        list_bucket(p, feature_bucket, input_prefixes, "ListFeatureStoreInputs"),
        allow(
            ["s3:GetObject"],
            [objects_arn(p, feature_bucket, prefix) for prefix in input_prefixes],
            sid="ReadFeatureStoreInputs",
        ),
        allow(["s3:GetObject"], objects_arn(p, source_bucket, code_prefix), sid="ReadEtlCode"),
        list_bucket(p, extracts_bucket, output_prefixes, "ListExtracts"),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            [objects_arn(p, extracts_bucket, prefix) for prefix in output_prefixes],
            sid="ReadWriteExtracts",
        ),
        allow(
            _CREATE_AND_WRITE_LOGS,
            [account.arn("logs", f"log-group:{log_group_prefix}*")],
            sid="WriteJobLogs",
        ),
        *use_kms_key(kms_key_arn, via_service=f"s3.{account.region}.amazonaws.com"),
    )


def glue_crawler_policy(
    account: Account,
    *,
    database_name: str,
    crawler_name: str,
    bucket: str,
    prefixes: list[str],
    kms_key_arn: str | None = None,
) -> Policy:
    """What one crawler may do: read its S3 prefixes, maintain tables in one database, and log."""
    p = account.partition
    log_group = account.arn("logs", f"log-group:{GLUE_CRAWLER_LOG_GROUP}")
    return document(
        list_bucket(p, bucket, prefixes, "ListCrawledPrefixes"),
        allow(
            ["s3:GetObject"],
            [objects_arn(p, bucket, prefix) for prefix in prefixes],
            sid="ReadCrawledObjects",
        ),
        allow(
            _CRAWLER_CATALOG_ACTIONS,
            [
                account.arn("glue", "catalog"),
                account.arn("glue", f"database/{database_name}"),
                account.arn("glue", f"table/{database_name}/*"),
            ],
            sid="MaintainTablesInOneDatabase",
        ),
        allow(
            _CREATE_AND_WRITE_LOGS,
            [log_group, f"{log_group}:log-stream:{crawler_name}"],
            sid="WriteCrawlerLogs",
        ),
        *use_kms_key(kms_key_arn, encrypt=False, via_service=f"s3.{account.region}.amazonaws.com"),
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
