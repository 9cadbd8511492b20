"""The Glue part of the pipeline under recording mocks: the job for each flag value, the catalog, the roles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from mlops_component import MlOpsPipeline
from mlops_component.builders import naming
from mlops_component.components.data_stores import BucketRef
from mlops_component.components.etl import Etl
from mlops_component.components.pipeline import etl_args
from tests.conftest import BUILT_IN_XGBOOST
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, run_program

JOB = "aws:glue/job:Job"
CRAWLER = "aws:glue/crawler:Crawler"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"


def bucket(word: str) -> str:
    return f"mlops-test-{word}-{ACCOUNT_ID}-{REGION}"


def existing_buckets() -> dict[naming.Store, BucketRef]:
    """The stores as buckets that already exist: plain names, no resource."""
    names = {
        "feature_store": "features",
        "source_repository": "source",
        "extracts": "extracts",
        "output": "output",
    }
    return {
        store: BucketRef(
            name=pulumi.Output.from_input(bucket(word)),
            arn=pulumi.Output.from_input(f"arn:aws:s3:::{bucket(word)}"),
        )
        for store, word in names.items()
    }


def deploy(config, *, in_pipeline: bool = False) -> tuple[RecordingMocks, dict[str, Any]]:
    """The ETL component alone, from the pipeline's mapping of `config`, over buckets that already exist
    (or, `in_pipeline`, as part of the whole pipeline)."""

    def program() -> dict[str, Any]:
        if in_pipeline:
            etl = MlOpsPipeline("mlops", config).etl
        else:
            args = etl_args(config, existing_buckets(), script_key="etl/transform.py", account=None)
            etl = Etl("mlops-etl", args)
        return {
            "job_name": etl.job_name,
            "job_arn": etl.job_arn,
            "database_name": etl.database_name,
            "prediction_crawler_name": etl.prediction_crawler_name,
            "prediction_crawler_arn": etl.prediction_crawler_arn,
            "crawler_role_arns": etl.crawler_role_arns,
            "feature_store_crawler_name": etl.feature_store_crawler_name,
        }

    return run_program(program)


def the_job(mocks: RecordingMocks) -> dict[str, Any]:
    (job,) = mocks.of_type(JOB)
    return job.inputs


def policy_of(mocks: RecordingMocks, name: str) -> dict[str, Any]:
    return json.loads(mocks.named(f"mlops-etl-{name}-policy").inputs["policy"])


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_default_job_is_a_python_shell_job_on_the_cheapest_capacity(make_config) -> None:
    mocks, outputs = deploy(make_config())
    job = the_job(mocks)
    assert job["name"] == "mlops-test-data-transformation"
    assert job["command"] == {
        "name": "pythonshell",
        "pythonVersion": "3.9",
        "scriptLocation": f"s3://{bucket('source')}/etl/transform.py",
    }
    assert job["glueVersion"] == "3.0"
    assert job["maxCapacity"] == 0.0625
    assert "workerType" not in job and "numberOfWorkers" not in job
    assert job["timeout"] == 60 and job["maxRetries"] == 0
    assert job["executionProperty"] == {"maxConcurrentRuns": 1}
    assert job["defaultArguments"] == {
        "--source_bucket": bucket("features"),
        "--destination_bucket": bucket("extracts"),
        "--inference_type": "batch",
        "--output_layout": "byo",
        "--score_parts": "1",
        "--validation": "false",
        "--job-language": "python",
        "library-set": "analytics",
    }
    assert job["roleArn"].endswith("mlops-etl-job-role")
    assert outputs["job_name"] == "mlops-test-data-transformation"
    assert outputs["job_arn"].endswith("mlops-test-data-transformation")


SHIPPED_SPARK_SCRIPT = Path(__file__).resolve().parents[1] / "etl" / "spark_transform.py"


def test_a_glue_4_spark_job_asks_for_continuous_logging(make_config) -> None:
    mocks, _ = deploy(make_config(glue_job_spark_flag=True, glue_version="4.0"))
    assert the_job(mocks)["defaultArguments"]["--enable-continuous-cloudwatch-log"] == "true"


def test_spark_flag_gives_a_spark_job_on_a_current_glue_version(make_config, project_dir: Path) -> None:
    # The program folder holds the pair, as the shipped etl/ does.
    (project_dir / "etl" / "spark_transform.py").write_bytes(SHIPPED_SPARK_SCRIPT.read_bytes())
    mocks, _ = deploy(
        make_config(glue_job_spark_flag=True, glue_worker_type="G.2X", glue_number_of_workers=5)
    )
    job = the_job(mocks)
    assert job["command"]["name"] == "glueetl"
    assert job["command"]["pythonVersion"] == "3"
    # The job runs the PySpark transform, which imports the pandas script's definitions from --extra-py-files.
    assert job["command"]["scriptLocation"] == f"s3://{bucket('source')}/etl/spark_transform.py"
    spark_script = mocks.named("mlops-etl-spark-script").inputs
    assert (spark_script["bucket"], spark_script["key"]) == (bucket("source"), "etl/spark_transform.py")
    assert spark_script["sourceHash"] == hashlib.sha256(SHIPPED_SPARK_SCRIPT.read_bytes()).hexdigest()
    assert job["defaultArguments"]["--extra-py-files"] == f"s3://{bucket('source')}/etl/transform.py"
    assert job["glueVersion"] == "5.0"
    assert (job["workerType"], job["numberOfWorkers"]) == ("G.2X", 5)
    assert "maxCapacity" not in job
    arguments = job["defaultArguments"]
    # Glue 5.0 logs continuously without being asked; the argument only exists up to 4.0.
    assert "--enable-continuous-cloudwatch-log" not in arguments
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
    assert "library-set" not in arguments
    assert arguments["--source_bucket"] == bucket("features")
    # Spark logs to its own log groups.
    logs = statements(policy_of(mocks, "job"))["WriteJobLogs"]["Resource"]
    assert logs == [f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws-glue/jobs/*"]


def test_a_script_of_your_own_runs_as_it_is_on_spark(make_config, project_dir: Path) -> None:
    """Without a spark_transform.py next to `script_path`, the Spark job runs `script_path` itself."""
    own = project_dir / "mine" / "prepare.py"
    own.parent.mkdir()
    own.write_text("print('my transform')\n")
    mocks, _ = deploy(make_config(glue_job_spark_flag=True, script_path="mine/prepare.py"), in_pipeline=True)
    job = the_job(mocks)
    assert job["command"]["scriptLocation"] == f"s3://{bucket('source')}/etl/prepare.py"
    assert "--extra-py-files" not in job["defaultArguments"]
    assert not [r for r in mocks.resources if r.name == "mlops-etl-spark-script"]


def test_job_settings_and_contract_arguments_follow_the_config(make_config) -> None:
    mocks, _ = deploy(
        make_config(
            glue_job_name="prepare",
            glue_python_shell_capacity=1,
            glue_job_timeout_minutes=15,
            glue_job_max_retries=2,
            endpoint_or_batch_transform="Create Model Endpoint Config",
            **BUILT_IN_XGBOOST,
        )
    )
    job = the_job(mocks)
    assert job["name"] == "mlops-test-prepare"
    assert (job["maxCapacity"], job["timeout"], job["maxRetries"]) == (1, 15, 2)
    assert job["defaultArguments"]["--inference_type"] == "endpoint"
    assert job["defaultArguments"]["--output_layout"] == "builtin"
    # The built-in algorithm's validation:* metrics need the holdout; endpoint mode scores no file.
    assert job["defaultArguments"]["--validation"] == "true"
    assert job["defaultArguments"]["--score_parts"] == "1"


def test_batch_instances_become_score_parts(make_config) -> None:
    mocks, _ = deploy(make_config(batch_transform_instance_count=3))
    assert the_job(mocks)["defaultArguments"]["--score_parts"] == "3"


@pytest.mark.parametrize("spark", [False, True])
def test_the_wheel_is_uploaded_next_to_the_script_and_given_to_the_job(
    make_config, project_dir: Path, spark: bool
) -> None:
    wheel = project_dir / "dist" / "helpers-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK\x03\x04 wheel bytes")
    (project_dir / "etl" / "spark_transform.py").write_bytes(SHIPPED_SPARK_SCRIPT.read_bytes())
    mocks, _ = deploy(
        make_config(
            whl_path="dist/helpers-1.0-py3-none-any.whl",
            glue_job_spark_flag=spark,
            glue_additional_python_modules=["scikit-learn==1.5.2", "tqdm"],
        )
    )
    upload = mocks.named("mlops-etl-wheel")
    assert upload.inputs["bucket"] == bucket("source")
    assert upload.inputs["key"] == "etl/python/helpers-1.0-py3-none-any.whl"
    assert upload.inputs["sourceHash"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    uri = f"s3://{bucket('source')}/etl/python/helpers-1.0-py3-none-any.whl"
    arguments = the_job(mocks)["defaultArguments"]
    if spark:
        assert arguments["--additional-python-modules"] == f"scikit-learn==1.5.2,tqdm,{uri}"
        assert arguments["--extra-py-files"] == f"s3://{bucket('source')}/etl/transform.py"
    else:
        assert arguments["--extra-py-files"] == uri
        assert arguments["--additional-python-modules"] == "scikit-learn==1.5.2,tqdm"
    # The job's role can read it: it reads everything under etl/ in the source repository.
    code = statements(policy_of(mocks, "job"))["ReadEtlCode"]
    assert code["Resource"] == f"arn:aws:s3:::{bucket('source')}/etl/*"


def test_catalog_database_and_predictions_crawler(make_config) -> None:
    mocks, outputs = deploy(make_config())
    database = mocks.named("mlops-etl-database").inputs
    assert database["name"] == "mlops_test_mlops" == outputs["database_name"]
    (crawler,) = mocks.of_type(CRAWLER)
    assert crawler.inputs["name"] == "mlops-test-predictions-crawler" == outputs["prediction_crawler_name"]
    assert outputs["prediction_crawler_arn"].endswith("mlops-test-predictions-crawler")
    assert crawler.inputs["databaseName"] == "mlops_test_mlops"
    assert crawler.inputs["s3Targets"] == [{"path": f"s3://{bucket('output')}/predictions/"}]
    assert crawler.inputs["classifiers"] == ["mlops-test-predictions-csv"]
    assert crawler.inputs["schemaChangePolicy"] == {
        "updateBehavior": "UPDATE_IN_DATABASE",
        "deleteBehavior": "LOG",
    }
    assert json.loads(crawler.inputs["configuration"])["Grouping"] == {
        "TableGroupingPolicy": "CombineCompatibleSchemas"
    }
    assert crawler.inputs["role"].endswith("mlops-etl-predictions-crawler-role")
    classifier = mocks.named("mlops-etl-predictions-csv").inputs["csvClassifier"]
    assert classifier["containsHeader"] == "ABSENT"
    assert classifier["headers"] == ["id", "probability"]
    assert outputs["feature_store_crawler_name"] is None


@pytest.mark.parametrize("override", [None, "existing-features"])
def test_optional_feature_store_crawler(make_config, override: str | None) -> None:
    # The pipeline wires an existing feature store into the ETL.
    config = make_config(crawl_feature_store=True, feature_store_override=override)
    mocks, outputs = deploy(config, in_pipeline=True)
    crawler = mocks.named("mlops-etl-feature-store-crawler").inputs
    features = override or bucket("features")
    assert crawler["s3Targets"] == [
        {"path": f"s3://{features}/data/train/"},
        {"path": f"s3://{features}/data/score/"},
    ]
    assert crawler["databaseName"] == "mlops_test_mlops"
    assert "classifiers" not in crawler
    assert outputs["feature_store_crawler_name"] == "mlops-test-feature-store-crawler"
    assert len(outputs["crawler_role_arns"]) == 2
    read = statements(policy_of(mocks, "feature-store-crawler"))["ReadCrawledObjects"]
    assert read["Resource"] == [
        f"arn:aws:s3:::{features}/data/train/*",
        f"arn:aws:s3:::{features}/data/score/*",
    ]


def test_every_role_is_trusted_by_glue_alone(make_config) -> None:
    mocks, _ = deploy(make_config(crawl_feature_store=True))
    roles = [r for r in mocks.of_type(ROLE) if r.name.startswith("mlops-etl-")]
    assert {r.name for r in roles} == {
        "mlops-etl-job-role",
        "mlops-etl-predictions-crawler-role",
        "mlops-etl-feature-store-crawler-role",
    }
    for role in roles:
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]


def test_job_policy_reads_inputs_and_writes_only_the_extracts(make_config) -> None:
    mocks, _ = deploy(make_config())
    policy = statements(policy_of(mocks, "job"))
    features, extracts = f"arn:aws:s3:::{bucket('features')}", f"arn:aws:s3:::{bucket('extracts')}"
    assert policy["ListFeatureStoreInputs"]["Resource"] == features
    assert policy["ListFeatureStoreInputs"]["Condition"] == {
        "StringLike": {"s3:prefix": ["data/train/*", "data/score/*"]}
    }
    assert policy["ReadFeatureStoreInputs"] == {
        "Sid": "ReadFeatureStoreInputs",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [f"{features}/data/train/*", f"{features}/data/score/*"],
    }
    assert policy["ReadWriteExtracts"]["Resource"] == [
        f"{extracts}/train/*",
        f"{extracts}/validation/*",
        f"{extracts}/score/*",
        f"{extracts}/schema/*",
        f"{extracts}/etl-runs/*",
    ]
    # The job deletes its scratch objects and, when it puts a set back, a promoted key (etl/transform.py).
    assert "s3:DeleteObject" in policy["ReadWriteExtracts"]["Action"]
    # Nothing may write to the feature store: a write there would start the pipeline again.
    writes = [s for s in policy.values() if "s3:PutObject" in s["Action"]]
    assert all(features not in json.dumps(s["Resource"]) for s in writes)
    assert policy["WriteJobLogs"]["Resource"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws-glue/python-jobs/*"
    ]
    assert "UseStoreKey" not in policy


def test_crawler_policy_reads_predictions_and_maintains_one_database(make_config) -> None:
    mocks, _ = deploy(make_config())
    policy = statements(policy_of(mocks, "predictions-crawler"))
    output = f"arn:aws:s3:::{bucket('output')}"
    assert policy["ReadCrawledObjects"]["Resource"] == [f"{output}/predictions/*"]
    assert policy["ListCrawledPrefixes"]["Condition"] == {"StringLike": {"s3:prefix": ["predictions/*"]}}
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT_ID}"
    assert policy["MaintainTablesInOneDatabase"]["Resource"] == [
        f"{glue}:catalog",
        f"{glue}:database/mlops_test_mlops",
        f"{glue}:table/mlops_test_mlops/*",
    ]
    assert not any(a.startswith("glue:Delete") for a in policy["MaintainTablesInOneDatabase"]["Action"])
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws-glue/crawlers"
    assert policy["CreateCrawlerLogGroup"]["Resource"] == f"{log_group}:*"
    assert policy["WriteCrawlerLogs"]["Resource"] == f"{log_group}:log-stream:mlops-test-predictions-crawler"


def test_kms_key_is_usable_through_s3_only(make_config) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    mocks, _ = deploy(make_config(kms_key_arn=key))
    job_kms = statements(policy_of(mocks, "job"))["UseStoreKey"]
    assert job_kms["Resource"] == key
    assert job_kms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert job_kms["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    assert statements(policy_of(mocks, "predictions-crawler"))["UseStoreKey"]["Action"] == ["kms:Decrypt"]


def test_glue_resources_carry_the_tags(make_config) -> None:
    config = make_config()
    mocks, _ = deploy(config, in_pipeline=True)
    for typ in (JOB, CRAWLER, ROLE, "aws:glue/catalogDatabase:CatalogDatabase"):
        for resource in mocks.of_type(typ):
            assert resource.inputs["tags"] == config.tags, resource.name


def test_every_child_of_the_etl_component_is_named_after_it(make_config) -> None:
    mocks, _ = deploy(make_config(crawl_feature_store=True))
    assert mocks.named("mlops-etl").typ == "mlops:index:Etl"
    glue = [r for r in mocks.resources if r.typ.split(":")[1].split("/")[0] == "glue"]
    assert glue and all(r.name.startswith("mlops-etl-") for r in glue)


# --- The settings this component adds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"glue_python_shell_capacity": 0.5}, "glue_python_shell_capacity", "0.0625 or 1 DPU"),
        ({"glue_version": "2.0"}, "glue_version", "at least 4.0"),
        ({"glue_version": "latest"}, "glue_version", "Glue version such as 5.0"),
        ({"glue_worker_type": "G.025X"}, "glue_worker_type", "streaming jobs only"),
        ({"glue_worker_type": "m5.large"}, "glue_worker_type", "not a Glue Spark worker type"),
        ({"glue_number_of_workers": 1}, "glue_number_of_workers", "greater than or equal to 2"),
        ({"glue_job_timeout_minutes": 0}, "glue_job_timeout_minutes", "greater than or equal to 1"),
        ({"glue_job_max_retries": 11}, "glue_job_max_retries", "less than or equal to 10"),
        ({"glue_additional_python_modules": ["pandas>=2,<3"]}, "glue_additional_python_modules", "comma"),
        (
            {"glue_additional_python_modules": ["not a module!"]},
            "glue_additional_python_modules",
            "pip requirement",
        ),
        (
            {"glue_additional_python_modules": ["s3://bucket/pkg-1.0-py3-none-any.whl"]},
            "glue_additional_python_modules",
            "Python shell jobs cannot install from S3",
        ),
        (
            {"glue_job_spark_flag": True, "glue_additional_python_modules": ["s3://bucket/pkg.zip"]},
            "glue_additional_python_modules",
            "must be a .whl",
        ),
        ({"whl_path": "etl/transform.py"}, "whl_path", "must be a Python wheel"),
    ],
)
def test_bad_glue_settings_are_named(make_config, overrides: dict, key: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make_config(**overrides)
    errors = {err["loc"][0]: err["msg"] for err in raised.value.errors()}
    assert key in errors and message in errors[key], errors


def test_glue_settings_accept_both_key_spellings(make_config) -> None:
    config = make_config(
        glueVersion="4.0",
        gluePythonShellCapacity="1",
        glueAdditionalPythonModules=["scikit-learn==1.5.2", "s3fs[boto3]>=2024.1"],
        crawlFeatureStore=True,
    )
    assert config.glue_version == "4.0"
    assert config.glue_python_shell_capacity == 1.0
    assert config.glue_additional_python_modules == ["scikit-learn==1.5.2", "s3fs[boto3]>=2024.1"]
    assert config.crawl_feature_store is True
    spark = make_config(
        glue_job_spark_flag=True, glue_additional_python_modules=["s3://b/p-1.0-py3-none-any.whl"]
    )
    assert spark.glue_additional_python_modules == ["s3://b/p-1.0-py3-none-any.whl"]
