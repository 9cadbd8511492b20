"""The output folder of a local run: what it holds, clearing a previous run's outputs, writing files whole.

A run writes only the names in `OWNED` and records every file and folder it wrote under them in a marker file,
`.mlops-local-run.json`. A later run removes exactly what the marker lists, and refuses (changing nothing) a
folder that is not empty and has no complete marker, or that holds anything under those names the marker does
not list: a user's own files are never removed. Files are written under a temporary name and renamed into
place, and folders are copied beside their target and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
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
"""What a run writes besides the sample data."""
OWNED = (*OUTPUTS, DATA_DIR)
"""Every name a run may write in its folder (and the marker)."""
MARKER_FILE = ".mlops-local-run.json"
_MARKER_OWNER = "mlops local-run"

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


class OutputFolderError(Exception):
    """The output folder holds something a run did not provably write; nothing in it was changed."""


def plan_clearing(out_dir: Path, inputs: list[Path]) -> list[str]:
    """What a new run must remove from `out_dir` (relative paths, files first); change nothing.

    Raises OutputFolderError when the folder is not empty and no earlier run's complete marker accounts for
    everything under the names a run writes, or when an input file lies inside what would be removed.
    """
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise OutputFolderError(f"--out {out_dir}: exists and is not a folder")
    present = sorted(path.name for path in out_dir.iterdir())
    if not present:
        return []
    listed = _marker_entries(out_dir, present)
    found = [entry for name in OWNED for entry in _entries(out_dir, name)]
    unknown = [entry for entry in found if entry not in listed]
    if unknown:
        raise OutputFolderError(
            f"--out {out_dir}: {out_dir / unknown[0]} was not written by an earlier local run"
            f"{f' (nor {len(unknown) - 1} more)' if len(unknown) > 1 else ''}; move it, or choose another folder"
        )
    removed = {(out_dir / entry).resolve() for entry in found}
    for path in inputs:
        if path.resolve() in removed:
            raise OutputFolderError(
                f"{path} is an earlier run's output in {out_dir}, which this run replaces: copy it elsewhere "
                "and pass the copy, or choose another --out"
            )
    return found


def _marker_entries(out_dir: Path, present: list[str]) -> set[str]:
    marker = out_dir / MARKER_FILE
    if MARKER_FILE not in present:
        raise OutputFolderError(
            f"--out {out_dir}: the folder is not empty and is not an earlier local run's output (it has no "
            f"{MARKER_FILE}); choose an empty or new folder"
        )
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
        complete = document["owner"] == _MARKER_OWNER and document["complete"] is True
        entries = {str(entry) for entry in document["entries"]}
    except (OSError, ValueError, KeyError, TypeError):
        complete, entries = False, set()
    if not complete:
        raise OutputFolderError(
            f"--out {out_dir}: {MARKER_FILE} does not list what an earlier run wrote (was that run killed?); "
            "remove the folder yourself, or choose another"
        )
    return entries


def _entries(out_dir: Path, name: str) -> list[str]:
    """Every file, link and folder under `out_dir/name`, relative to `out_dir`, links not followed."""
    top = out_dir / name
    if not top.exists() and not top.is_symlink():
        return []
    if top.is_symlink() or not top.is_dir():
        return [name]
    found = [name]
    for folder, folders, files in os.walk(top):
        relative = Path(folder).relative_to(out_dir)
        found += [str(relative / entry) for entry in folders + files]
    return found


def clear(out_dir: Path, entries: list[str]) -> None:
    """Remove the planned entries: files and links first, then the folders, deepest first, once empty."""
    for entry in entries:
        path = out_dir / entry
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
    for entry in sorted(entries, key=lambda e: -e.count("/")):
        path = out_dir / entry
        if path.is_dir() and not path.is_symlink():
            path.rmdir()


def write_marker(out_dir: Path, *, complete: bool) -> None:
    """Record what the run has written: nothing yet (`complete=False`), or every entry under its names."""
    entries = [entry for name in OWNED for entry in _entries(out_dir, name)] if complete else []
    document = {"owner": _MARKER_OWNER, "complete": complete, "entries": entries}
    write_text(out_dir / MARKER_FILE, json.dumps(document, indent=1) + "\n")


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
