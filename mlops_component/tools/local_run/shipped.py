"""The deployed code a local run executes: the Lambda functions, the Glue script and the container's programs.

In a source checkout they sit next to `mlops_component`; an installed wheel carries them under
`mlops_component/_bundled/` (see `assets.py`). The functions are imported as the `functions` package, the Glue
script as a module loaded from its file (Glue runs it as a script, so it is not a package), and the container's
programs run as processes, as SageMaker runs them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from mlops_component.assets import asset_root
from mlops_component.tools.local_run.errors import LocalRunError


def import_functions() -> None:
    """Make the shipped `functions` package importable (a wheel install keeps it under `_bundled/`)."""
    root = str(asset_root())
    if root not in sys.path:
        sys.path.append(root)


def load_etl_script(path: Path) -> ModuleType:
    """The Glue script at `path`, imported as a module. It must offer `run_s3` and `TransformError`."""
    spec = importlib.util.spec_from_file_location("mlops_local_etl", path)
    if spec is None or spec.loader is None:
        raise LocalRunError("etl", f"cannot load the ETL script {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's own script may fail to import in any way
        raise LocalRunError(
            "etl", f"cannot import the ETL script {path}: {type(error).__name__}: {error}"
        ) from None
    if not callable(getattr(module, "run_s3", None)):
        raise LocalRunError(
            "etl",
            f"the ETL script {path} has no run_s3(s3, source_bucket=..., train_key=..., score_key=..., "
            "destination_bucket=..., inference_type=..., output_layout=...) function, which local runs call "
            "(etl/transform.py shows the shape)",
        )
    return module


def load_archives() -> ModuleType:
    """The container's `xgb_model/archives.py`, loaded by file: the safe model unpacking both sides share.

    The local run cannot import the container's package (its folder is not a dependency of this library), and
    copying the code would let the two drift, so the shipped file itself is loaded.
    """
    path = asset_root() / "container" / "xgb_model" / "archives.py"
    module = sys.modules.get(_ARCHIVES_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(_ARCHIVES_MODULE, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[_ARCHIVES_MODULE] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)
    return module


_ARCHIVES_MODULE = "mlops_local_archives"


def program_command(container_dir: Path, program: str) -> list[str]:
    """How to start one of the container's programs (`train`, `serve`) as a local process.

    A Python program runs under this interpreter, which has the container's libraries (the `local` extra);
    `#!/usr/bin/env python3` could find another Python on PATH. Anything else runs as the executable it is.
    """
    path = container_dir / program
    if not path.is_file():
        raise LocalRunError(
            "tuning" if program == "train" else "inference",
            f"the container folder {container_dir} has no `{program}` program",
        )
    with path.open("rb") as handle:
        first_line = handle.readline()
    if first_line.startswith(b"#!") and b"python" in first_line:
        return [sys.executable, str(path)]
    return [str(path)]


def program_environment() -> dict[str, str]:
    """The environment of the container's programs: this one's, without AWS settings, plus what they need.

    SageMaker gives the programs no credentials of the caller's, and neither does a local run.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    # XGBoost's OpenMP threads spin while waiting by default, which stalls a busy 2-core machine for seconds.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONUNBUFFERED"] = "1"  # output in order, as it happens, in the trial's log
    return env
