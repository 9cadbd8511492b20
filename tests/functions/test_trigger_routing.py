"""What starts what (issue 16): the trigger's routing of score data, model package approvals and schedules,
executed through the handler against moto (S3, Step Functions, the SageMaker model registry) with real-shaped
events from `tests/events/` (the approval event follows the example in SageMaker's EventBridge documentation)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from functions import common, trigger
from functions.common import ConfigurationError, InvalidEvent
from tests.functions.conftest import TRIGGER_REGISTRY_ENV
from tests.functions.lambda_events import ACCOUNT, REGION, load_event
from tests.functions.test_lambda_trigger import (
    BUCKET,
    NAME,
    SCORE_KEY,
    TRAIN_KEY,
    executions,
    land,
    notification,
    ref,
)

GROUP = TRIGGER_REGISTRY_ENV["MODEL_PACKAGE_GROUP"]
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops-test-model@sha256:{'4d' * 32}"


# --- Fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def sfn(aws: None) -> Any:
    return common.client("stepfunctions")


@pytest.fixture
def sagemaker(aws: None) -> Any:
    client = common.client("sagemaker")
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    return client


def _state_machine(sfn: Any, name: str) -> str:
    response = sfn.create_state_machine(
        name=name,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-test-states",
    )
    return str(response["stateMachineArn"])


@pytest.fixture
def workflows(sfn: Any, s3: Any, sagemaker: Any) -> dict[str, str]:
    """The training and deployment state machines, and the versioned feature store."""
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    deployment = _state_machine(sfn, "mlops-test-deployment")
    assert deployment == TRIGGER_REGISTRY_ENV["DEPLOYMENT_STATE_MACHINE_ARN"]
    return {"training": _state_machine(sfn, "mlops-test-training"), "deployment": deployment}


@pytest.fixture
def batch(monkeypatch: pytest.MonkeyPatch, workflows: dict[str, str]) -> dict[str, str]:
    monkeypatch.setenv("STATE_MACHINE_ARN", workflows["training"])
    monkeypatch.setenv("INFERENCE_MODE", "batch")
    return workflows


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, workflows: dict[str, str]) -> dict[str, str]:
    monkeypatch.setenv("STATE_MACHINE_ARN", workflows["training"])
    monkeypatch.setenv("INFERENCE_MODE", "endpoint")
    return workflows


def register(
    sagemaker: Any, status: str, mode: str | None = "manual", run: str = "employee-attrition-1"
) -> str:
    """A package as the register step creates it; `mode` None: one registered by hand, without our metadata."""
    properties = {"mlops:run": run, "mlops:approval-mode": mode} if mode else {}
    response = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://models/tuning/{run}/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **({"CustomerMetadataProperties": properties} if properties else {}),
    )
    return str(response["ModelPackageArn"])


def package_event(arn: str, status: str = "Approved", group: str = GROUP) -> dict[str, Any]:
    """The documented state change event for the package `arn`, with `status`."""
    event = load_event("eventbridge_model_package_approved.json")
    event["resources"] = [arn]
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelApprovalStatus=status)
    return event


def schedule(name: str, **changes: Any) -> dict[str, Any]:
    event = load_event(f"scheduler_{name}.json")
    event.update(changes)
    return event


# --- Score data landing alone --------------------------------------------------------------------------------------


def test_score_landing_alone_deploys_the_latest_approved_and_never_retrains(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    register(sagemaker, "Approved", mode="automatic")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    event = notification("s3_multipart_score.json", score)

    summaries = [trigger.handler(event, context) for _ in range(2)]  # delivered twice

    assert executions(sfn, batch["training"]) == []
    (run,) = executions(sfn, batch["deployment"])
    assert run["input"] == {"modelPackageArn": None, "score": ref(score, SCORE_KEY), "cause": "score-landed"}
    assert NAME.fullmatch(run["name"]) and run["name"].startswith("score-landed-")
    assert summaries[0]["started"][0] | {"execution_arn": None} == {
        "execution_name": run["name"],
        "workflow": "deployment",
        "cause": "score-landed",
        "model_package": "latest approved",
        "score": f"s3://{BUCKET}/{SCORE_KEY}",
        "execution_arn": None,
    }
    # While the run is going, StartExecution with the same name and input returns the running execution.
    assert summaries[1]["started"][0]["execution_name"] == run["name"]


def test_each_new_score_file_deploys_again(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # Tomorrow's score file under the same key is new data: it is scored, not taken for yesterday's run.
    register(sagemaker, "Approved", mode="automatic")
    for rows in (b"EmployeeNumber\n2\n", b"EmployeeNumber\n3\n"):
        trigger.handler(notification("s3_multipart_score.json", land(s3, SCORE_KEY, rows)), context)

    runs = executions(sfn, batch["deployment"])
    assert len({run["name"] for run in runs}) == len(runs) == 2


def test_one_event_naming_the_same_score_version_twice_deploys_once(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    register(sagemaker, "Approved", mode="automatic")
    event = notification("s3_multipart_score.json", land(s3, SCORE_KEY, b"EmployeeNumber\n2\n"))
    event["Records"].append(copy.deepcopy(event["Records"][0]))

    summary = trigger.handler(event, context)

    (run,) = executions(sfn, batch["deployment"])
    (started,) = summary["started"]
    assert started["execution_name"] == run["name"]
    # The duplicate is described as the run it repeats.
    assert summary["duplicates"] == [{k: v for k, v in started.items() if k != "execution_arn"}]


def test_score_landing_with_only_a_pending_package_still_does_not_retrain(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # Manual mode's first run registered a package nobody has approved yet: the deployment workflow is the one
    # that finds no approved package and says so ("No Approved Model"); training data does not run again.
    land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    register(sagemaker, "PendingManualApproval")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")

    trigger.handler(notification("s3_multipart_score.json", score), context)

    assert executions(sfn, batch["training"]) == []
    (run,) = executions(sfn, batch["deployment"])
    assert run["input"]["modelPackageArn"] is None and run["input"]["cause"] == "score-landed"


def test_score_landing_before_any_model_trains_on_the_waiting_train_data(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # The first run, train data landed first: with nothing registered, there is nothing to score with.
    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")

    trigger.handler(notification("s3_multipart_score.json", score), context)

    assert executions(sfn, batch["deployment"]) == []
    (run,) = executions(sfn, batch["training"])
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)}


def test_train_landing_retrains_even_with_an_approved_package(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    register(sagemaker, "Approved", mode="automatic")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")

    trigger.handler(notification("s3_put_train.json", train), context)

    assert executions(sfn, batch["deployment"]) == []
    (run,) = executions(sfn, batch["training"])
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)}


# --- Model package approvals ----------------------------------------------------------------------------------------


def test_approving_a_pending_package_deploys_it_on_the_newest_score_data(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # Landed in the same second as the newer one (the key breaks the tie): not the newest.
    land(s3, "data/score/0-older.csv", b"old\n")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, "PendingManualApproval")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    # SageMaker may send several events for one state change: they start one deployment.
    summaries = [trigger.handler(package_event(arn), context) for _ in range(2)]

    assert executions(sfn, batch["training"]) == []
    (run,) = executions(sfn, batch["deployment"])
    assert run["input"] == {
        "modelPackageArn": arn,
        "score": ref(score, SCORE_KEY),
        "cause": "approval",
    }
    assert NAME.fullmatch(run["name"]) and run["name"].startswith("approval-")
    assert summaries[0]["started"][0]["model_package"] == arn
    assert summaries[1]["started"][0]["execution_name"] == run["name"]


def test_approving_again_after_a_rejection_deploys_again(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, "PendingManualApproval")
    for status in ("Approved", "Rejected", "Approved"):
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        trigger.handler(package_event(arn, status), context)

    runs = executions(sfn, batch["deployment"])
    assert len(runs) == 2 and len({r["name"] for r in runs}) == 2
    assert all(r["input"]["modelPackageArn"] == arn for r in runs)


def test_approval_in_endpoint_mode_deploys_without_score_data(
    endpoint: dict[str, str], sfn: Any, sagemaker: Any, context: Any
) -> None:
    arn = register(sagemaker, "PendingManualApproval")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    trigger.handler(package_event(arn), context)

    (run,) = executions(sfn, endpoint["deployment"])
    assert run["input"] == {"modelPackageArn": arn, "score": None, "cause": "approval"}


def test_approval_with_no_score_data_yet_deploys_nothing_and_says_so(
    batch: dict[str, str], sfn: Any, sagemaker: Any, context: Any
) -> None:
    arn = register(sagemaker, "PendingManualApproval")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    summary = trigger.handler(package_event(arn), context)

    assert executions(sfn, batch["deployment"]) == []
    assert summary["ignored"] == [
        {"object": arn, "reason": "approved, but nothing to score under data/score/ yet: deployed nothing"}
    ]


def test_a_package_an_automatic_training_run_registered_is_not_deployed_twice(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # Automatic mode registers the package Approved and its training run deploys it; SageMaker still sends an
    # Approved state change for the new package. Its metadata, read back from the registry, tells them apart.
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, "Approved", mode="automatic", run="employee-attrition-7")

    summary = trigger.handler(package_event(arn), context)

    assert executions(sfn, batch["deployment"]) == []
    assert summary["ignored"] == [
        {
            "object": arn,
            "reason": "registered Approved by training run employee-attrition-7, which deploys it itself",
        }
    ]


def test_a_package_registered_outside_the_pipeline_deploys_when_approved(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, "Approved", mode=None)

    trigger.handler(package_event(arn), context)

    (run,) = executions(sfn, batch["deployment"])
    assert run["input"]["modelPackageArn"] == arn


@pytest.mark.parametrize("status", ["Rejected", "PendingManualApproval"])
def test_rejected_and_pending_packages_start_nothing(
    status: str, batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, status)

    summary = trigger.handler(package_event(arn, status), context)

    assert executions(sfn, batch["deployment"]) == executions(sfn, batch["training"]) == []
    assert summary["ignored"] == [{"object": arn, "reason": f"{status}: only an approval deploys"}]


def test_a_package_event_without_an_approval_status_starts_nothing_and_says_so(
    batch: dict[str, str], sfn: Any, sagemaker: Any, context: Any
) -> None:
    arn = register(sagemaker, "Approved")
    event = package_event(arn)
    del event["detail"]["ModelApprovalStatus"]

    summary = trigger.handler(event, context)

    assert executions(sfn, batch["deployment"]) == []
    assert summary["ignored"] == [{"object": arn, "reason": "no approval status: only an approval deploys"}]


def test_an_approval_superseded_by_a_rejection_deploys_nothing(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    # The Approved event arrives after the package was rejected again (events can arrive late).
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")
    arn = register(sagemaker, "Rejected")

    summary = trigger.handler(package_event(arn, "Approved"), context)

    assert executions(sfn, batch["deployment"]) == []
    assert summary["ignored"][0]["reason"] == (
        "no longer approved (now Rejected): a later change superseded this event"
    )


def test_another_stacks_group_is_ignored(batch: dict[str, str], sfn: Any, context: Any) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/other-models/3"

    summary = trigger.handler(package_event(arn, group="other-models"), context)

    assert executions(sfn, batch["deployment"]) == []
    assert summary["ignored"][0]["reason"] == f"group other-models is not this stack's group {GROUP}"


# --- Schedules -------------------------------------------------------------------------------------------------------


def test_scheduled_retraining_trains_on_the_newest_data_once_per_scheduled_time(
    batch: dict[str, str], s3: Any, sfn: Any, sagemaker: Any, context: Any
) -> None:
    land(s3, "data/train/0-older.csv", b"old\n")
    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")

    trigger.handler(schedule("retrain"), context)
    trigger.handler(schedule("retrain"), context)  # Scheduler retried the same invocation
    trigger.handler(schedule("retrain", **{"scheduled-time": "2026-12-02T02:00:00Z"}), context)

    runs = executions(sfn, batch["training"])
    assert len(runs) == 2 and len({r["name"] for r in runs}) == 2
    assert all(r["input"] == {"train": ref(train, TRAIN_KEY), "score": ref(score, SCORE_KEY)} for r in runs)
    assert executions(sfn, batch["deployment"]) == []


def test_scheduled_retraining_in_endpoint_mode_needs_no_score_data(
    endpoint: dict[str, str], s3: Any, sfn: Any, context: Any
) -> None:
    train = land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")

    trigger.handler(schedule("retrain"), context)

    (run,) = executions(sfn, endpoint["training"])
    assert run["input"] == {"train": ref(train, TRAIN_KEY), "score": None}


def test_scheduled_scoring_deploys_the_latest_approved_on_the_newest_score_data(
    batch: dict[str, str], s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, TRAIN_KEY, b"EmployeeNumber,Attrition\n1,Yes\n")
    score = land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")

    for _ in range(2):  # Scheduler retried the same invocation
        trigger.handler(schedule("score"), context)
    trigger.handler(schedule("score", **{"scheduled-time": "2026-12-02T06:00:00Z"}), context)  # the next day

    assert executions(sfn, batch["training"]) == []
    runs = executions(sfn, batch["deployment"])
    assert len(runs) == len({run["name"] for run in runs}) == 2
    for run in runs:
        assert run["input"] == {"modelPackageArn": None, "score": ref(score, SCORE_KEY), "cause": "schedule"}
        assert run["name"].startswith("schedule-")


@pytest.mark.parametrize(
    ("name", "landed", "reason"),
    [
        ("retrain", [SCORE_KEY], f"nothing to train on under s3://{BUCKET}/data/train/ yet"),
        ("retrain", [TRAIN_KEY], f"nothing to score under s3://{BUCKET}/data/score/ yet"),
        ("score", [TRAIN_KEY], f"nothing to score under s3://{BUCKET}/data/score/ yet"),
    ],
)
def test_schedules_without_data_start_nothing_and_say_why(
    name: str, landed: list[str], reason: str, batch: dict[str, str], s3: Any, sfn: Any, context: Any
) -> None:
    for key in landed:
        land(s3, key, b"x\n")

    summary = trigger.handler(schedule(name), context)

    assert executions(sfn, batch["training"]) == executions(sfn, batch["deployment"]) == []
    assert summary["ignored"] == [
        {"object": f"schedule {name} at {schedule(name)['scheduled-time']}", "reason": reason}
    ]


def test_a_schedule_without_a_scheduled_time_is_named_by_its_kind_alone(
    batch: dict[str, str], s3: Any, sfn: Any, context: Any
) -> None:
    summary = trigger.handler({"mlops-schedule": "retrain"}, context)

    assert summary["ignored"][0]["object"] == "schedule retrain"


def test_scheduled_scoring_in_endpoint_mode_starts_nothing(
    endpoint: dict[str, str], s3: Any, sfn: Any, context: Any
) -> None:
    land(s3, SCORE_KEY, b"EmployeeNumber\n2\n")

    summary = trigger.handler(schedule("score"), context)

    assert executions(sfn, endpoint["deployment"]) == []
    assert summary["ignored"][0]["reason"] == "scheduled scoring applies to batch mode only"


# --- Malformed events and configuration ----------------------------------------------------------------------------


def _package_event_without(field: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge_model_package_approved.json"))
    del event["detail"][field]
    return event


def _package_event_with(detail: Any) -> dict[str, Any]:
    return {**load_event("eventbridge_model_package_approved.json"), "detail": detail}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"mlops-schedule": "weekly"}, "mlops-schedule must be 'retrain' or 'score', got 'weekly'"),
        ({"mlops-schedule": 1}, "mlops-schedule must be a string, got an integer (1)"),
        ({"mlops-schedule": "score", "scheduled-time": 5}, "scheduled-time must be a string, got an integer (5)"),
        (_package_event_without("ModelPackageArn"), "detail.ModelPackageArn is missing"),
        (_package_event_without("ModelPackageGroupName"), "detail.ModelPackageGroupName is missing"),
        (_package_event_with(None), "detail must be a JSON object, got null"),
        (
            _package_event_with({**load_event("eventbridge_model_package_approved.json")["detail"], "ModelApprovalStatus": 5}),
            "detail.ModelApprovalStatus must be a string, got an integer (5)",
        ),
        (
            {**load_event("eventbridge_model_package_approved.json"), "detail-type": "SageMaker Training Job State Change"},
            "detail-type is 'SageMaker Training Job State Change'; this function handles 'SageMaker Model Package State Change' only",
        ),
        (
            {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change", "detail": {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned", "ModelPackageGroupName": GROUP}},
            "detail.ModelPackageArn 'arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned' is not a versioned model package ARN",
        ),
        ({}, "not an event this function handles: expected an S3 notification (Records), an EventBridge 'SageMaker Model Package State Change' (source aws.sagemaker) or a schedule (mlops-schedule); got keys: none"),
        ({"source": "aws.s3", "detail": {}}, "not an event this function handles: expected an S3 notification (Records), an EventBridge 'SageMaker Model Package State Change' (source aws.sagemaker) or a schedule (mlops-schedule); got keys: detail, source"),
    ],
)  # fmt: skip
def test_malformed_routing_events_fail_with_a_clear_error(
    event: dict[str, Any], message: str, batch: dict[str, str], sfn: Any, context: Any
) -> None:
    with pytest.raises(InvalidEvent) as raised:
        trigger.handler(event, context)

    assert str(raised.value) == message
    assert executions(sfn, batch["training"]) == executions(sfn, batch["deployment"]) == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DEPLOYMENT_STATE_MACHINE_ARN",
            None,
            "environment variable DEPLOYMENT_STATE_MACHINE_ARN is not set",
        ),
        (
            "DEPLOYMENT_STATE_MACHINE_ARN",
            "mlops-test-deployment",
            "DEPLOYMENT_STATE_MACHINE_ARN 'mlops-test-deployment' is not a Step Functions state machine ARN",
        ),
        ("MODEL_PACKAGE_GROUP", None, "environment variable MODEL_PACKAGE_GROUP is not set"),
        (
            "MODEL_PACKAGE_GROUP",
            "models/1",
            "MODEL_PACKAGE_GROUP 'models/1' is not a model package group name",
        ),
        ("FEATURE_BUCKET", None, "environment variable FEATURE_BUCKET is not set"),
    ],
)
def test_missing_or_bad_registry_settings_are_named(
    name: str,
    value: str | None,
    message: str,
    batch: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    context: Any,
) -> None:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        trigger.handler(schedule("score"), context)
