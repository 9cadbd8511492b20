"""Pure builders for every IAM and bucket policy document: plain strings in, dicts out."""

from __future__ import annotations

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


# --- Glue: the ETL job and the data catalog's crawlers (mlops_component/etl.py) -------------------------------------

GLUE_SERVICE = "glue.amazonaws.com"
# Where Glue writes logs: Python shell jobs, Spark jobs (including continuous logging), and crawlers.
GLUE_PYTHON_SHELL_LOG_GROUPS = "/aws-glue/python-jobs/"
GLUE_SPARK_LOG_GROUPS = "/aws-glue/jobs/"
GLUE_CRAWLER_LOG_GROUP = "/aws-glue/crawlers"
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


def service_trust_policy(service: str) -> Policy:
    """A role trust policy for one AWS service principal, and nothing else.

    No aws:SourceAccount condition: Glue does not document it for role assumption, and a role is only
    handed to Glue through iam:PassRole in this account.
    """
    return document(
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"},
    )


def _log_statement(sid: str, log_group_arn_patterns: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": log_group_arn_patterns,
    }


def _kms_statement(kms_key_arn: str, region: str, s3_actions: list[str]) -> dict[str, Any]:
    """Use of the buckets' KMS key, only through S3 (SSE-KMS with a bucket key)."""
    return {
        "Sid": "UseBucketKeyThroughS3",
        "Effect": "Allow",
        "Action": s3_actions,
        "Resource": kms_key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
    }


def glue_job_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    feature_store_arn: str,
    source_repository_arn: str,
    extracts_arn: str,
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
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListFeatureStoreInputs",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": feature_store_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in input_prefixes]}},
        },
        {
            "Sid": "ReadFeatureStoreInputs",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"{feature_store_arn}/{p}*" for p in input_prefixes],
        },
        {
            "Sid": "ReadEtlCode",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{source_repository_arn}/{code_prefix}*",
        },
        {
            "Sid": "ListExtracts",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": extracts_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in output_prefixes]}},
        },
        {
            "Sid": "ReadWriteExtracts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{extracts_arn}/{p}*" for p in output_prefixes],
        },
        _log_statement(
            "WriteJobLogs", [f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_prefix}*"]
        ),
    ]
    if kms_key_arn:
        statements.append(_kms_statement(kms_key_arn, region, ["kms:Decrypt", "kms:GenerateDataKey"]))
    return document(*statements)


def glue_crawler_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    database_name: str,
    crawler_name: str,
    bucket_arn: str,
    prefixes: list[str],
    kms_key_arn: str | None = None,
) -> Policy:
    """What one crawler may do: read its S3 prefixes, maintain tables in one database, and log."""
    glue_arn = f"arn:{partition}:glue:{region}:{account_id}"
    log_group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{GLUE_CRAWLER_LOG_GROUP}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListCrawledPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        },
        {
            "Sid": "ReadCrawledObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"{bucket_arn}/{p}*" for p in prefixes],
        },
        {
            "Sid": "MaintainTablesInOneDatabase",
            "Effect": "Allow",
            "Action": _CRAWLER_CATALOG_ACTIONS,
            "Resource": [
                f"{glue_arn}:catalog",
                f"{glue_arn}:database/{database_name}",
                f"{glue_arn}:table/{database_name}/*",
            ],
        },
        _log_statement("WriteCrawlerLogs", [log_group, f"{log_group}:log-stream:{crawler_name}"]),
    ]
    if kms_key_arn:
        statements.append(_kms_statement(kms_key_arn, region, ["kms:Decrypt"]))
    return document(*statements)
