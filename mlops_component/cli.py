"""The `mlops` command: offline tools around the component (validate a stack, and more in later releases)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops_component.config import MlOpsConfig
from mlops_component.stack_config import StackConfigError, from_stack_file

DEFAULT_STACK_FILE = "Pulumi.dev.yaml"


def describe(config: MlOpsConfig) -> str:
    """A few lines saying what a deployment of `config` would run."""
    image = (
        config.built_in_model_image or f"bring-your-own image built from {config.byo_model_image_source_path}"
    )
    mode: str = config.endpoint_or_batch_transform
    if not config.is_batch:
        mode = f"{mode} -> endpoint '{config.endpoint_name}'"
    return "\n".join(
        [
            f"  name prefix   {config.name_prefix}",
            f"  job name      {config.job_name}",
            f"  inference     {mode}",
            f"  model image   {image}",
            f"  tuning        {config.max_number_training_jobs} job(s), {config.max_parallel_training_jobs} at a "
            f"time, {config.tuning_objective.lower()} {config.tuning_metric} over "
            f"{', '.join(config.parameter_ranges.names())}",
            f"  gate          {config.tuning_metric} {config.inference_comparison_operator} "
            f"{config.inference_metric_threshold}",
            f"  feature store {config.feature_store_override or 'created by the stack'}",
        ]
    )


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.stack_file)
    try:
        config, encrypted = from_stack_file(path)
    except StackConfigError as error:
        print(f"{path}: invalid", file=sys.stderr)
        print("\n".join(f"  {p}" for p in error.problems), file=sys.stderr)
        return 1
    print(f"{path}: valid")
    print(describe(config))
    if encrypted:
        print(f"  not checked offline (encrypted): {', '.join(encrypted)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="mlops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="validate a stack config file offline")
    validate.add_argument(
        "--stack-file", default=DEFAULT_STACK_FILE, help=f"Pulumi stack file (default: {DEFAULT_STACK_FILE})"
    )
    validate.set_defaults(run=_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mlops` console script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
