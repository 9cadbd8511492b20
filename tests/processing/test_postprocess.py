"""postprocess.py: prediction files joined into one id-keyed table, a summary report, and clear refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import postprocess
import processing_job
import pytest

from tests.processing.conftest import run_script


def write_predictions(folder: Path, name: str, rows: list[tuple[str, float]]) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{row_id},{p:.7g}\n" for row_id, p in rows))


@pytest.fixture
def predictions(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    """Two files of `<id>,<probability>` lines, as batch-predict writes them, and the expected values."""
    generator = np.random.default_rng(5)
    values = {str(1000 + i): float(f"{p:.7g}") for i, p in enumerate(generator.beta(0.6, 2.5, size=300))}
    items = list(values.items())
    folder = tmp_path / "input"
    write_predictions(folder, "score.csv", items[:200])
    write_predictions(folder, "2025-01/more.csv", items[200:])
    return folder, values


def test_the_table_has_one_row_per_id_with_probability_and_label(predictions, tmp_path: Path) -> None:
    folder, values = predictions
    postprocess.postprocess(folder, tmp_path / "output", threshold=0.4)
    table = pd.read_csv(tmp_path / "output" / postprocess.PREDICTIONS_FILE, dtype={"EmployeeNumber": str})
    assert list(table.columns) == ["EmployeeNumber", "probability", "predicted_label"]
    # File order (2025-01/more.csv sorts first), then line order; every value exactly as Inference wrote it.
    expected_ids = list(values)[200:] + list(values)[:200]
    assert table["EmployeeNumber"].tolist() == expected_ids
    assert table["probability"].tolist() == [values[i] for i in expected_ids]
    assert table["predicted_label"].tolist() == [int(values[i] >= 0.4) for i in expected_ids]


def test_the_report_counts_rates_and_quantiles(predictions, tmp_path: Path) -> None:
    folder, values = predictions
    summary = postprocess.postprocess(folder, tmp_path / "output", threshold=0.5)
    probabilities = np.array(list(values.values()))
    assert summary["rows"] == 300
    assert summary["files"] == {"2025-01/more.csv": 100, "score.csv": 200}
    assert summary["predicted_positive"] == int((probabilities >= 0.5).sum())
    assert summary["positive_rate"] == pytest.approx((probabilities >= 0.5).mean())
    spread = summary["probability"]
    assert list(spread) == ["mean", "min", "p10", "p25", "p50", "p75", "p90", "max"]
    assert spread["mean"] == pytest.approx(probabilities.mean())
    assert spread["min"] == probabilities.min() and spread["max"] == probabilities.max()
    for name, q in [("p10", 0.1), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p90", 0.9)]:
        assert spread[name] == pytest.approx(np.quantile(probabilities, q)), name
    assert json.loads((tmp_path / "output" / postprocess.REPORT_JSON).read_text()) == summary
    markdown = (tmp_path / "output" / postprocess.REPORT_MARKDOWN).read_text()
    assert "- Rows scored: 300 (EmployeeNumber values, each once)" in markdown
    assert f"- Predicted positive (probability >= 0.5): {summary['predicted_positive']} " in markdown
    assert "| 2025-01/more.csv | 100 |" in markdown
    assert f"| p50 | {spread['p50']:.4f} |" in markdown


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,0.2\n2,0.7,extra\n", "score.csv is not <id>,<probability> lines"),
        (
            "1,0.2\n2,high\n3,\n4,1.5\n5,-0.1\n6,nan\n",
            "score.csv: 5 line(s) are not an id and a probability from 0 to 1, e.g. line(s) [2, 3, 4, 5, 6]",
        ),
        ("0.2\n0.7\n", "score.csv has 1 columns; expected <id>,<probability> lines"),
        ("", "score.csv is empty"),
    ],
)
def test_malformed_prediction_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "score.csv").write_text(content)
    with pytest.raises(processing_job.JobError) as raised:
        postprocess.postprocess(tmp_path / "input", tmp_path / "output", threshold=0.5)
    assert message in str(raised.value)
    assert not (tmp_path / "output").exists() or list((tmp_path / "output").rglob("*")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1,0.2\n2,0.7\xff\n", "score.csv is not UTF-8 text"),
        (b"\xff\xfe1\x00,\x000\x00.\x002\x00", "score.csv is not UTF-8 text"),
    ],
)
def test_a_prediction_file_that_is_not_utf8_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "score.csv").write_bytes(content)
    with pytest.raises(processing_job.JobError) as raised:
        postprocess.postprocess(tmp_path / "input", tmp_path / "output", threshold=0.5)
    assert str(raised.value) == message


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_any_line_end_reads_the_same(tmp_path: Path, newline: str) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "score.csv").write_bytes(newline.join(["1,0.2", "2,0.7", "3,0.9"]).encode() + b"\r")
    summary = postprocess.postprocess(tmp_path / "input", tmp_path / "output", threshold=0.5)
    assert (summary["rows"], summary["predicted_positive"]) == (3, 2)


def test_an_id_scored_twice_is_refused(tmp_path: Path) -> None:
    write_predictions(tmp_path / "input", "a.csv", [("7", 0.1), ("8", 0.2)])
    write_predictions(tmp_path / "input", "b.csv", [("8", 0.3)])
    with pytest.raises(processing_job.JobError, match=r"ids must be unique .* 1 repeat, e.g. \['8'\]"):
        postprocess.postprocess(tmp_path / "input", tmp_path / "output", threshold=0.5)


@pytest.mark.parametrize("threshold", [0.0, 1.0, float("nan")])
def test_the_threshold_must_be_a_probability(predictions, tmp_path: Path, threshold: float) -> None:
    with pytest.raises(processing_job.JobError, match="--threshold must be between 0 and 1"):
        postprocess.postprocess(predictions[0], tmp_path / "output", threshold=threshold)


def test_as_a_job_it_takes_its_arguments_and_reports_failures(
    code_dir: Path, predictions, tmp_path: Path
) -> None:
    root = tmp_path / "ml"
    (root / "processing").mkdir(parents=True)
    predictions[0].rename(root / "processing" / "input")
    done = run_script(
        sys.executable, code_dir / "postprocess.py", root, "--threshold", "0.3", "--id-column", "id"
    )
    assert done.returncode == 0, done.stderr
    assert "postprocess: 300 predictions" in done.stdout
    assert json.loads((root / "processing" / "output" / "report.json").read_text())["threshold"] == 0.3
    assert (root / "processing" / "output" / "predictions.csv").read_text().startswith("id,probability,")

    (root / "processing" / "input" / "score.csv").write_text("1,0.5\n1,0.6\n")
    failed = run_script(sys.executable, code_dir / "postprocess.py", root)
    assert failed.returncode == 1
    assert "ids must be unique" in (root / "output" / "message").read_text()
