"""The output folder of a local run: what it holds, clearing a previous run's outputs, writing files whole.

A run owns exactly the names in `OUTPUTS` (and `data/` when it generates sample data); it clears those when it
starts and leaves everything else in the folder alone. Files are written under a temporary name and renamed
into place, and folders are copied beside their target and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREDICTIONS_FILE = "predictions.csv"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
MODEL_DIR = "model"
DATA_DIR = "data"
TRIALS_DIR = "trials"
SERVING_DIR = "serving"
LOGS_DIR = "logs"
S3_DIR = "s3"
OUTPUTS = (PREDICTIONS_FILE, SUMMARY_FILE, REPORT_FILE, MODEL_DIR, TRIALS_DIR, SERVING_DIR, LOGS_DIR, S3_DIR)
"""What a run writes; a new run clears these first, and nothing else."""

_DESCRIPTIONS = {
    PREDICTIONS_FILE: "one probability per scoring row",
    SUMMARY_FILE: "trials, best, gate, timings per stage; after a failure, the stage and the reason",
    REPORT_FILE: "the objective per trial with the gate's threshold (opens offline)",
    MODEL_DIR: "the best trial's model folder",
    TRIALS_DIR: "each trial's /opt/ml tree; train.log holds its output",
    LOGS_DIR: "the functions', the ETL's and the model server's logs",
    S3_DIR: "every object the embedded AWS stored, by bucket (extracts, models, run record, ...)",
    DATA_DIR: "the generated sample data",
}


def display(path: Path) -> str:
    """A path as the user should read it: relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def describe_outputs(out_dir: Path) -> list[str]:
    """One line per output the folder holds, saying what it is."""
    lines = []
    for name, description in _DESCRIPTIONS.items():
        path = out_dir / name
        if path.exists():
            shown = display(path) + ("/" if path.is_dir() else "")
            lines.append(f"{shown:<28} {description}")
    return lines


def output_paths(out_dir: Path) -> dict[str, str]:
    """The outputs a finished run left, by what they are (as `summary.json` lists them)."""
    names = {
        "predictions": PREDICTIONS_FILE,
        "summary": SUMMARY_FILE,
        "report": REPORT_FILE,
        "model": MODEL_DIR,
        "trials": TRIALS_DIR,
        "logs": LOGS_DIR,
        "s3": S3_DIR,
    }
    # The summary and the report are written last, from this very list, so they always count.
    return {
        key: display(out_dir / name)
        for key, name in names.items()
        if (out_dir / name).exists() or name in (SUMMARY_FILE, REPORT_FILE)
    }


def clear_previous_outputs(out_dir: Path) -> list[str]:
    """Create the folder, remove what a previous run wrote into it, and say what was removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cleared = []
    for name in OUTPUTS:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        cleared.append(name)
    return cleared


@contextmanager
def atomic(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds and removed when it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        yield partial
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write a text file whole."""
    with atomic(path) as partial:
        partial.write_text(text, encoding="utf-8")


def replace_folder(source: Path, target: Path) -> None:
    """Copy `source` to `target`, replacing it whole: the copy is made beside it and renamed into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
