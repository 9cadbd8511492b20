"""`batch-predict`: a folder of score files in, `<id>,<probability>` files out, using the scoring code."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from xgb_model import batch
from xgb_model.jobs import JobError
from xgb_model.model import Model
from xgb_model.paths import MlPaths

from tests.container.conftest import CONTAINER_DIR, process_env
from tests.container.synthetic import FEATURES, ID_COLUMN, score_csv_text


def read_predictions(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=None, names=["id", "probability"], dtype={"id": str})


def expected_for(model: Model, frame: pd.DataFrame) -> np.ndarray:
    return model.predict(frame[FEATURES].to_numpy(np.float32))


@pytest.fixture
def inputs(tmp_path: Path, holdout_frame: pd.DataFrame) -> Path:
    folder = tmp_path / "input"
    (folder / "region=eu").mkdir(parents=True)
    (folder / "score.csv").write_text(
        score_csv_text(holdout_frame.iloc[:1200])
    )  # no header, as the ETL writes
    (folder / "region=eu" / "more.csv").write_text(score_csv_text(holdout_frame.iloc[1200:], header=True))
    (folder / "notes.txt").write_text("not a score file")
    return folder


def test_every_csv_is_scored_with_its_ids(
    trained_root: MlPaths, model: Model, holdout_frame: pd.DataFrame, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "output"
    counts = batch.predict_folder(trained_root.model_dir, inputs, output)
    assert counts == {"region=eu/more.csv": 800, "score.csv": 1200}
    assert sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file()) == [
        "region=eu/more.csv",
        "score.csv",
    ]
    first = read_predictions(output / "score.csv")
    assert first["id"].tolist() == holdout_frame[ID_COLUMN].iloc[:1200].astype(str).tolist()
    assert first["probability"].to_numpy() == pytest.approx(
        expected_for(model, holdout_frame.iloc[:1200]), rel=1e-6
    )
    second = read_predictions(output / "region=eu" / "more.csv")
    assert second["probability"].to_numpy() == pytest.approx(
        expected_for(model, holdout_frame.iloc[1200:]), rel=1e-6
    )


def test_slices_give_the_same_answer_as_one_pass(
    model: Model, holdout_frame: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "score.csv"
    source.write_text(score_csv_text(holdout_frame, header=True))
    whole, sliced = tmp_path / "whole.csv", tmp_path / "sliced.csv"
    assert batch.score_file(model, source, whole) == len(holdout_frame)
    assert batch.score_file(model, source, sliced, lines_per_slice=7) == len(holdout_frame)
    assert whole.read_text() == sliced.read_text()


def test_the_model_may_be_the_training_job_archive(
    trained_root: MlPaths, model: Model, holdout_frame: pd.DataFrame, inputs: Path, tmp_path: Path
) -> None:
    archive_dir = tmp_path / "model"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as archive:  # the layout SageMaker uploads
        for path in trained_root.model_dir.iterdir():
            archive.add(path, arcname=path.name)
    for model_path in (archive_dir, archive_dir / "model.tar.gz"):
        output = tmp_path / f"output-{model_path.name}"
        batch.predict_folder(model_path, inputs, output)
        predictions = read_predictions(output / "score.csv")
        assert predictions["probability"].to_numpy() == pytest.approx(
            expected_for(model, holdout_frame.iloc[:1200]), rel=1e-6
        )


def test_a_bad_row_fails_the_job_and_leaves_no_output(
    trained_root: MlPaths, inputs: Path, tmp_path: Path
) -> None:
    lines = (inputs / "score.csv").read_text().splitlines()
    lines[999] = lines[999].rsplit(",", 1)[0]  # one column short
    (inputs / "score.csv").write_text("\n".join(lines) + "\n")
    output = tmp_path / "output"
    with pytest.raises(
        JobError, match=re.escape("score.csv: line 1000 has 43 columns; expected 44 like line 1")
    ):
        batch.predict_folder(trained_root.model_dir, inputs, output)
    assert list(output.rglob("*")) == []  # the first file's finished output did not appear either


def test_rows_without_ids_and_missing_models_are_explained(
    trained_root: MlPaths, holdout_frame: pd.DataFrame, tmp_path: Path
) -> None:
    inputs = tmp_path / "input"
    inputs.mkdir()
    (inputs / "score.csv").write_text(score_csv_text(holdout_frame.iloc[:5], with_id=False))
    with pytest.raises(JobError, match="batch-predict needs the id column first"):
        batch.predict_folder(trained_root.model_dir, inputs, tmp_path / "out")
    with pytest.raises(JobError, match=re.escape("holds neither model.json nor exactly one model .tar.gz")):
        batch.predict_folder(tmp_path / "nowhere", inputs, tmp_path / "out")
    with pytest.raises(JobError, match=re.escape("no .csv files to score")):
        batch.predict_folder(trained_root.model_dir, tmp_path / "empty", tmp_path / "out")


@pytest.mark.slow
def test_batch_predict_program_runs_as_a_process(trained_root: MlPaths, inputs: Path, tmp_path: Path) -> None:
    root = tmp_path / "ml"
    output = tmp_path / "output"
    done = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "batch-predict"), "--input", str(inputs), "--output", str(output),
         "--model", str(trained_root.model_dir)],
        env=process_env(root),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "scored 2000 rows in 2 file(s)" in done.stdout
    assert len(read_predictions(output / "score.csv")) == 1200

    failed = subprocess.run(
        [sys.executable, str(CONTAINER_DIR / "batch-predict"), "--input", str(tmp_path / "nothing"),
         "--output", str(output), "--model", str(trained_root.model_dir)],
        env=process_env(root),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert failed.returncode == 1
    assert (
        MlPaths(root).processing_message_file.read_text().startswith("batch-predict: no .csv files to score")
    )


def test_a_corrupt_or_truncated_model_is_one_line(
    trained_root: MlPaths, inputs: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.json").write_text("{not a model")
    with pytest.raises(JobError) as raised:
        batch.predict_folder(corrupt, inputs, tmp_path / "out")
    assert str(raised.value).startswith("model.json is not a model XGBoost can load: Expecting")
    assert "\n" not in str(raised.value) and str(tmp_path) not in str(raised.value)

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in trained_root.model_dir.iterdir():
            tar.add(path, arcname=path.name)
    whole = archive.read_bytes()
    for size in (len(whole) // 2, 100, 5):
        archive.write_bytes(whole[:size])
        with pytest.raises(JobError, match=r"cannot unpack .*model\.tar\.gz: .*(truncated|ended|not a)"):
            batch.predict_folder(archive, inputs, tmp_path / "out")


@pytest.mark.parametrize(
    "output", [".", "predictions", "..", "../.."], ids=["same", "inside", "parent", "above"]
)
def test_overlapping_input_and_output_folders_are_refused_untouched(
    trained_root: MlPaths, inputs: Path, output: str
) -> None:
    before = {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    with pytest.raises(JobError, match="overlap: the predictions would replace or mix with the files scored"):
        batch.predict_folder(trained_root.model_dir, inputs, inputs / output)
    assert {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()} == before


def test_an_output_reached_through_a_link_to_the_input_is_refused(
    trained_root: MlPaths, inputs: Path, tmp_path: Path
) -> None:
    (tmp_path / "alias").symlink_to(inputs)
    with pytest.raises(JobError, match="overlap"):
        batch.predict_folder(trained_root.model_dir, inputs, tmp_path / "alias")
