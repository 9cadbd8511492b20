"""The deploy states (Create Model, then Batch Transform or the endpoint config and endpoint) of a config's
deployment workflow, for tests of what they ask SageMaker for."""

from __future__ import annotations

from mlops_component.builders.state_machines import deployment_workflow as deploy_builder
from mlops_component.builders.state_machines.states import State
from mlops_component.config import MlOpsConfig
from tests.workflows.test_deployment_workflow import RESOURCES

CREATE_MODEL = deploy_builder.CREATE_MODEL
BATCH_TRANSFORM = deploy_builder.BATCH_TRANSFORM
CREATE_ENDPOINT_CONFIG = deploy_builder.CREATE_ENDPOINT_CONFIG


def deploy_states(config: MlOpsConfig) -> dict[str, State]:
    """Every state of the workflow that deploys `config`'s model, by name."""
    return deploy_builder.deployment_definition(config, RESOURCES)["States"]
