"""The Glue part of the pipeline: the ETL job that turns raw feature-store CSVs into extracts, and the catalog.

- The job runs `etl/transform.py` (uploaded by `DataStores`) as a Python shell job (Python 3.9, the
  `analytics` library set, 0.0625 DPU by default) or, with `glue_job_spark_flag`, as a Spark job on a current
  Glue version, which runs `etl/spark_transform.py` (uploaded here) with `transform.py` as `--extra-py-files`.
  Its default arguments are the data contract's (docs/data-contract.md); the workflow passes
  the per-run keys. An optional wheel (`whl_path`) is uploaded next to the script and given to the job, and
  `glue_additional_python_modules` are installed by Glue's pip.
- A catalog database, a crawler over the output store's `predictions/` (the workflow starts it after each
  batch run, so Athena can query predictions) and, optionally, one over the feature store's raw data.
- One IAM role per job or crawler, trusted only by Glue, each with a least-privilege inline policy from
  `iam/glue.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.components.aws_account import account_or_lookup
from mlops_component.components.data_stores import file_sha256, upload_file
from mlops_component.config.base import KmsKeyArn, LocalFile

# The Glue version AWS lists for Python shell 3.9 jobs (Glue ignores the setting for Python shell otherwise).
PYTHON_SHELL_GLUE_VERSION = "3.0"
PYTHON_SHELL_PYTHON_VERSION = "3.9"
# With the Spark flag, the job runs this script when it sits next to `script_path` (the shipped pair does):
# the DataFrame version of the transform, which imports `script_path` (given to Glue as `--extra-py-files`).
SPARK_SCRIPT = "spark_transform.py"
# Batch Transform writes `<id>,<probability>` lines without a header; the classifier names the columns.
PREDICTION_COLUMNS = ["id", "probability"]

# Builds a role's policy from the account and every store's bucket name.
PolicyBuilder = Callable[[iam.Account, dict[str, str]], iam.Policy]


def job_default_arguments(
    *,
    spark: bool,
    source_bucket: str,
    destination_bucket: str,
    inference_type: str,
    output_layout: str,
    wheel_uri: str | None,
    python_modules: list[str],
    glue_version: str = "5.0",
    score_parts: int = 1,
    validation: bool = False,
) -> dict[str, str]:
    """The job's default arguments: the contract's fixed ones, plus Glue's own for the job type.

    A Python shell job gets the `analytics` library set and the wheel as `--extra-py-files` (the way AWS
    documents wheels for Python shell); a Spark job installs the wheel with pip, through
    `--additional-python-modules`, and logs continuously (Glue 5.0 always does; the argument exists up to 4.0,
    see "Enabling continuous logging for AWS Glue 4.0 and earlier jobs"). Job bookmarks are off: every run reads its own keys.
    """
    arguments = {
        "--source_bucket": source_bucket,
        "--destination_bucket": destination_bucket,
        "--inference_type": inference_type,
        "--output_layout": output_layout,
        "--score_parts": str(score_parts),
        "--validation": "true" if validation else "false",
        "--job-language": "python",
    }
    modules = list(python_modules)
    if spark:
        if float(glue_version) < 5.0:
            arguments["--enable-continuous-cloudwatch-log"] = "true"
        arguments["--job-bookmark-option"] = "job-bookmark-disable"
        if wheel_uri:
            modules.append(wheel_uri)
    else:
        arguments["library-set"] = "analytics"
        if wheel_uri:
            arguments["--extra-py-files"] = wheel_uri
    if modules:
        arguments["--additional-python-modules"] = ",".join(modules)
    return arguments


def spark_script_path(script_path: str) -> Path | None:
    """The Spark script that pairs with `script_path`, or None: a script of your own then runs as it is."""
    candidate = Path(script_path).with_name(SPARK_SCRIPT)
    return candidate if candidate.is_file() and candidate != Path(script_path) else None


def crawler_configuration() -> dict[str, Any]:
    """Crawler settings: one table per crawled folder, whose partitions follow the table's schema."""
    return {
        "Version": 1.0,
        "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
        "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
    }


def catalog_database_name(name_prefix: str) -> str:
    """The Glue database: catalog names take lowercase letters, digits and underscores only."""
    return f"{name_prefix}_mlops".replace("-", "_")


# The feature store's tables are named after their folder: features_train, features_score.
FEATURE_TABLE_PREFIX = "features_"
# Glue can take minutes to find capacity before a run's own timeout starts counting.
_START_UP_ALLOWANCE_SECONDS = 600


def task_timeout_seconds(job_timeout_minutes: int) -> int:
    """How long the workflow waits for a job run: the run it started (not Glue's own retries of it)."""
    return job_timeout_minutes * 60 + _START_UP_ALLOWANCE_SECONDS


