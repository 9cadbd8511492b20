"""The development environment component under recording mocks, its config block, and its IAM policies."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from mlops_component import MlOpsPipeline, layout
from mlops_component.builders import iam
from mlops_component.builders.notebook_bundle import bundle
from mlops_component.components.data_stores import BucketRef
from mlops_component.components.dev_environment import DevEnvironment
from mlops_component.components.pipeline import dev_environment_args
from tests.iam_checks import allows, lint, wildcard_problems
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, Registered, run_program

NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
LIFECYCLE = "aws:sagemaker/notebookInstanceLifecycleConfiguration:NotebookInstanceLifecycleConfiguration"
CODE_REPOSITORY = "aws:sagemaker/codeRepository:CodeRepository"
CODECOMMIT = "aws:codecommit/repository:Repository"
DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
CRAWLER = "aws:glue/crawler:Crawler"
WORKGROUP = "aws:athena/workgroup:Workgroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
DEVENV_TYPES = {
    NOTEBOOK,
    LIFECYCLE,
    CODE_REPOSITORY,
    CODECOMMIT,
    WORKGROUP,
    SECURITY_GROUP,
    EGRESS,
}

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf"
SOURCE = f"mlops-test-source-{ACCOUNT_ID}-{REGION}"
FEATURES = f"mlops-test-features-{ACCOUNT_ID}-{REGION}"
OUTPUT = f"mlops-test-output-{ACCOUNT_ID}-{REGION}"
NOTEBOOK_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:notebook-instance/mlops-test-notebook"


def deploy(config: Any) -> tuple[RecordingMocks, dict[str, Any]]:
    def program() -> dict[str, Any]:
        pipeline = MlOpsPipeline("mlops", config)
        outputs: dict[str, Any] = {"summary": pipeline.summary}
        if pipeline.dev_environment:
            outputs["notebook_url"] = pipeline.dev_environment.notebook_url
            outputs["clone_url"] = pipeline.dev_environment.repository_clone_url
        return outputs

    return run_program(program)


# Top-level config keys the tests set next to the dev_environment block.
_TOP_LEVEL = {"environment", "kms_key_arn", "endpoint_or_batch_transform"}


def enabled(make_config: Any, **settings: Any) -> Any:
    """A config with the dev environment on: dev_environment settings, plus the few top-level keys above."""
    top = {key: settings.pop(key) for key in list(settings) if key in _TOP_LEVEL}
    return make_config(enable_dev_environment=True, dev_environment=settings, **top)


def one(mocks: RecordingMocks, typ: str) -> Registered:
    found = mocks.of_type(typ)
    assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
    return found[0]


def role_policy(mocks: RecordingMocks, name: str) -> dict[str, Any]:
    return json.loads(mocks.named(name).inputs["policy"])


def trust(mocks: RecordingMocks, name: str) -> dict[str, Any]:
    return json.loads(mocks.named(name).inputs["assumeRolePolicy"])


def bundle_objects(mocks: RecordingMocks) -> dict[str, Registered]:
    return {
        r.inputs["key"]: r for r in mocks.of_type(OBJECT) if r.inputs["key"].startswith(layout.BUNDLE_PREFIX)
    }


def stack_json(mocks: RecordingMocks) -> dict[str, Any]:
    return json.loads(bundle_objects(mocks)[layout.BUNDLE_PREFIX + bundle.STACK_FILE].inputs["content"])


# --- Off by default --------------------------------------------------------------------------------------------


def test_nothing_exists_when_the_flag_is_off(make_config: Any) -> None:
    config = make_config(dev_environment={"instance_type": "ml.t3.large"})  # settings alone change nothing
    assert config.enable_dev_environment is False
    mocks, outputs = deploy(config)
    assert {r.typ for r in mocks.resources} & DEVENV_TYPES == set()
    assert not [r.name for r in mocks.resources if "devenv" in r.name]
    assert bundle_objects(mocks) == {}
    assert "Development notebook" not in outputs["summary"]


# --- On: the notebook and its wiring -----------------------------------------------------------------------------


def test_the_notebook_is_private_by_default_and_wired_to_its_lifecycle_repository_and_role(
    make_config: Any,
) -> None:
    mocks, outputs = deploy(enabled(make_config))
    notebook = one(mocks, NOTEBOOK).inputs
    assert notebook["name"] == "mlops-test-notebook"
    assert notebook["instanceType"] == "ml.t3.medium"
    assert notebook["volumeSize"] == 20
    assert notebook["platformIdentifier"] == "notebook-al2023-v1"
    assert notebook["rootAccess"] == "Disabled"
    assert notebook["instanceMetadataServiceConfiguration"] == {"minimumInstanceMetadataServiceVersion": "2"}
    assert "kmsKeyId" not in notebook
    # Without private subnets SageMaker's own network is used (it has internet access); no VPC settings.
    assert notebook["directInternetAccess"] == "Enabled"
    assert "subnetId" not in notebook and "securityGroups" not in notebook
    # Wired: lifecycle configuration, default code repository, execution role, bundle tag, shared tags.
    assert (
        notebook["lifecycleConfigName"]
        == one(mocks, LIFECYCLE).inputs["name"]
        == "mlops-test-notebook-lifecycle"
    )
    assert notebook["defaultCodeRepository"] == one(mocks, CODE_REPOSITORY).inputs["codeRepositoryName"]
    assert notebook["roleArn"].endswith(":role/mlops-devenv-notebook-role")
    assert notebook["tags"][bundle.BUNDLE_TAG] == f"s3://{SOURCE}/{layout.BUNDLE_PREFIX}"
    assert notebook["tags"]["mlops:name-prefix"] == "mlops-test"
    assert notebook["tags"]["project"] == "employee-attrition"
    # The pipeline's summary says how to open, clone and stop it.
    assert outputs["notebook_url"] == f"mlops-test-notebook.notebook.{REGION}.sagemaker.aws"
    assert "open    https://mlops-test-notebook.notebook.us-east-1.sagemaker.aws" in outputs["summary"]
    assert f"clone   git clone {outputs['clone_url']}" in outputs["summary"]
    assert (
        "aws sagemaker stop-notebook-instance --region us-east-1 --notebook-instance-name mlops-test-notebook"
        in (outputs["summary"])
    )
    assert "stops itself after 60 idle minutes" in outputs["summary"]


def test_the_lifecycle_configuration_carries_the_scripts_in_the_repository(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config))
    lifecycle = one(mocks, LIFECYCLE).inputs
    shared = (Path(bundle.__file__).parent / "lifecycle" / "hook.sh").read_text().split("\n", 1)[1]
    for hook, field in (("create", "onCreate"), ("start", "onStart")):
        shebang, hook_line, rest = base64.b64decode(lifecycle[field]).decode().split("\n", 2)
        assert (shebang, hook_line, rest) == ("#!/bin/bash", f"readonly MLOPS_HOOK={hook}", shared)


def test_a_codecommit_repository_is_created_registered_and_pushable(make_config: Any) -> None:
    mocks, outputs = deploy(enabled(make_config))
    repository = one(mocks, CODECOMMIT).inputs
    assert repository["repositoryName"] == "mlops-test-project"
    assert "defaultBranch" not in repository  # the repository starts empty; the first push creates main
    clone_url = f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/mlops-test-project"
    assert outputs["clone_url"] == clone_url
    code_repository = one(mocks, CODE_REPOSITORY).inputs
    assert code_repository["gitConfig"] == {"repositoryUrl": clone_url}
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    repository_arn = f"arn:aws:codecommit:{REGION}:{ACCOUNT_ID}:mlops-test-project"
    assert allows(policy, "codecommit:GitPush", repository_arn)
    assert allows(policy, "codecommit:GitPull", repository_arn)
    assert not allows(policy, "codecommit:GitPush", f"arn:aws:codecommit:{REGION}:{ACCOUNT_ID}:other")
    assert not any("secretsmanager" in str(s["Action"]) for s in policy["Statement"])
    repository_settings = stack_json(mocks)["repository"]
    assert repository_settings == {
        "kind": "codecommit",
        "clone_url": clone_url,
        "directory": "mlops-test-project",
        "branch": None,
        "secret_arn": None,
    }


def test_an_existing_repository_is_registered_with_its_secret_instead(make_config: Any) -> None:
    url = "https://github.com/acme/attrition-lab.git"
    config = enabled(make_config, git_repository_url=url, git_secret_arn=SECRET, git_branch="develop")
    mocks, outputs = deploy(config)
    assert mocks.of_type(CODECOMMIT) == []
    assert one(mocks, CODE_REPOSITORY).inputs["gitConfig"] == {
        "repositoryUrl": url,
        "secretArn": SECRET,
        "branch": "develop",
    }
    assert outputs["clone_url"] == url
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    assert allows(policy, "secretsmanager:GetSecretValue", SECRET)
    assert not allows(policy, "secretsmanager:GetSecretValue", SECRET.replace("github", "other"))
    assert not any(str(s["Action"]).count("codecommit") for s in policy["Statement"])
    assert stack_json(mocks)["repository"]["directory"] == "attrition-lab"
    assert stack_json(mocks)["repository"]["kind"] == "external"


def test_private_subnets_put_the_notebook_in_the_vpc_behind_an_https_only_group(make_config: Any) -> None:
    environment = {"vpc_id": "vpc-0a1b2c3d", "private_subnets": ["subnet-0aaa1111", "subnet-0bbb2222"]}
    mocks, _ = deploy(enabled(make_config, environment=environment))
    notebook = one(mocks, NOTEBOOK).inputs
    assert notebook["directInternetAccess"] == "Disabled"
    assert notebook["subnetId"] == "subnet-0aaa1111"
    group = one(mocks, SECURITY_GROUP)
    assert group.inputs["vpcId"] == "vpc-0a1b2c3d"
    assert "ingress" not in group.inputs and "egress" not in group.inputs  # rules are separate resources
    assert notebook["securityGroups"] == [f"{group.name}-id"]
    egress = one(mocks, EGRESS).inputs
    assert (egress["ipProtocol"], egress["fromPort"], egress["toPort"], egress["cidrIpv4"]) == (
        "tcp",
        443,
        443,
        "0.0.0.0/0",
    )
    assert egress["securityGroupId"] == f"{group.name}-id"
    assert mocks.of_type(INGRESS) == []


# --- On: the data lake ------------------------------------------------------------------------------------------------


def test_the_lake_is_the_etl_catalog_and_athena_explores_it(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config))
    # One catalog and one feature-store crawler, the ETL's, which the dev environment turns on.
    assert [r.name for r in mocks.of_type(DATABASE)] == ["mlops-etl-database"]
    crawler = mocks.named("mlops-etl-feature-store-crawler").inputs
    assert crawler["name"] == "mlops-test-feature-store-crawler"
    assert crawler["databaseName"] == "mlops_test_mlops"
    assert crawler["tablePrefix"] == "features_"
    assert [t["path"] for t in crawler["s3Targets"]] == [
        f"s3://{FEATURES}/data/train/",
        f"s3://{FEATURES}/data/score/",
    ]
    assert "schedule" not in crawler  # crawls cost DPU time; the notebook starts them on demand
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    assert allows(
        policy,
        "glue:StartCrawler",
        f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:crawler/mlops-test-feature-store-crawler",
    )
    assert allows(
        policy, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:table/mlops_test_mlops/features_train"
    )

    workgroup = one(mocks, WORKGROUP).inputs
    assert workgroup["name"] == "mlops-test-explore"
    configuration = workgroup["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["bytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert configuration["resultConfiguration"] == {
        "outputLocation": f"s3://{OUTPUT}/athena-results/",
        "encryptionConfiguration": {"encryptionOption": "SSE_S3"},
    }
    lake = stack_json(mocks)["lake"]
    assert lake == {
        "database": "mlops_test_mlops",
        "crawler": "mlops-test-feature-store-crawler",
        "athena_workgroup": "mlops-test-explore",
    }


def test_the_component_uses_the_database_and_crawler_it_is_given(make_config: Any) -> None:
    config = enabled(make_config)
    account = iam.Account("aws", REGION, ACCOUNT_ID)

    def program() -> Any:
        stores = ("feature_store", "source_repository", "extracts", "models", "metadata", "output")
        buckets = {
            store: BucketRef(
                name=pulumi.Output.from_input(f"b-{store}"),
                arn=pulumi.Output.from_input(f"arn:aws:s3:::b-{store}"),
            )
            for store in stores
        }
        args = dev_environment_args(
            config,
            account=pulumi.Output.from_input(account),
            buckets=buckets,  # type: ignore[arg-type]
            state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training",
            database_name="etl_catalog",
            crawler_name="mlops-test-etl-features",
        )
        env = DevEnvironment("devenv", dataclasses.replace(args, endpoint_name="training-endpoint"))
        return {"database": env.database_name, "crawler": env.crawler_name}

    mocks, outputs = run_program(program)
    assert outputs == {"database": "etl_catalog", "crawler": "mlops-test-etl-features"}
    assert mocks.of_type(DATABASE) == [] and mocks.of_type(CRAWLER) == []  # it creates neither itself
    policy = role_policy(mocks, "devenv-notebook-policy")
    assert allows(
        policy, "glue:StartCrawler", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:crawler/mlops-test-etl-features"
    )
    assert allows(
        policy, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:table/etl_catalog/features_train"
    )
    machine = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training"
    assert allows(policy, "states:StartExecution", machine)
    assert allows(
        policy,
        "states:DescribeExecution",
        f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:mlops-test-training:notebook-1",
    )
    assert allows(
        policy,
        "sagemaker:InvokeEndpoint",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint/training-endpoint",
    )
    settings = stack_json(mocks)
    assert settings["workflow"] == {"state_machine_arn": machine}
    assert settings["endpoint_name"] == "training-endpoint"
    assert lint(policy) == []


# --- On: the notebook's permissions -------------------------------------------------------------------------------


def test_the_notebook_role_is_trusted_by_sagemaker_only_and_least_privilege(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config))
    statement = trust(mocks, "mlops-devenv-notebook-role")["Statement"]
    assert [s["Principal"] for s in statement] == [{"Service": "sagemaker.amazonaws.com"}]
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    assert lint(policy) == []
    assert wildcard_problems(policy) == []
    # Inline role policies may hold at most 10,240 characters.
    assert len(json.dumps(policy, separators=(",", ":"))) < 10240
    feature = f"arn:aws:s3:::{FEATURES}"
    # Land data (which starts runs) and use the sandbox; nothing else in the feature store.
    assert allows(policy, "s3:PutObject", f"{feature}/data/train/train.csv")
    assert allows(policy, "s3:PutObject", f"{feature}/data/score/score.csv")
    assert allows(policy, "s3:DeleteObject", f"{feature}/sandbox/tmp.parquet")
    assert not allows(policy, "s3:DeleteObject", f"{feature}/data/train/train.csv")
    assert not allows(policy, "s3:PutObject", f"{feature}/other/x")
    # Read the other stores, write none of them (Athena results excepted).
    for store in ("extracts", "models", "metadata", "output"):
        bucket = f"arn:aws:s3:::mlops-test-{store}-{ACCOUNT_ID}-{REGION}"
        assert allows(policy, "s3:GetObject", f"{bucket}/any/key")
        assert not allows(policy, "s3:PutObject", f"{bucket}/any/key") or store == "output"
    assert allows(policy, "s3:PutObject", f"arn:aws:s3:::{OUTPUT}/athena-results/q.csv")
    assert not allows(policy, "s3:PutObject", f"arn:aws:s3:::{OUTPUT}/predictions/run=x/score.csv")
    # Fetch its own bundle; stop and describe only itself.
    assert allows(policy, "s3:GetObject", f"arn:aws:s3:::{SOURCE}/devenv/bin/autostop.sh")
    assert not allows(policy, "s3:GetObject", f"arn:aws:s3:::{SOURCE}/etl/transform.py")
    for action in (
        "sagemaker:StopNotebookInstance",
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:ListTags",
    ):
        assert allows(policy, action, NOTEBOOK_ARN)
        assert not allows(policy, action, NOTEBOOK_ARN.replace("mlops-test-notebook", "someone-elses"))
    assert allows(
        policy,
        "logs:PutLogEvents",
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/sagemaker/NotebookInstances:log-stream:mlops-test-notebook/LifecycleConfigOnStart",
    )
    assert allows(
        policy,
        "athena:StartQueryExecution",
        f"arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/mlops-test-explore",
    )
    assert not allows(
        policy, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/primary"
    )
    # Batch mode: the notebook may start and watch the training workflow, but has no endpoint or Glue sessions.
    machine = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training"
    assert allows(policy, "states:StartExecution", machine)
    assert not allows(policy, "states:StartExecution", f"{machine}-other")
    actions = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith(("glue:CreateSession", "iam:PassRole"))}
    assert "sagemaker:InvokeEndpoint" not in actions


def test_interactive_sessions_get_their_own_glue_role_which_only_the_notebook_may_pass(
    make_config: Any,
) -> None:
    mocks, _ = deploy(enabled(make_config, enable_interactive_sessions=True))
    session_trust = trust(mocks, "mlops-devenv-glue-session-role")["Statement"]
    assert [s["Principal"] for s in session_trust] == [{"Service": "glue.amazonaws.com"}]
    session_role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/mlops-devenv-glue-session-role"
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    passing = [s for s in policy["Statement"] if "iam:PassRole" in s["Action"]]
    assert passing == [
        {
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": session_role_arn,
            "Sid": "PassExecutionRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
        }
    ]
    session = f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:session/0f8e1a2b"
    for action in ("glue:CreateSession", "glue:RunStatement", "glue:GetStatement", "glue:StopSession"):
        assert allows(policy, action, session)
    session_policy = role_policy(mocks, "mlops-devenv-glue-session-policy")
    assert lint(session_policy) == [] and wildcard_problems(session_policy) == []
    assert allows(session_policy, "s3:GetObject", f"arn:aws:s3:::{FEATURES}/data/train/train.csv")
    assert not allows(
        session_policy, "s3:PutObject", f"arn:aws:s3:::{FEATURES}/data/train/train.csv"
    )  # no runs
    assert allows(
        session_policy, "s3:PutObject", f"arn:aws:s3:::{FEATURES}/sandbox/attrition-by-department/a.parquet"
    )
    settings = stack_json(mocks)
    assert settings["glue_sessions"] == {"enabled": True, "role_arn": session_role_arn}
    assert layout.BUNDLE_PREFIX + "project/notebooks/06-glue-interactive-session.ipynb" in bundle_objects(
        mocks
    )


def test_a_kms_key_encrypts_the_volume_and_query_results_and_is_usable(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config, kms_key_arn=KEY))
    assert one(mocks, NOTEBOOK).inputs["kmsKeyId"] == KEY
    assert one(mocks, WORKGROUP).inputs["configuration"]["resultConfiguration"][
        "encryptionConfiguration"
    ] == {
        "encryptionOption": "SSE_KMS",
        "kmsKeyArn": KEY,
    }
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    assert allows(policy, "kms:Decrypt", KEY) and allows(policy, "kms:GenerateDataKey", KEY)
    assert allows(role_policy(mocks, "mlops-etl-feature-store-crawler-policy"), "kms:Decrypt", KEY)


def test_endpoint_mode_lets_the_notebook_call_the_endpoint(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config, endpoint_or_batch_transform="Create Model Endpoint Config"))
    policy = role_policy(mocks, "mlops-devenv-notebook-policy")
    assert allows(
        policy,
        "sagemaker:InvokeEndpoint",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint/training-endpoint",
    )
    keys = bundle_objects(mocks)
    assert layout.BUNDLE_PREFIX + "project/notebooks/04-call-the-endpoint.ipynb" in keys
    assert layout.BUNDLE_PREFIX + "project/notebooks/04-read-predictions.ipynb" not in keys
    assert stack_json(mocks)["endpoint_name"] == "training-endpoint"


# --- On: the bundle ----------------------------------------------------------------------------------------------------


def test_the_bundle_uploads_every_file_the_notebook_needs_and_the_stack_settings(make_config: Any) -> None:
    mocks, _ = deploy(enabled(make_config, idle_shutdown_minutes=45))
    objects = bundle_objects(mocks)
    expected = {layout.BUNDLE_PREFIX + key for key in bundle.static_files()} | {
        layout.BUNDLE_PREFIX + key for key in bundle.generated_keys(batch=True, glue_sessions=False)
    }
    assert set(objects) == expected
    assert {o.inputs["bucket"] for o in objects.values()} == {SOURCE}
    for key in bundle.static_files():
        assert objects[layout.BUNDLE_PREFIX + key].inputs["sourceHash"]  # re-uploaded only when it changes
    settings = stack_json(mocks)
    assert settings["idle_shutdown_minutes"] == 45
    assert settings["region"] == REGION
    assert settings["notebook_name"] == "mlops-test-notebook"
    assert settings["buckets"]["feature_store"] == FEATURES
    assert settings["prefixes"] == {
        "train": "data/train/",
        "score": "data/score/",
        "runs": "runs/",
        "predictions": "predictions/",
        "train_extract": "train/train.csv",
        "sandbox": "sandbox/",
    }
    assert settings["workflow"] == {
        "state_machine_arn": f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training"
    }
    # The notebook is created after its bundle and its role's permissions.
    assert len(objects) > 10


def test_idle_shutdown_can_be_turned_off(make_config: Any) -> None:
    mocks, outputs = deploy(enabled(make_config, idle_shutdown_minutes=0))
    assert stack_json(mocks)["idle_shutdown_minutes"] is None
    assert "idle auto-stop is OFF" in outputs["summary"]


# --- Config -----------------------------------------------------------------------------------------------------


def errors(make_config: Any, **overrides: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        make_config(**overrides)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


def test_defaults_are_small_private_and_safe(make_config: Any) -> None:
    settings = make_config().dev_environment
    assert (settings.instance_type, settings.volume_size_in_gb, settings.root_access) == (
        "ml.t3.medium",
        20,
        False,
    )
    assert settings.idle_shutdown_minutes == 60
    assert settings.uses_codecommit and not settings.enable_interactive_sessions
    undocumented = [name for name, f in type(settings).model_fields.items() if not f.description]
    assert undocumented == []


def test_camel_case_keys_work_and_typos_fail(make_config: Any) -> None:
    config = make_config(
        enableDevEnvironment=True, devEnvironment={"instanceType": "ml.t3.large", "rootAccess": True}
    )
    assert config.dev_environment.instance_type == "ml.t3.large" and config.dev_environment.root_access
    assert "dev_environment.idleShutdownMinute" in errors(
        make_config, dev_environment={"idleShutdownMinute": 5}
    )


def test_the_volume_key_defaults_to_the_stores_key(make_config: Any) -> None:
    assert enabled(make_config, kms_key_arn=KEY).dev_environment.kms_key_arn == KEY
    other = KEY.replace("1234abcd", "9999abcd")
    config = make_config(enable_dev_environment=True, kms_key_arn=KEY, dev_environment={"kms_key_arn": other})
    assert config.dev_environment.kms_key_arn == other


@pytest.mark.parametrize(
    ("settings", "location", "message"),
    [
        (
            {"git_repository_url": "https://github.com/a/b.git"},
            "dev_environment.git_secret_arn",
            "go together",
        ),
        ({"git_secret_arn": SECRET}, "dev_environment.git_secret_arn", "go together"),
        (
            {"git_repository_url": "git@github.com:a/b.git", "git_secret_arn": SECRET},
            "dev_environment.git_repository_url",
            "https://",
        ),
        (
            {"git_repository_url": "https://github.com/a/b.git", "git_secret_arn": "github-token"},
            "dev_environment.git_secret_arn",
            "secret ARN",
        ),
        ({"git_branch": "main"}, "dev_environment.git_branch", "only applies with git_repository_url"),
        (
            {
                "git_repository_url": "https://github.com/a/b.git",
                "git_secret_arn": SECRET,
                "git_branch": "a b",
            },
            "dev_environment.git_branch",
            "not a git branch",
        ),
        ({"idle_shutdown_minutes": 3}, "dev_environment.idle_shutdown_minutes", "at least 5 minutes"),
        (
            {"idle_shutdown_minutes": -1},
            "dev_environment.idle_shutdown_minutes",
            "greater than or equal to 0",
        ),
        ({"instance_type": "t3.medium"}, "dev_environment.instance_type", "not a SageMaker instance type"),
        ({"volume_size_in_gb": 4}, "dev_environment.volume_size_in_gb", "greater than or equal to 5"),
        ({"kms_key_arn": "alias/mine"}, "dev_environment.kms_key_arn", "KMS key ARN"),
        (
            {"platform_identifier": "notebook-al1-v1"},
            "dev_environment.platform_identifier",
            "notebook-al2-v3",
        ),
    ],
)
def test_bad_settings_name_the_key(
    make_config: Any, settings: dict[str, Any], location: str, message: str
) -> None:
    found = errors(make_config, enable_dev_environment=True, dev_environment=settings)
    assert location in found, found
    assert message in found[location]


def test_private_subnets_need_the_vpc_for_the_security_group(make_config: Any) -> None:
    found = errors(
        make_config, enable_dev_environment=True, environment={"private_subnets": ["subnet-0aaa1111"]}
    )
    assert "environment.vpc_id" in found["dev_environment"]
    # Without the dev environment, the same environment is none of its business.
    assert make_config(environment={"private_subnets": ["subnet-0aaa1111"]}).environment is not None


def test_every_bad_key_is_reported_at_once(make_config: Any) -> None:
    found = errors(
        make_config,
        enable_dev_environment=True,
        dev_environment={"instance_type": "big", "idle_shutdown_minutes": 1, "git_branch": "x"},
    )
    assert set(found) >= {
        "dev_environment.instance_type",
        "dev_environment.idle_shutdown_minutes",
        "dev_environment.git_branch",
    }


# --- The policy builders -----------------------------------------------------------------------------------------


ACCOUNT = iam.Account("aws", REGION, ACCOUNT_ID)
LAKE = iam.LakeTargets("features", ["data/train/", "data/score/"], "sandbox/", "mlops_test_lake", KEY)


def notebook_targets(**changes: Any) -> iam.NotebookTargets:
    values: dict[str, Any] = {
        "notebook_name": "mlops-test-notebook",
        "job_name": "Employee-Attrition",
        "lake": LAKE,
        "read_buckets": ["extracts", "models", "metadata", "output"],
        "bundle_bucket": "source",
        "bundle_prefix": "devenv/",
        "athena_workgroup": "mlops-test-explore",
        "athena_results_bucket": "output",
        "athena_results_prefix": "athena-results/",
        "crawler_name": "mlops-test-feature-store",
        "codecommit_repository_arn": f"arn:aws:codecommit:{REGION}:{ACCOUNT_ID}:mlops-test-project",
        "git_secret_arn": None,
        "state_machine_arn": f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:mlops-test-training",
        "endpoint_name": "Training-Endpoint",
        "glue_session_role_arn": f"arn:aws:iam::{ACCOUNT_ID}:role/glue-session",
    }
    values.update(changes)
    return iam.NotebookTargets(**values)


POLICIES = {
    "notebook (everything)": iam.notebook_policy(ACCOUNT, notebook_targets()),
    "notebook (minimal)": iam.notebook_policy(
        ACCOUNT,
        notebook_targets(
            crawler_name=None,
            codecommit_repository_arn=None,
            git_secret_arn=SECRET,
            state_machine_arn=None,
            endpoint_name=None,
            glue_session_role_arn=None,
            lake=iam.LakeTargets("features", ["data/train/"], "sandbox/", "db", None),
        ),
    ),
    "glue session": iam.glue_session_policy(ACCOUNT, lake=LAKE, extracts_bucket="extracts"),
}


@pytest.mark.parametrize("name", list(POLICIES))
def test_policies_are_parliament_clean_with_no_wildcard_actions(name: str) -> None:
    assert lint(POLICIES[name]) == []
    assert wildcard_problems(POLICIES[name]) == []


def test_sagemaker_arns_are_lowercased_as_sagemaker_writes_them() -> None:
    policy = POLICIES["notebook (everything)"]
    assert allows(
        policy,
        "sagemaker:InvokeEndpoint",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint/training-endpoint",
    )
    assert allows(
        policy,
        "sagemaker:DescribeHyperParameterTuningJob",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:hyper-parameter-tuning-job/employee-attrition-0a1b2c3d4e5f",
    )


def test_the_only_resource_wildcard_is_the_one_action_without_resources() -> None:
    starred = [
        s
        for policy in POLICIES.values()
        for s in policy["Statement"]
        if s["Resource"] == "*" or s["Resource"] == ["*"]
    ]
    assert [s["Action"] for s in starred] == [["glue:ListSessions"]]
