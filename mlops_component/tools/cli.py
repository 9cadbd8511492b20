"""The `mlops` command: offline tools around the component (validate a stack, generate sample data, run the
whole pipeline locally, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mlops_component.config import MlOpsConfig
from mlops_component.config.stack_file import StackConfigError, from_stack_file, stack_region

DEFAULT_STACK_FILE = "Pulumi.dev.yaml"
# The stack keys that name local data files, in both spellings.
_LOCAL_DATA_KEYS = tuple(
    f"mlops:{key}" for key in ("trainLocalPath", "scoreLocalPath", "train_local_path", "score_local_path")
)


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


def _load_stack(path: Path) -> tuple[MlOpsConfig, list[str]] | None:
    """The stack file's config, or None after printing every problem."""
    try:
        return from_stack_file(path)
    except StackConfigError as error:
        print(f"{path}: invalid", file=sys.stderr)
        print("\n".join(f"  {p}" for p in error.problems), file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.stack_file)
    loaded = _load_stack(path)
    if loaded is None:
        return 1
    config, encrypted = loaded
    print(f"{path}: valid")
    print(describe(config))
    if encrypted:
        print(f"  not checked offline (encrypted): {', '.join(encrypted)}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from mlops_component.builders import iam
    from mlops_component.tools import render

    path = Path(args.stack_file)
    loaded = _load_stack(path)
    if loaded is None:
        return 1
    config, _ = loaded
    region = (
        (config.environment and config.environment.aws_region) or stack_region(path) or render.DEFAULT_REGION
    )
    account = iam.Account(args.partition, region, args.account_id)
    for written in render.write(render.render(config, account), Path(args.out)):
        print(written)
    if args.account_id == render.PLACEHOLDER_ACCOUNT_ID:
        print(f"(account id {args.account_id} is a placeholder; pass --account-id for yours)")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from mlops_component.tools import docs

    return docs.regenerate(Path(args.root), args.check)


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        return value

    return parse


def _sample_data(args: argparse.Namespace) -> int:
    try:
        # numpy, pandas and pyarrow are the `etl` extra, not core dependencies: import them only when asked.
        from mlops_component.tools.sample_data import write_sample_data
    except ImportError as error:
        print(
            f"mlops sample-data needs numpy, pandas and pyarrow ({error.name} is missing); install them with:\n"
            "  pip install 'mlops-component[etl]'",
            file=sys.stderr,
        )
        return 1
    try:
        files = write_sample_data(args.out, args.rows, score_rows=args.score_rows, seed=args.seed)
    except OSError as error:
        print(f"cannot write to {args.out}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"wrote {files.train} ({files.train_rows} rows, with Attrition)")
    print(f"wrote {files.score} ({files.score_rows} rows, without Attrition)")
    return 0


def _local_run(args: argparse.Namespace) -> int:
    try:
        # moto, Optuna, xgboost, ... are the `local` extra, not core dependencies: import them only when asked.
        from mlops_component.tools.local_run import (
            LocalRunError,
            LocalRunOptions,
            local_config,
            run_local,
            unsupported,
        )
    except ImportError as error:
        print(
            f"mlops local-run needs the `local` extra ({error.name} is missing); install it with:\n"
            "  pip install 'mlops-component[local]'",
            file=sys.stderr,
        )
        return 1
    if args.stack_file:
        path = Path(args.stack_file)
        try:
            config, encrypted = from_stack_file(path)
        except StackConfigError as error:
            print(f"{path}: invalid", file=sys.stderr)
            print("\n".join(f"  {p}" for p in error.problems), file=sys.stderr)
            if any(p.startswith(_LOCAL_DATA_KEYS) for p in error.problems):
                print(
                    "mlops local-run uses trainLocalPath and scoreLocalPath as its data: create them with "
                    "`mlops sample-data --out <folder>`, or set both to null to run on generated data.",
                    file=sys.stderr,
                )
            return 1
        if encrypted:
            print(f"{path}: encrypted keys are left at their defaults locally: {', '.join(encrypted)}")
    else:
        config = local_config()
    problems = unsupported(config)
    if problems:
        print("mlops local-run cannot run this configuration:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    options = LocalRunOptions(
        out_dir=Path(args.out),
        train=Path(args.train) if args.train else None,
        score=Path(args.score) if args.score else None,
        stack_file=Path(args.stack_file) if args.stack_file else None,
        rows=args.rows,
        seed=args.seed,
        approve=args.approve,
    )
    try:
        summary = run_local(config, options)
    except LocalRunError as error:
        print(f"\nmlops local-run failed at {error.stage}: {error.message}", file=sys.stderr)
        if error.kept:
            print(f"What the run produced so far is kept in {args.out}:", file=sys.stderr)
            print("\n".join(f"  {line}" for line in error.kept), file=sys.stderr)
        else:
            print(f"Nothing was written to {args.out}.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nmlops local-run interrupted; what it produced so far is in {args.out}", file=sys.stderr)
        return 130
    best, package = summary["best"], summary.get("model_package") or {}
    if best is None:  # a score-only run
        what = f"scored with model package version {package.get('version')} ({package.get('arn')})"
    else:
        what = f"{best['objective_metric']} {best['value']:.4f} passed {summary['operator']} {summary['threshold']}"
    print(f"\nmlops local-run succeeded in {summary['timings']['total']:.1f}s: {what}")
    for key, path in summary["outputs"].items():
        print(f"  {key:<12} {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        # parliament is the `policy` extra, not a core dependency: import it only when asked.
        from mlops_component.tools import check
    except ImportError as error:
        print(
            f"mlops check needs the `policy` extra ({error.name} is missing); install it with:\n"
            "  pip install 'mlops-component[policy]'",
            file=sys.stderr,
        )
        return 1
    path = Path(args.stack_file)
    loaded = _load_stack(path)
    if loaded is None:
        return 1
    config, encrypted = loaded
    try:
        resources = check.as_policy_resources(check.build(config, check.stack_name(path)))
    except Exception as error:  # the component's own checks (a missing Dockerfile, ...) end the build
        print(f"{path}: cannot build the stack offline: {error}", file=sys.stderr)
        return 1
    lines, status = check.report(check.check(resources))
    print(f"{path}: {len(resources)} resources checked")
    if encrypted:
        print(f"  not checked offline (encrypted): {', '.join(encrypted)}")
    print("\n".join(lines))
    return status


def _rollback(args: argparse.Namespace) -> int:
    import boto3  # only this command talks to AWS

    from mlops_component.tools.rollback import RollbackError, Stack, caller_account, rollback

    path = Path(args.stack_file)
    loaded = _load_stack(path)
    if loaded is None:
        return 1
    config, _ = loaded
    session = boto3.session.Session()
    region = (
        (config.environment and config.environment.aws_region) or stack_region(path) or session.region_name
    )
    if not region:
        print(f"{path}: no region: set aws:region in the stack file or AWS_REGION", file=sys.stderr)
        return 1
    try:
        stack = Stack.of(config, caller_account(session.client("sts", region_name=region), region))
        started = rollback(
            stack,
            sagemaker=session.client("sagemaker", region_name=region),
            s3=session.client("s3", region_name=region),
            sfn=session.client("stepfunctions", region_name=region),
            version=args.version,
        )
    except RollbackError as error:
        print(f"mlops rollback: {error}", file=sys.stderr)
        return 1
    print(f"started {started.execution_name}: deploying version {started.version} ({started.package_arn})")
    if started.score_uri:
        print(f"  scoring {started.score_uri}")
    print(f"  {started.execution_arn}")
    return 0


def _package_schema(args: argparse.Namespace) -> int:
    from mlops_component.tools.provider import package_schema

    print(json.dumps(package_schema(), indent=2, sort_keys=True))
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

    sample = commands.add_parser(
        "sample-data",
        help="write synthetic employee-attrition train.csv and score.csv (docs/dataset.md)",
        description="Write synthetic employee-attrition data in the raw 35-column schema of docs/dataset.md: "
        "train.csv (with the Attrition label) and score.csv (without). The same seed gives the same files.",
    )
    sample.add_argument("--rows", type=_at_least(1), default=2000, help="training rows (default: 2000)")
    sample.add_argument(
        "--score-rows", type=_at_least(1), default=None, help="scoring rows (default: a quarter of --rows)"
    )
    sample.add_argument("--out", default="data", help="output folder, created if needed (default: data)")
    sample.add_argument("--seed", type=_at_least(0), default=42, help="random seed (default: 42)")
    sample.set_defaults(run=_sample_data)

    render = commands.add_parser(
        "render",
        help="write the state machine definitions and diagrams a stack would deploy",
        description="Render what `pulumi up` would deploy for a stack config, offline: the Amazon States "
        "Language definition of each state machine and Mermaid diagrams, for review before deploying.",
    )
    render.add_argument(
        "--stack-file", default=DEFAULT_STACK_FILE, help=f"Pulumi stack file (default: {DEFAULT_STACK_FILE})"
    )
    render.add_argument("--out", required=True, help="output folder, created if needed")
    render.add_argument(
        "--account-id", default="123456789012", help="AWS account id for ARNs (default: a placeholder)"
    )
    render.add_argument("--partition", default="aws", help="AWS partition (default: aws)")
    render.set_defaults(run=_render)

    check = commands.add_parser(
        "check",
        help="run the policy pack and the IAM lint over a stack, offline (exit 1 on a mandatory violation)",
        description="Build a stack offline under recording mocks, as `pulumi preview` would register it, and run "
        "the policy pack (policy/) and parliament's IAM lint over every resource. Prints one line per violation: "
        "<level> <policy> <resource>: <message>.",
    )
    check.add_argument(
        "--stack-file", default=DEFAULT_STACK_FILE, help=f"Pulumi stack file (default: {DEFAULT_STACK_FILE})"
    )
    check.set_defaults(run=_check)

    schema = commands.add_parser(
        "package-schema",
        help="print the schema of the `mlops` component package (what `pulumi package add` generates SDKs from)",
        description="Print, offline, the Pulumi package schema the component provider (PulumiPlugin.yaml) serves: "
        "the same analysis of the components' declared inputs and outputs. docs/package.md shows its use.",
    )
    schema.set_defaults(run=_package_schema)

    _add_rollback(commands)

    docs = commands.add_parser("docs", help="regenerate the reference, tables and diagrams in docs/")
    docs.add_argument("--root", default=".", help="repository folder holding docs/ (default: .)")
    docs.add_argument("--check", action="store_true", help="only report whether docs/ is up to date")
    docs.set_defaults(run=_docs)

    _add_local_run(commands)
    return parser


def _add_rollback(commands: argparse._SubParsersAction) -> None:
    """`mlops rollback`: redeploy an earlier approved model package."""
    rollback = commands.add_parser(
        "rollback",
        help="redeploy a previously approved model package of a deployed stack",
        description="Start the stack's deployment workflow on an approved model package: --version N, or by "
        "default the approved package before the one deployed last (docs/rollback.md).",
    )
    rollback.add_argument(
        "--stack-file", default=DEFAULT_STACK_FILE, help=f"Pulumi stack file (default: {DEFAULT_STACK_FILE})"
    )
    rollback.add_argument(
        "--version", type=_at_least(1), default=None, help="the approved package version to deploy"
    )
    rollback.set_defaults(run=_rollback)


def _add_local_run(commands: argparse._SubParsersAction) -> None:
    """`mlops local-run`: its options are many enough for a function of their own."""
    local = commands.add_parser(
        "local-run",
        help="run the whole pipeline on this machine: ETL, tuning, gate, inference (no AWS, no Docker)",
        description="Run the pipeline locally with the code the cloud runs: the ETL script, the container's train "
        "and serve programs and the Lambda handlers, against an embedded AWS (moto). Without --train, sample data "
        "is generated. Writes predictions.csv, summary.json, report.html and the best model to --out.",
    )
    local.add_argument(
        "--train",
        metavar="FILE",
        help="raw training CSV (default: the stack's trainLocalPath, else generated)",
    )
    local.add_argument(
        "--score",
        metavar="FILE",
        help="raw scoring CSV for batch mode (default: the stack's scoreLocalPath, the generated score file, "
        "or the training file)",
    )
    local.add_argument(
        "--stack-file",
        metavar="FILE",
        help="Pulumi stack file to take the settings from (default: the defaults)",
    )
    local.add_argument("--out", required=True, metavar="DIR", help="output folder, created if needed")
    local.add_argument(
        "--rows", type=_at_least(10), default=2000, help="rows of generated training data (default: 2000)"
    )
    local.add_argument(
        "--seed", type=_at_least(0), default=42, help="seed of the generated data and the tuner (default: 42)"
    )
    local.add_argument(
        "--approve",
        action="store_true",
        help="with modelApprovalMode manual: approve the registered package in this run, then deploy it",
    )
    local.set_defaults(run=_local_run)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mlops` console script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
