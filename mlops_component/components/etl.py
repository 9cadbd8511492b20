"""The Glue part of the pipeline: the ETL job that turns raw feature-store CSVs into extracts, and the catalog.

- The job runs `etl/transform.py` (uploaded by `DataStores`) as a Python shell job (Python 3.9, the
  `analytics` library set, 0.0625 DPU by default) or, with `glue_job_spark_flag`, as a Spark job on a current
  Glue version, which runs `etl/spark_transform.py` (uploaded here) with `transform.py` as `--extra-py-files`. Its default arguments are the data contract's (docs/data-contract.md); the workflow passes
  the per-run keys. An optional wheel (`whl_path`) is uploaded next to the script and given to the job, and
  `glue_additional_python_modules` are installed by Glue's pip.
- A catalog database, a crawler over the output store's `predictions/` (the workflow starts it after each
  batch run, so Athena can query predictions) and, optionally, one over the feature store's raw data.
- One IAM role per job or crawler, trusted only by Glue, each with a least-privilege inline policy from
  `iam/glue.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_component import layout
from mlops_component.builders import iam, naming
from mlops_component.components.data_stores import BucketRef, file_sha256, upload_file
from mlops_component.config import MlOpsConfig

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
) -> dict[str, str]:
    """The job's default arguments: the contract's fixed ones, plus Glue's own for the job type.

    A Python shell job gets the `analytics` library set and the wheel as `--extra-py-files` (the way AWS
    documents wheels for Python shell); a Spark job installs the wheel with pip, through
    `--additional-python-modules`, and logs continuously. Job bookmarks are off: every run reads its own keys.
    """
    arguments = {
        "--source_bucket": source_bucket,
        "--destination_bucket": destination_bucket,
        "--inference_type": inference_type,
        "--output_layout": output_layout,
        "--job-language": "python",
    }
    modules = list(python_modules)
    if spark:
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


def task_timeout_seconds(config: MlOpsConfig) -> int:
    """How long the workflow waits for a job run: the run it started (not Glue's own retries of it)."""
    return config.glue_job_timeout_minutes * 60 + _START_UP_ALLOWANCE_SECONDS


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

    def __init__(
        self,
        name: str,
        config: MlOpsConfig,
        *,
        buckets: Mapping[naming.Store, BucketRef],
        script_key: pulumi.Input[str],
        account: pulumi.Output[iam.Account],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:index:Etl", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._config = config
        self._buckets = buckets
        self._account = account
        spark = config.glue_job_spark_flag
        source = buckets["source_repository"]

        self.wheel_key = None
        wheel_uri: pulumi.Output[str] | None = None
        if config.whl_path:
            wheel = aws.s3.BucketObjectv2(
                f"{name}-wheel",
                bucket=source.name,
                key=layout.WHEEL_PREFIX + Path(config.whl_path).name,
                source=pulumi.FileAsset(config.whl_path),
                source_hash=file_sha256(config.whl_path),
                opts=child,
            )
            self.wheel_key = wheel.key
            wheel_uri = pulumi.Output.concat("s3://", source.name, "/", wheel.key)

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
                kms_key_arn=config.kms_key_arn,
            ),
        )

        script_uri = pulumi.Output.concat("s3://", source.name, "/", script_key)
        spark_script = spark_script_path(config.script_path) if spark else None
        if spark_script is not None:
            uploaded = upload_file(
                f"{name}-spark-script", source, layout.ETL_CODE_PREFIX, str(spark_script), self
            )
            job_script = pulumi.Output.concat("s3://", source.name, "/", uploaded)
        else:
            job_script = script_uri
        arguments = pulumi.Output.all(
            source=buckets["feature_store"].name,
            destination=buckets["extracts"].name,
            wheel=wheel_uri,
            module=script_uri if spark_script is not None else None,
        ).apply(
            lambda v: {
                **({"--extra-py-files": v["module"]} if v["module"] else {}),
                **job_default_arguments(
                    spark=spark,
                    source_bucket=v["source"],
                    destination_bucket=v["destination"],
                    inference_type="batch" if config.is_batch else "endpoint",
                    output_layout="byo" if config.uses_own_image else "builtin",
                    wheel_uri=v["wheel"],
                    python_modules=config.glue_additional_python_modules,
                ),
            }
        )
        runtime: dict[str, Any] = (
            {
                "glue_version": config.glue_version,
                "worker_type": config.glue_worker_type,
                "number_of_workers": config.glue_number_of_workers,
            }
            if spark
            else {
                "glue_version": PYTHON_SHELL_GLUE_VERSION,
                "max_capacity": config.glue_python_shell_capacity,
            }
        )
        job = aws.glue.Job(
            f"{name}-job",
            name=naming.resource_name(config.name_prefix, config.glue_job_name),
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
            timeout=config.glue_job_timeout_minutes,
            max_retries=config.glue_job_max_retries,
            opts=job_opts,
            **runtime,
        )

        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=catalog_database_name(config.name_prefix),
            description="MLOps pipeline outputs (mlops-component): batch predictions, and raw data if crawled.",
            opts=child,
        )
        classifier = aws.glue.Classifier(
            f"{name}-predictions-csv",
            name=naming.resource_name(config.name_prefix, "predictions-csv"),
            csv_classifier={
                "contains_header": "ABSENT",
                "delimiter": ",",
                "quote_symbol": '"',
                "headers": PREDICTION_COLUMNS,
            },
            opts=child,
        )
        predictions = self._crawler(
            f"{name}-predictions-crawler",
            crawler_name=naming.resource_name(config.name_prefix, naming.PREDICTIONS_CRAWLER),
            database=database,
            store="output",
            prefixes=[layout.PREDICTIONS_PREFIX],
            classifiers=[classifier.name],
            description="Catalogs batch predictions (predictions/run=<run>/) for Athena.",
        )
        crawlers = [predictions]
        self.feature_store_crawler_name = self.feature_store_crawler_arn = None
        if config.crawls_feature_store:
            features = self._crawler(
                f"{name}-feature-store-crawler",
                crawler_name=naming.resource_name(config.name_prefix, "feature-store-crawler"),
                database=database,
                store="feature_store",
                prefixes=[layout.TRAIN_PREFIX, layout.SCORE_PREFIX],
                classifiers=[],
                description="Catalogs the raw training and scoring data in the feature store; run it after "
                "landing new files.",
                table_prefix=FEATURE_TABLE_PREFIX,
            )
            crawlers.append(features)
            self.feature_store_crawler_name, self.feature_store_crawler_arn = (
                features[0].name,
                features[0].arn,
            )

        self.timeout_seconds = task_timeout_seconds(config)
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
        buckets = pulumi.Output.all(**{store: ref.name for store, ref in self._buckets.items()})
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
        role, crawler_opts = self._role(
            name,
            lambda account, buckets: iam.glue_crawler_policy(
                account,
                database_name=catalog_database_name(self._config.name_prefix),
                crawler_name=crawler_name,
                bucket=buckets[store],
                prefixes=prefixes,
                kms_key_arn=self._config.kms_key_arn,
            ),
        )
        crawler = aws.glue.Crawler(
            name,
            name=crawler_name,
            description=description,
            role=role.arn,
            database_name=database.name,
            s3_targets=[
                {"path": pulumi.Output.concat("s3://", bucket.name, "/", prefix)} for prefix in prefixes
            ],
            classifiers=classifiers or None,
            table_prefix=table_prefix,
            configuration=pulumi.Output.json_dumps(crawler_configuration()),
            # Deleted data is only logged: the tables keep describing what was written.
            schema_change_policy={"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"},
            opts=crawler_opts,
        )
        return crawler, role
