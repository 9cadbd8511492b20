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
    ]
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


# --- Development environment roles (mlops_component/dev_environment.py) ---------------------------------------

# Every notebook instance writes its lifecycle and Jupyter logs to this account-wide group.
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"
# Glue interactive sessions log under /aws-glue/ (the scope of AWS's own AWSGlueServiceRole).
GLUE_LOG_GROUPS = "log-group:/aws-glue/*"
_CATALOG_READ = [
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
]
# What the Glue interactive sessions kernel calls on the sessions it starts.
_GLUE_SESSION_ACTIONS = [
    "glue:CreateSession",
    "glue:GetSession",
    "glue:StopSession",
    "glue:DeleteSession",
    "glue:RunStatement",
    "glue:GetStatement",
    "glue:ListStatements",
    "glue:CancelStatement",
    "glue:TagResource",
]


@dataclass(frozen=True)
class LakeTargets:
    """The small data lake: the feature store's data, a sandbox prefix, and the catalog database over them."""

    feature_bucket: str
    data_prefixes: list[str]  # raw data the crawler catalogs; writing here starts a pipeline run
    sandbox_prefix: str  # scratch space for exploration; no trigger watches it
    database_name: str
    kms_key_arn: str | None


def catalog_arns(account: Account, database_name: str) -> list[str]:
    """The Glue catalog, one database and its tables (catalog actions are authorized against all three)."""
    return [
        account.arn("glue", "catalog"),
        account.arn("glue", f"database/{database_name}"),
        account.arn("glue", f"table/{database_name}/*"),
    ]


def _lake_statements(account: Account, lake: LakeTargets, *, land_data: bool) -> list[dict[str, Any]]:
    """Read the raw data, read/write the sandbox, read the catalog; `land_data` also allows writing raw data."""
    p = account.partition
    data = [objects_arn(p, lake.feature_bucket, prefix) for prefix in lake.data_prefixes]
    sandbox = objects_arn(p, lake.feature_bucket, lake.sandbox_prefix)
    data_actions = (
        ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"] if land_data else ["s3:GetObject"]
    )
    return [
        list_bucket(p, lake.feature_bucket, [*lake.data_prefixes, lake.sandbox_prefix]),
        allow(data_actions, data, sid="LandedData"),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            sandbox,
            sid="Sandbox",
        ),
        allow(_CATALOG_READ, catalog_arns(account, lake.database_name), sid="ReadCatalog"),
        *use_kms_key(lake.kms_key_arn),
    ]


@dataclass(frozen=True)
class NotebookTargets:
    """What the notebook's role may act on, by name or ARN."""

    notebook_name: str
    job_name: str
    lake: LakeTargets
    read_buckets: list[str]  # the pipeline's other stores, read-only
    bundle_bucket: str
    bundle_prefix: str
    athena_workgroup: str
    athena_results_bucket: str
    athena_results_prefix: str
    crawler_name: str | None
    codecommit_repository_arn: str | None  # the created repository, or None with an existing one
    git_secret_arn: str | None  # the existing repository's credentials
    state_machine_arn: str | None
    endpoint_name: str | None
    glue_session_role_arn: str | None  # set when Glue interactive sessions are enabled