@dataclass(frozen=True)
class EtlArgs:
    """What `Etl` needs: the buckets it reads and writes, the uploaded script, and the job's settings."""

    name_prefix: str
    """Prefix of the job, database, classifier and crawler names."""
    job_name: str
    """The Glue job's name, without the prefix (it is named `<prefix>-<job_name>`)."""
    feature_store_bucket: pulumi.Input[str]
    """Bucket the raw CSVs land in (`train/`, `score/`); the job reads it."""
    source_bucket: pulumi.Input[str]
    """Bucket the script (and wheel) are in; the job reads its code from it."""
    extracts_bucket: pulumi.Input[str]
    """Bucket the job writes the model-ready extracts to."""
    output_bucket: pulumi.Input[str]
    """Bucket whose `predictions/` the predictions crawler catalogs."""
    script_key: pulumi.Input[str]
    """Key of the job's script in `source_bucket`."""
    inference_type: Literal["batch", "endpoint"]
    """`batch` or `endpoint`: which extracts the job writes (a job argument of the data contract)."""
    output_layout: Literal["byo", "builtin"]
    """`byo` or `builtin`: the extracts' layout, for the own image or a built-in algorithm."""
    timeout_minutes: int
    """The job's own timeout."""
    max_retries: int
    """How often Glue retries a failed run."""
    spark: bool = False
    """A Spark job (`glueetl`) instead of a Python shell job."""
    spark_script_path: LocalFile | None = None
    """With `spark`: a Spark script, uploaded here, that the job runs importing the script (`--extra-py-files`)."""
    glue_version: str = "5.0"
    """Glue version of a Spark job (a Python shell job always runs on Glue 3.0, Python 3.9)."""
    worker_type: str = "G.1X"
    """Worker type of a Spark job."""
    number_of_workers: int = 2
    """Number of workers of a Spark job."""
    python_shell_capacity: float = 0.0625
    """DPUs of a Python shell job."""
    score_parts: int = 1
    """How many parts the score extract is written in: Batch Transform's instance count, so each gets a file."""
    validation: bool = False
    """Also write the validation holdout (`validation/`), for workflows with a validation channel."""
    wheel_path: LocalFile | None = None
    """A local wheel uploaded next to the script and given to the job."""
    additional_python_modules: Sequence[str] = field(default_factory=list)
    """Modules Glue installs with pip before the job runs."""
    crawl_feature_store: bool = False
    """Also catalog the feature store's raw data (`train/`, `score/`) with a crawler of its own."""
    kms_key_arn: KmsKeyArn | None = None
    """KMS key the buckets are encrypted with, which the roles may use through S3."""
    account: pulumi.Input[iam.Account] | None = None
    """The account and region ARNs are built for; looked up from the AWS provider when None."""


