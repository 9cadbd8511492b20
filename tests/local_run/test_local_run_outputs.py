"""The output folder: a run removes only what an earlier run provably wrote, and refuses anything else untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_component.tools.local_run.outputs import MARKER_FILE, write_marker
from tests.local_run.conftest import local_run, write_stack


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def users_folder(out: Path) -> None:
    """A folder a user filled themselves, with names a run writes: model/, logs/, data/ (their training data)."""
    for relative, text in {
        "model/model.json": "my model",
        "logs/today.log": "my log",
        "data/train.csv": "my,training,data\n",
        "data/score.csv": "my,score,data\n",
        "summary.json": "{}",
    }.items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text)


def test_a_folder_the_run_did_not_write_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    users_folder(out)
    before = tree(out)
    run = local_run(tmp_path)  # no --train: a run would generate data/train.csv over the user's
    assert run.status == 1
    assert (
        f"failed at data: --out {out}: the folder is not empty and is not an earlier local run's output (it has "
        f"no {MARKER_FILE}); choose an empty or new folder"
    ) in run.stderr
    assert "Traceback" not in run.stderr and "Nothing was written" in run.stderr
    assert tree(out) == before


def test_the_stacks_default_data_folder_is_never_overwritten(tmp_path: Path) -> None:
    # `--out .` in a project whose stack reads data/train.csv: the generated data would replace the user's.
    users_folder(tmp_path)
    stack = write_stack(tmp_path, {"mlops:namePrefix": "p", "mlops:jobName": "j"})
    before = tree(tmp_path)
    run = local_run(tmp_path, "--stack-file", str(stack), "--out", str(tmp_path))
    assert run.status == 1 and "is not an earlier local run's output" in run.stderr
    assert tree(tmp_path) == before


def test_bad_input_is_reported_before_the_folder_is_looked_at(tmp_path: Path) -> None:
    out = tmp_path / "out"
    users_folder(out)
    before = tree(out)
    run = local_run(tmp_path, "--train", "missing.csv")
    assert run.status == 1 and "--train missing.csv: no such file" in run.stderr
    assert tree(out) == before


def earlier_run(out: Path) -> None:
    """A folder as a finished run leaves it: outputs, sample data, and the marker listing them."""
    for relative in ("summary.json", "model/model.json", "trials/t-1/output/failure", "data/train.csv"):
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(relative)
    write_marker(out, complete=True)


def test_a_file_added_inside_an_earlier_runs_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    earlier_run(out)
    (out / "model" / "my-notes.txt").write_text("mine")
    before = tree(out)
    run = local_run(tmp_path)
    assert run.status == 1
    assert f"{out / 'model' / 'my-notes.txt'} was not written by an earlier local run" in run.stderr
    assert tree(out) == before


def test_an_input_inside_an_earlier_runs_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    earlier_run(out)
    before = tree(out)
    run = local_run(tmp_path, "--train", str(out / "data" / "train.csv"))
    assert run.status == 1
    assert (
        f"{out / 'data' / 'train.csv'} is an earlier run's output in {out}, which this run replaces"
        in run.stderr
    )
    assert tree(out) == before


@pytest.mark.parametrize(
    "marker",
    ['{"owner": "mlops local-run", "complete": false, "entries": []}', "not json", '{"entries": "x"}'],
    ids=["killed-run", "garbage", "wrong-shape"],
)
def test_a_marker_that_does_not_list_a_finished_run_is_refused(tmp_path: Path, marker: str) -> None:
    out = tmp_path / "out"
    earlier_run(out)
    (out / MARKER_FILE).write_text(marker)
    before = tree(out)
    run = local_run(tmp_path)
    assert run.status == 1 and f"{MARKER_FILE} does not list what an earlier run wrote" in run.stderr
    assert tree(out) == before


def test_the_marker_lists_what_a_failed_run_wrote(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("EmployeeNumber,Age\n1,30\n")
    run = local_run(tmp_path, "--train", str(bad))
    assert run.status == 1 and "failed at etl" in run.stderr
    marker = json.loads((run.out / MARKER_FILE).read_text())
    assert marker["complete"] is True
    assert {"summary.json", "report.html", "logs", "logs/etl.log"} <= set(marker["entries"])
    assert set(marker["entries"]) == set(tree(run.out)) - {MARKER_FILE}
