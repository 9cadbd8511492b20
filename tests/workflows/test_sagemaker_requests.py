"""What the workflow asks SageMaker for: the guarantees a user relies on in each request (no network for
the model, their KMS key on every volume and output, their instances, their tags, the input mode the
bring-your-own container reads)."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_component.builders.state_machines import training_workflow as wf
from tests.workflows.deploy import BATCH_TRANSFORM, CREATE_ENDPOINT_CONFIG, CREATE_MODEL, deploy_states
from tests.workflows.test_training_workflow import ENDPOINT_MODE, RESOURCES

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MODES = ["Batch Transform", ENDPOINT_MODE]


def _tuning_job(config) -> dict[str, Any]:
    return wf.training_definition(config, RESOURCES)["States"][wf.TUNE]["Parameters"]


@pytest.mark.parametrize("mode", MODES)
def test_the_model_and_its_training_jobs_run_without_network_access(make_config, mode: str) -> None:
    config = make_config(endpoint_or_batch_transform=mode)
    assert deploy_states(config)[CREATE_MODEL]["Parameters"]["EnableNetworkIsolation"] is True
    assert _tuning_job(config)["TrainingJobDefinition"]["EnableNetworkIsolation"] is True


def test_training_reads_its_channels_as_files_and_every_job_runs_to_the_end(make_config) -> None:
    # The bring-your-own container reads /opt/ml/input/data/<channel>/*.csv (File mode), not a FIFO (Pipe).
    tuning = _tuning_job(make_config())
    assert tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert tuning["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Off"


HEADLINE_METRICS = ["accuracy", "roc_auc", "precision", "recall", "f1"]


@pytest.mark.parametrize(
    "objective, direction, recorded",
    [("f1", "Maximize", HEADLINE_METRICS), ("logloss", "Minimize", [*HEADLINE_METRICS, "logloss"])],
)
def test_every_training_job_keeps_the_headline_metrics_and_the_objective(
    make_config, objective: str, direction: str, recorded: list[str]
) -> None:
    # SageMaker keeps only the metrics a MetricDefinition reads from the training log: these are what the run
    # record and the model package's mlops:metric:<name> tags carry, and the objective the tuner compares.
    config = make_config(tuning_metric=objective, tuning_objective=direction)
    definitions = _tuning_job(config)["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    assert definitions == [{"Name": name, "Regex": wf.metric_regex(name)} for name in recorded]


@pytest.mark.parametrize("count, encrypted", [(1, False), (2, True)])
def test_traffic_between_training_hosts_is_encrypted(make_config, count: int, encrypted: bool) -> None:
    job = _tuning_job(make_config(training_job_instance_count=count))["TrainingJobDefinition"]
    assert job["ResourceConfig"]["InstanceCount"] == count
    assert job["EnableInterContainerTrafficEncryption"] is encrypted


def test_the_kms_key_encrypts_the_transform_output_and_its_volumes(make_config) -> None:
    transform = deploy_states(make_config(kms_key_arn=KEY))[BATCH_TRANSFORM]["Parameters"]
    assert transform["TransformOutput"]["KmsKeyId"] == KEY
    assert transform["TransformResources"]["VolumeKmsKeyId"] == KEY
    plain = deploy_states(make_config())[BATCH_TRANSFORM]["Parameters"]
    assert "KmsKeyId" not in plain["TransformOutput"] and "VolumeKmsKeyId" not in plain["TransformResources"]


def test_the_kms_key_encrypts_the_endpoints_volumes(make_config) -> None:
    endpoint_config = deploy_states(make_config(endpoint_or_batch_transform=ENDPOINT_MODE, kms_key_arn=KEY))[
        CREATE_ENDPOINT_CONFIG
    ]["Parameters"]
    assert endpoint_config["KmsKeyId"] == KEY
    plain = deploy_states(make_config(endpoint_or_batch_transform=ENDPOINT_MODE))[CREATE_ENDPOINT_CONFIG]
    assert "KmsKeyId" not in plain["Parameters"]


def test_the_endpoint_serves_all_traffic_from_the_configured_instances(make_config) -> None:
    config = make_config(
        endpoint_or_batch_transform=ENDPOINT_MODE,
        endpoint_instance_type="ml.c5.large",
        endpoint_instance_count=2,
    )
    endpoint_config = deploy_states(config)[CREATE_ENDPOINT_CONFIG]["Parameters"]
    assert endpoint_config["EndpointConfigName.$"] == "$.deployment.name"
    assert endpoint_config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName.$": "$.deployment.name",
            "InitialInstanceCount": 2,
            "InstanceType": "ml.c5.large",
            "InitialVariantWeight": 1,
        }
    ]


def test_the_transform_runs_on_the_configured_instances(make_config) -> None:
    config = make_config(batch_transform_instance_type="ml.c5.xlarge", batch_transform_instance_count=2)
    transform = deploy_states(config)[BATCH_TRANSFORM]["Parameters"]
    assert transform["TransformResources"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}
    # The model container refuses a request without a type it reads (415), and the filters pick CSV columns.
    assert transform["TransformInput"]["ContentType"] == "text/csv"
    assert transform["TransformOutput"]["Accept"] == "text/csv"
    assert transform["TransformOutput"]["AssembleWith"] == "Line"


@pytest.mark.parametrize("mode", MODES)
def test_everything_a_run_creates_carries_the_stacks_tags(make_config, mode: str) -> None:
    # What a run creates is not tracked by Pulumi: the tags are how a user finds it (cost, clean-up).
    config = make_config(endpoint_or_batch_transform=mode, resource_tags={"team": "ml"})
    stack_tags = [{"Key": "mlops:name-prefix", "Value": config.name_prefix}, {"Key": "team", "Value": "ml"}]
    assert _tuning_job(config)["Tags"] == [
        {"Key": "mlops:created-by", "Value": "training-workflow"},
        *stack_tags,
    ]
    states = deploy_states(config)
    deployed = [states[CREATE_MODEL]["Parameters"]]
    deployed.append(states[BATCH_TRANSFORM if config.is_batch else CREATE_ENDPOINT_CONFIG]["Parameters"])
    for request in deployed:
        # ...and which model package a deployment's model and job serve, for audits and rollback.
        assert request["Tags"] == [
            {"Key": "mlops:created-by", "Value": "deployment-workflow"},
            *stack_tags,
            {"Key": "mlops:model-package", "Value.$": "$.package.ModelPackageArn"},
        ]
