"""Policies of the Glue ETL job and the data catalog's crawlers (mlops_component/components/etl.py)."""

from __future__ import annotations

from mlops_component.builders.iam.statements import (
    Account,
    Policy,
    allow,
    document,
    list_bucket,
    objects_arn,
    use_kms_key,
)

GLUE_SERVICE = "glue.amazonaws.com"
# Where Glue writes logs: Python shell jobs, Spark jobs (including continuous logging), and crawlers.
GLUE_PYTHON_SHELL_LOG_GROUPS = "/aws-glue/python-jobs/"
GLUE_SPARK_LOG_GROUPS = "/aws-glue/jobs/"
GLUE_CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
_CREATE_AND_WRITE_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# The catalog actions a crawler takes to create and update its tables and partitions. It works on partitions in
# batches (found ones looked up, new ones created, old ones rewritten to the table's schema), so the one-partition
# forms are not granted; it never deletes: its schema change policy only logs deletions.
_CRAWLER_CATALOG_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetTables",
    "glue:GetTable",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:BatchCreatePartition",
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
        list_bucket(p, feature_bucket, input_prefixes, sid="ListFeatureStoreInputs"),
        allow(
            ["s3:GetObject"],
            [objects_arn(p, feature_bucket, prefix) for prefix in input_prefixes],
            sid="ReadFeatureStoreInputs",
        ),
        allow(["s3:GetObject"], objects_arn(p, source_bucket, code_prefix), sid="ReadEtlCode"),
        list_bucket(p, extracts_bucket, output_prefixes, sid="ListExtracts"),
        allow(
            # DeleteObject: the ETL removes its scratch objects, and a promoted key when it puts a set back.
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
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
        list_bucket(p, bucket, prefixes, sid="ListCrawledPrefixes"),
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
        # IAM authorizes CreateLogGroup on the group's ARN with its trailing `:*` (CloudWatch Logs API
        # reference, LogGroup.arn); writing is scoped to the crawler's own stream.
        allow(["logs:CreateLogGroup"], f"{log_group}:*", sid="CreateCrawlerLogGroup"),
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"{log_group}:log-stream:{crawler_name}",
            sid="WriteCrawlerLogs",
        ),
        *use_kms_key(kms_key_arn, encrypt=False, via_service=f"s3.{account.region}.amazonaws.com"),
    )
