"""What the Lambda functions cost per container and per invocation, as ratios against baselines run here.

1. Cold start: importing each handler module in a fresh interpreter, against importing boto3 (which the runtime
   pays anyway). A ratio near 1.0 means the function's own code adds almost nothing to a cold start.
2. Warm invocations: the cached client every invocation reuses, against creating a client per invocation (what
   a handler that builds its client inside the function body pays).
3. The trigger's own work per S3 record (parse, classify, name the execution), against `json.loads` of the
   same notification, the least any handler does with it.

Run with `make bench` or `.venv/bin/python benchmarks/bench_functions.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from functions import common, trigger  # noqa: E402

COLD_RUNS = 7


def cold_import_ms(module: str) -> tuple[float, float]:
    """Medians, in a fresh interpreter each time, of importing boto3 and then importing `module` on top of it."""
    code = (
        "import time; t0 = time.perf_counter(); import boto3; t1 = time.perf_counter(); "
        f"import {module}; t2 = time.perf_counter(); print((t1 - t0) * 1000, (t2 - t1) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_DEFAULT_REGION": "us-east-1"}
    boto, own = [], []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
        first, second = map(float, out.stdout.split())
        boto.append(first)
        own.append(second)
    return statistics.median(boto), statistics.median(own)


def per_call_seconds(call: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over five rounds of `repeat` calls."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        rounds.append((time.perf_counter() - started) / repeat)
    return statistics.median(rounds)


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print("bench_functions: Lambda cold start and per-invocation overhead")

    for module in ("trigger", "run_metadata", "endpoint", "rename_output"):
        boto, own = cold_import_ms(f"functions.{module}")
        print(
            f"  cold start functions.{module:<14} import boto3 {boto:6.1f} ms (baseline) + own code {own:5.1f} ms"
            f"  ratio {(boto + own) / boto:4.2f}x"
        )

    common.reset_clients()
    common.client("s3")
    cached = per_call_seconds(lambda: common.client("s3"), repeat=20000)
    fresh = per_call_seconds(lambda: boto3.client("s3", config=common.CLIENT_CONFIG), repeat=20)
    print(
        f"  client per invocation: cached {cached * 1e6:8.2f} us, created {fresh * 1e3:7.2f} ms  "
        f"ratio created/cached {fresh / cached:,.0f}x"
    )

    event = (REPO / "tests" / "events" / "s3_put_train.json").read_text()
    settings = trigger.Settings(
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:x", mode="batch"
    )

    def decide() -> str:
        (record,) = trigger.parse_event(json.loads(event))
        trigger.classify(record.key, settings)
        ref = trigger.ObjectRef(record.bucket, record.key, record.version_id, record.etag or "")
        return trigger.execution_name(ref, ref)

    loads = per_call_seconds(lambda: json.loads(event), repeat=20000)
    work = per_call_seconds(decide, repeat=20000)
    print(
        f"  trigger work per record: {work * 1e6:7.2f} us vs json.loads {loads * 1e6:6.2f} us  "
        f"ratio {work / loads:5.2f}x"
    )


if __name__ == "__main__":
    main()