def notebook_policy(account: Account, targets: NotebookTargets) -> Policy:
    """The data scientist's notebook: explore the lake, drive the pipeline, use git, and stop itself when idle."""
    p = account.partition
    results = targets.athena_results_prefix
    statements = [
        *_lake_statements(account, targets.lake, land_data=True),
        allow(["s3:ListBucket"], [bucket_arn(p, b) for b in targets.read_buckets], sid="ListStores"),
        allow(["s3:GetObject"], [objects_arn(p, b) for b in targets.read_buckets], sid="ReadStores"),
        list_bucket(p, targets.bundle_bucket, [targets.bundle_prefix]),
        allow(
            ["s3:GetObject"],
            objects_arn(p, targets.bundle_bucket, targets.bundle_prefix),
            sid="FetchNotebookBundle",
        ),
        # Athena writes query results with the caller's credentials, and checks the bucket's region first.
        allow(
            ["s3:GetBucketLocation"], bucket_arn(p, targets.athena_results_bucket), sid="LocateQueryResults"
        ),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            objects_arn(p, targets.athena_results_bucket, results),
            sid="WriteQueryResults",
        ),
        allow(
            [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            account.arn("athena", f"workgroup/{targets.athena_workgroup}"),
            sid="QueryWithAthena",
        ),
        allow(
            [
                "athena:GetDataCatalog",
                "athena:ListDatabases",
                "athena:ListTableMetadata",
                "athena:GetTableMetadata",
            ],
            account.arn("athena", "datacatalog/AwsDataCatalog"),
            sid="BrowseCatalogInAthena",
        ),
        allow(
            [
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                "sagemaker:DescribeTrainingJob",
            ],
            [
                account.sagemaker("hyper-parameter-tuning-job", f"{targets.job_name}-*"),
                account.sagemaker("training-job", f"{targets.job_name}-*"),
            ],
            sid="ReadRuns",
        ),
        # The idle auto-stop reads this notebook's state and stops it; the lifecycle scripts read its tags.
        allow(
            ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance", "sagemaker:ListTags"],
            account.sagemaker("notebook-instance", targets.notebook_name),
            sid="ManageOwnNotebook",
        ),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            account.log_group(NOTEBOOK_LOG_GROUP),
            sid="WriteNotebookLogs",
        ),
    ]
    if targets.crawler_name:
        statements.append(
            allow(
                ["glue:StartCrawler", "glue:GetCrawler"],
                account.arn("glue", f"crawler/{targets.crawler_name}"),
                sid="RecrawlLake",
            )
        )
    if targets.codecommit_repository_arn:
        statements.append(
            allow(
                ["codecommit:GitPull", "codecommit:GitPush"],
                targets.codecommit_repository_arn,
                sid="UseRepository",
            )
        )
    if targets.git_secret_arn:
        statements.append(
            allow(["secretsmanager:GetSecretValue"], targets.git_secret_arn, sid="ReadGitCredentials")
        )
    if targets.state_machine_arn:
        machine = targets.state_machine_arn
        run = machine.split(":stateMachine:", 1)[1]
        statements += [
            allow(["states:StartExecution"], machine, sid="StartRuns"),
            # Execution ARNs are "execution:" for standard machines and "express:" for express ones; IAM
            # authorizes DescribeExecution against both kinds, so both are named.
            allow(
                ["states:DescribeExecution", "states:GetExecutionHistory"],
                [account.arn("states", f"execution:{run}:*"), account.arn("states", f"express:{run}:*:*")],
                sid="FollowRuns",
            ),
        ]
    if targets.endpoint_name:
        statements.append(
            allow(
                ["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"],
                account.sagemaker("endpoint", targets.endpoint_name),
                sid="CallEndpoint",
            )
        )
    if targets.glue_session_role_arn:
        statements += [
            allow(_GLUE_SESSION_ACTIONS, account.arn("glue", "session/*"), sid="RunGlueSessions"),
            # ListSessions has no resource type to scope it to.
            allow(["glue:ListSessions"], "*", sid="ListGlueSessions"),
            pass_role(targets.glue_session_role_arn, "glue.amazonaws.com"),
        ]
    return document(*statements)


def glue_session_policy(account: Account, *, lake: LakeTargets, extracts_bucket: str) -> Policy:
    """What a Glue interactive session's Spark code may do: read the lake and the extracts, write the sandbox."""
    p = account.partition
    return document(
        *_lake_statements(account, lake, land_data=False),
        allow(["s3:ListBucket"], bucket_arn(p, extracts_bucket), sid="ListExtracts"),
        allow(["s3:GetObject"], objects_arn(p, extracts_bucket), sid="ReadExtracts"),
        allow(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            account.arn("logs", GLUE_LOG_GROUPS),
            sid="WriteSessionLogs",
        ),
    )


# --- The processing pipeline (seed 004; mlops_component/processing.py) ---------------------------------------------

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
    executions = account.arn("states", f"execution:{state_machine_name}:*")
    # IAM also authorizes these actions on a machine's map runs and express executions; this standard machine
    # has neither, and the ARNs name only it.
    map_runs = account.arn("states", f"mapRun:{state_machine_name}/*")
    express = account.arn("states", f"express:{state_machine_name}:*")
    return document(
        allow(
            ["states:StartExecution", "states:DescribeStateMachine"], machine, sid="StartProcessingPipeline"
        ),
        allow(["states:ListExecutions"], [machine, map_runs], sid="ListProcessingRuns"),
        allow(
            ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
            [executions, express],
            sid="FollowProcessingRuns",
        ),
    )
