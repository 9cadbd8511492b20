"""Policies of the development environment: the notebook and Glue interactive sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_component.builders.iam.statements import (
    Account,
    Policy,
    allow,
    bucket_arn,
    document,
    list_bucket,
    objects_arn,
    pass_role,
    use_kms_key,
)

# Every notebook instance writes its lifecycle and Jupyter logs to this account-wide group.
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"
# Glue interactive sessions log under /aws-glue/ (the scope of AWS's own AWSGlueServiceRole).
GLUE_LOG_GROUPS = "log-group:/aws-glue/*"
# Browsing the catalog, and planning a query: on a partitioned table Athena lists the partitions it keeps, then
# fetches them by name (it never reads a single partition, GetPartition).
_CATALOG_READ = [
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
]
# What the Glue interactive sessions kernel (aws-glue-sessions) calls on the sessions it starts: create one tagged
# with its owner (tagging on create is authorized as TagResource too), poll it, run and poll each cell's statement,
# cancel one on an interrupt, read the session's tags for %status, and stop it. It never deletes a session or lists
# statements, so neither is granted.
_GLUE_SESSION_ACTIONS = [
    "glue:CreateSession",
    "glue:TagResource",
    "glue:GetSession",
    "glue:GetTags",
    "glue:RunStatement",
    "glue:GetStatement",
    "glue:CancelStatement",
    "glue:StopSession",
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
    return document(
        *_lake_statements(account, targets.lake, land_data=True),
        *_store_statements(account, targets),
        *_athena_statements(account, targets),
        *_own_notebook_statements(account, targets),
        *_crawler_and_git_statements(account, targets),
        *_pipeline_statements(account, targets),
    )


def _store_statements(account: Account, targets: NotebookTargets) -> list[dict[str, Any]]:
    """Read the pipeline's other stores, and fetch the notebook's bundle."""
    p = account.partition
    return [
        allow(["s3:ListBucket"], [bucket_arn(p, b) for b in targets.read_buckets], sid="ListStores"),
        allow(["s3:GetObject"], [objects_arn(p, b) for b in targets.read_buckets], sid="ReadStores"),
        list_bucket(p, targets.bundle_bucket, [targets.bundle_prefix]),
        allow(
            ["s3:GetObject"],
            objects_arn(p, targets.bundle_bucket, targets.bundle_prefix),
            sid="FetchNotebookBundle",
        ),
    ]


def _athena_statements(account: Account, targets: NotebookTargets) -> list[dict[str, Any]]:
    """Query the lake in the workgroup, writing results to its results prefix."""
    p = account.partition
    return [
        # Athena writes query results with the caller's credentials, and checks the bucket's region first.
        allow(
            ["s3:GetBucketLocation"], bucket_arn(p, targets.athena_results_bucket), sid="LocateQueryResults"
        ),
        allow(
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            objects_arn(p, targets.athena_results_bucket, targets.athena_results_prefix),
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
    ]


def _own_notebook_statements(account: Account, targets: NotebookTargets) -> list[dict[str, Any]]:
    """Read the pipeline's tuning runs, stop this notebook when idle, and write its logs."""
    return [
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


def _crawler_and_git_statements(account: Account, targets: NotebookTargets) -> list[dict[str, Any]]:
    """Re-crawl the lake, and pull and push the project repository, for whichever of them exist."""
    statements = []
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
    return statements


def _pipeline_statements(account: Account, targets: NotebookTargets) -> list[dict[str, Any]]:
    """Start and follow runs, call the endpoint, and run Glue sessions, for whichever of them exist."""
    statements = []
    if targets.state_machine_arn:
        machine = targets.state_machine_arn
        run = machine.split(":stateMachine:", 1)[1]
        statements += [
            allow(["states:StartExecution"], machine, sid="StartRuns"),
            # The workflow is a standard state machine (its .sync integrations need one), so its runs are
            # `execution:` ARNs; an express machine's `express:` ARNs never name one of its runs.
            allow(
                ["states:DescribeExecution", "states:GetExecutionHistory"],
                account.arn("states", f"execution:{run}:*"),
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
    return statements


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