class Etl(pulumi.ComponentResource):
    """The Glue ETL job, its roles, and the Glue data catalog the pipeline's outputs land in."""

    job_name: pulumi.Output[str]
    """Name of the Glue job the workflow starts (`glue:startJobRun.sync`)."""
    job_arn: pulumi.Output[str]
    """ARN of the Glue job, for the workflow role's permissions."""
    job_role_arn: pulumi.Output[str]
    """ARN of the role the job runs as."""
    database_name: pulumi.Output[str]
    """The Glue catalog database that holds the predictions table (and the raw data tables, if crawled)."""
    prediction_crawler_name: pulumi.Output[str]
    """Name of the crawler over the output store's `predictions/`, which the workflow starts after batch runs."""
    prediction_crawler_arn: pulumi.Output[str]
    """ARN of the predictions crawler, for the workflow role's permissions."""
    crawler_role_arns: pulumi.Output[list[str]]
    """ARNs of the crawlers' roles."""
    feature_store_crawler_name: pulumi.Output[str] | None
    """Name of the crawler over the feature store's raw data, when `crawl_feature_store` is set."""
    feature_store_crawler_arn: pulumi.Output[str] | None
    """ARN of the feature store crawler, when `crawl_feature_store` is set."""
    wheel_key: pulumi.Output[str] | None
    """Source-repository key of the uploaded `whl_path` wheel, when one is set."""
    timeout_seconds: int
    """The longest one run of the job can take, start-up included: how long the workflow waits for it."""

    def __init__(self, name: str, args: EtlArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Etl", name, None, opts)
        self._args = args
        self._account = account_or_lookup(args.account, self)
        self._buckets: dict[naming.Store, pulumi.Input[str]] = {
            "feature_store": args.feature_store_bucket,
            "source_repository": args.source_bucket,
            "extracts": args.extracts_bucket,
            "output": args.output_bucket,
        }

        wheel_uri = self._wheel(name)
        job, job_role = self._job(name, wheel_uri)
        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=catalog_database_name(args.name_prefix),
            description="MLOps pipeline outputs (mlops-component): batch predictions, and raw data if crawled.",
            opts=pulumi.ResourceOptions(parent=self),
        )
        predictions = self._predictions_crawler(name, database)
        crawlers = [predictions]
        self.feature_store_crawler_name = self.feature_store_crawler_arn = None
        if args.crawl_feature_store:
            features = self._feature_store_crawler(name, database)
            crawlers.append(features)
            self.feature_store_crawler_name = features[0].name
            self.feature_store_crawler_arn = features[0].arn

        self.timeout_seconds = task_timeout_seconds(args.timeout_minutes)
        self.job_name = job.name
        self.job_arn = job.arn
        self.job_role_arn = job_role.arn
        self.database_name = database.name
        self.prediction_crawler_name = predictions[0].name
        self.prediction_crawler_arn = predictions[0].arn
        self.crawler_role_arns = pulumi.Output.all(*(role.arn for _, role in crawlers)).apply(list)
        self.register_outputs(
            {
                "job_name": self.job_name,
                "job_arn": self.job_arn,
                "database_name": self.database_name,
                "prediction_crawler_name": self.prediction_crawler_name,
                "prediction_crawler_arn": self.prediction_crawler_arn,
            }
        )

    def _wheel(self, name: str) -> pulumi.Output[str] | None:
        """Upload `wheel_path` next to the script; its S3 URI, or None without a wheel."""
        self.wheel_key = None
        path = self._args.wheel_path
        if not path:
            return None
        source = self._args.source_bucket
        wheel = aws.s3.BucketObjectv2(
            f"{name}-wheel",
            bucket=source,
            key=layout.WHEEL_PREFIX + Path(path).name,
            source=pulumi.FileAsset(path),
            source_hash=file_sha256(path),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.wheel_key = wheel.key
        return pulumi.Output.concat("s3://", source, "/", wheel.key)

    def _job(self, name: str, wheel_uri: pulumi.Output[str] | None) -> tuple[aws.glue.Job, aws.iam.Role]:
        """The Glue job and the role it runs as."""
        args = self._args
        spark = args.spark
        job_role, job_opts = self._role(
            f"{name}-job",
            lambda account, buckets: iam.glue_job_policy(
                account,
                feature_bucket=buckets["feature_store"],
                source_bucket=buckets["source_repository"],
                extracts_bucket=buckets["extracts"],
                input_prefixes=[layout.TRAIN_PREFIX, layout.SCORE_PREFIX],
                code_prefix=layout.ETL_CODE_PREFIX,
                output_prefixes=layout.EXTRACT_PREFIXES,
                log_group_prefix=iam.GLUE_SPARK_LOG_GROUPS if spark else iam.GLUE_PYTHON_SHELL_LOG_GROUPS,
                kms_key_arn=args.kms_key_arn,
            ),
        )
        script_uri = pulumi.Output.concat("s3://", args.source_bucket, "/", args.script_key)
        job_script, module = self._spark_script(name, script_uri)
        arguments = pulumi.Output.all(
            source=args.feature_store_bucket, destination=args.extracts_bucket, wheel=wheel_uri, module=module
        ).apply(
            lambda v: {
                **({"--extra-py-files": v["module"]} if v["module"] else {}),
                **job_default_arguments(
                    spark=spark,
                    source_bucket=v["source"],
                    destination_bucket=v["destination"],
                    inference_type=args.inference_type,
                    output_layout=args.output_layout,
                    wheel_uri=v["wheel"],
                    python_modules=list(args.additional_python_modules),
                    glue_version=args.glue_version,
                    score_parts=args.score_parts,
                    validation=args.validation,
                ),
            }
        )
        runtime: dict[str, Any] = (
            {
                "glue_version": args.glue_version,
                "worker_type": args.worker_type,
                "number_of_workers": args.number_of_workers,
            }
            if spark
            else {"glue_version": PYTHON_SHELL_GLUE_VERSION, "max_capacity": args.python_shell_capacity}
        )
        job = aws.glue.Job(
            f"{name}-job",
            name=naming.resource_name(args.name_prefix, args.job_name),
            description="Turns raw feature-store CSVs into model-ready extracts (mlops-component).",
            role_arn=job_role.arn,
            command={
                "name": "glueetl" if spark else "pythonshell",
                "python_version": "3" if spark else PYTHON_SHELL_PYTHON_VERSION,
                "script_location": job_script,
            },
            default_arguments=arguments,
            # The extracts have fixed keys, so two runs at once would race; the workflow runs one at a time.
            execution_property={"max_concurrent_runs": 1},
            timeout=args.timeout_minutes,
            max_retries=args.max_retries,
            opts=job_opts,
            **runtime,
        )
        return job, job_role

    def _spark_script(
        self, name: str, script_uri: pulumi.Output[str]
    ) -> tuple[pulumi.Output[str], pulumi.Output[str] | None]:
        """The job's script and the module it imports (`--extra-py-files`), if any.

        A Spark job with `spark_script_path` runs that script (uploaded here) and imports the script; any
        other job runs the script itself.
        """
        path = self._args.spark_script_path
        if not (self._args.spark and path):
            return script_uri, None
        source = self._args.source_bucket
        key = upload_file(f"{name}-spark-script", source, layout.ETL_CODE_PREFIX, str(path), self)
        return pulumi.Output.concat("s3://", source, "/", key), script_uri

    def _predictions_crawler(
        self, name: str, database: aws.glue.CatalogDatabase
    ) -> tuple[aws.glue.Crawler, aws.iam.Role]:
        """The crawler over the output store's `predictions/`, with a classifier that names the columns."""
        prefix = self._args.name_prefix
        classifier = aws.glue.Classifier(
            f"{name}-predictions-csv",
            name=naming.resource_name(prefix, "predictions-csv"),
            csv_classifier={
                "contains_header": "ABSENT",
                "delimiter": ",",
                "quote_symbol": '"',
                "headers": PREDICTION_COLUMNS,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return self._crawler(
            f"{name}-predictions-crawler",
            crawler_name=naming.resource_name(prefix, naming.PREDICTIONS_CRAWLER),
            database=database,
            store="output",
            prefixes=[layout.PREDICTIONS_PREFIX],
            classifiers=[classifier.name],
            description="Catalogs batch predictions (predictions/run=<run>/) for Athena.",
        )

    def _feature_store_crawler(
        self, name: str, database: aws.glue.CatalogDatabase
    ) -> tuple[aws.glue.Crawler, aws.iam.Role]:
        """The crawler over the feature store's raw data: the dev environment's data lake."""
        return self._crawler(
            f"{name}-feature-store-crawler",
            crawler_name=naming.resource_name(self._args.name_prefix, "feature-store-crawler"),
            database=database,
            store="feature_store",
            prefixes=[layout.TRAIN_PREFIX, layout.SCORE_PREFIX],
            classifiers=[],
            description="Catalogs the raw training and scoring data in the feature store; run it after "
            "landing new files.",
            table_prefix=FEATURE_TABLE_PREFIX,
        )

    def _role(self, name: str, policy: PolicyBuilder) -> tuple[aws.iam.Role, pulumi.ResourceOptions]:
        """A role only Glue can assume, with one inline policy built from the account ids and bucket ARNs.

        `policy(account, buckets)` gets the account and every store's bucket name. Also returns
        the options for the role's user, which waits for the policy so that its first run has its permissions.
        """
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(iam.assume_role_policy(iam.GLUE_SERVICE)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        buckets = pulumi.Output.all(**self._buckets)
        inline = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(self._account, buckets).apply(lambda values: policy(values[0], values[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role, pulumi.ResourceOptions(parent=self, depends_on=[inline])

    def _crawler(
        self,
        name: str,
        *,
        crawler_name: str,
        database: aws.glue.CatalogDatabase,
        store: naming.Store,
        prefixes: list[str],
        classifiers: list[pulumi.Output[str]],
        description: str,
        table_prefix: str | None = None,
    ) -> tuple[aws.glue.Crawler, aws.iam.Role]:
        """A crawler over some prefixes of one store, with a role that can read only those prefixes."""
        bucket = self._buckets[store]
        settings = self._args
        role, crawler_opts = self._role(
            name,
            lambda account, buckets: iam.glue_crawler_policy(
                account,
                database_name=catalog_database_name(settings.name_prefix),
                crawler_name=crawler_name,
                bucket=buckets[store],
                prefixes=prefixes,
                kms_key_arn=settings.kms_key_arn,
            ),
        )
        crawler = aws.glue.Crawler(
            name,
            name=crawler_name,
            description=description,
            role=role.arn,
            database_name=database.name,
            s3_targets=[{"path": pulumi.Output.concat("s3://", bucket, "/", prefix)} for prefix in prefixes],
            classifiers=classifiers or None,
            table_prefix=table_prefix,
            configuration=pulumi.Output.json_dumps(crawler_configuration()),
            # Deleted data is only logged: the tables keep describing what was written.
            schema_change_policy={"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"},
            opts=crawler_opts,
        )
        return crawler, role
