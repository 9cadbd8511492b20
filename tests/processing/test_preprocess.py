"""preprocess.py: raw files in, the ETL's score extracts out, by the ETL's own transform; all or nothing."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import preprocess
import processing_job
import pytest
import transform

from mlops_component.tools import sample_data
from tests.processing.conftest import run_script


def etl_score_extract(raw_file: Path, out: Path, features: list[str] | None = None) -> bytes:
    """What the ETL job itself writes for a scoring-only run of `raw_file`."""
    schema = json.dumps(transform.schema_document(features or list(transform.FEATURES)))
    written = transform.run_local(str(out), None, str(raw_file), schema_text=schema)
    return Path(written[transform.SCORE_KEY]).read_bytes()


@pytest.fixture
def inputs(tmp_path: Path, raw: sample_data.SampleFiles) -> Path:
    """An input folder: the score file, and in a subfolder a labelled file (its label is ignored)."""
    folder = tmp_path / "input"
    (folder / "2025-01").mkdir(parents=True)
    shutil.copyfile(raw.score, folder / "score.csv")
    shutil.copyfile(raw.train, folder / "2025-01" / "labelled.csv")
    (folder / "notes.txt").write_text("not data")
    return folder


def test_each_raw_file_becomes_the_etls_score_extract(inputs: Path, raw, tmp_path: Path) -> None:
    counts = preprocess.preprocess(inputs, tmp_path / "output")
    assert counts == {"2025-01/labelled.csv": 1500, "score.csv": 500}
    written = sorted(
        str(p.relative_to(tmp_path / "output")) for p in (tmp_path / "output").rglob("*") if p.is_file()
    )
    assert written == ["2025-01/labelled.csv", "score.csv"]
    assert (tmp_path / "output" / "score.csv").read_bytes() == etl_score_extract(raw.score, tmp_path / "etl1")
    assert (tmp_path / "output" / "2025-01" / "labelled.csv").read_bytes() == etl_score_extract(
        raw.train, tmp_path / "etl2"
    )


def test_the_score_layout_is_id_then_the_43_features_without_a_header(
    inputs: Path, raw, tmp_path: Path
) -> None:
    preprocess.preprocess(inputs, tmp_path / "output")
    frame = pd.read_csv(tmp_path / "output" / "score.csv", header=None)
    assert frame.shape == (500, 1 + len(transform.FEATURES))
    ids = pd.read_csv(raw.score, usecols=["EmployeeNumber"])["EmployeeNumber"]
    assert frame[0].tolist() == ids.tolist()


def test_a_training_runs_columns_file_selects_the_models_features(inputs: Path, raw, tmp_path: Path) -> None:
    features = [f for f in transform.FEATURES if not f.startswith("JobRole_")]
    (inputs / preprocess.SCHEMA_FILE).write_text(json.dumps(transform.schema_document(features)))
    preprocess.preprocess(inputs, tmp_path / "output")
    assert (tmp_path / "output" / "score.csv").read_bytes() == etl_score_extract(
        raw.score, tmp_path / "etl", features
    )


def test_a_bad_columns_file_is_named(inputs: Path, tmp_path: Path) -> None:
    (inputs / preprocess.SCHEMA_FILE).write_text('{"features": ["NoSuchColumn"]}')
    with pytest.raises(processing_job.JobError, match=r"^columns.json: "):
        preprocess.preprocess(inputs, tmp_path / "output")
    (inputs / preprocess.SCHEMA_FILE).write_bytes(b'\xff\xfe{"features": []}')
    with pytest.raises(processing_job.JobError) as raised:
        preprocess.preprocess(inputs, tmp_path / "output")
    assert str(raised.value) == "columns.json: schema/columns.json is not UTF-8 text (byte 0)"


def test_a_bad_file_fails_the_job_naming_it_and_writes_nothing(inputs: Path, raw, tmp_path: Path) -> None:
    frame = pd.read_csv(raw.score)
    frame.loc[3, "BusinessTravel"] = "Sometimes"
    frame.to_csv(inputs / "2025-01" / "zz-bad.csv", index=False)
    output = tmp_path / "output"
    with pytest.raises(processing_job.JobError) as raised:
        preprocess.preprocess(inputs, output)
    assert str(raised.value).startswith("2025-01/zz-bad.csv: ")
    assert "BusinessTravel must be one of" in str(raised.value) and "Sometimes" in str(raised.value)
    # The files transformed before it are not left behind either.
    assert list(output.rglob("*")) == []


def test_an_input_without_csv_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    with pytest.raises(processing_job.JobError, match=r"no \.csv files in"):
        preprocess.preprocess(tmp_path / "input", tmp_path / "output")


def test_as_a_job_it_uses_the_processing_folders_and_reports_failures(
    code_dir: Path, raw, tmp_path: Path
) -> None:
    root = tmp_path / "ml"
    (root / "processing" / "input").mkdir(parents=True)
    shutil.copyfile(raw.score, root / "processing" / "input" / "score.csv")
    done = run_script(sys.executable, code_dir / "preprocess.py", root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "preprocess: wrote 500 rows in 1 file(s)" in done.stdout
    assert (root / "processing" / "output" / "score.csv").is_file()

    (root / "processing" / "input" / "score.csv").write_text("EmployeeNumber,Age\n1,30\n")
    failed = run_script(sys.executable, code_dir / "preprocess.py", root, cwd=tmp_path)
    assert failed.returncode == 1
    message = (root / "output" / "message").read_text()
    assert message.startswith("preprocess: score.csv: score file: missing required columns: ")
    assert "Traceback" not in failed.stderr
