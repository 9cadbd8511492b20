"""`mlops local-run`: the whole pipeline on this machine, with the code the cloud runs and an embedded AWS.

- `runner`: the stages, in the order the training workflow runs them, and what the run writes.
- `aws`: moto in-process: the stores, the state machine, the Lambda handlers invoked as Lambda would.
- `asl`: the workflow's real definition, evaluated against the run's state.
- `tuning`: the tuning job, with Optuna and the container's `train` program per trial.
- `scoring`: the container's `serve` program, Batch Transform's mini-batches, the endpoint's smoke request.
- `report`: the HTML picture of the run (`model_quality`: the best model's quality report, read and drawn).
  `progress`: what the run prints while it works.

Needs the `local` extra (moto, Optuna, and the ETL and container libraries).
"""

from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.runner import (
    STAGES,
    LocalRunOptions,
    local_config,
    run_local,
    unsupported,
)

__all__ = ["STAGES", "LocalRunError", "LocalRunOptions", "local_config", "run_local", "unsupported"]
