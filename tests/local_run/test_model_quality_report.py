"""report.html's model sections: the model quality charts drawn from the container's own `model-quality.json`
(a real one, built by xgb_model.quality), left out piece by piece when the data is absent or malformed, and
the registered model package."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from mlops_component import layout
from mlops_component.tools.local_run import model_quality, report
from tests.container.conftest import CONTAINER_DIR  # noqa: F401  # puts the container's package on sys.path

from xgb_model import quality  # isort: skip

FEATURES = [f"feature_{i:02d}" for i in range(20)]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """A quality report as `train` writes it: 600 out-of-fold predictions of a booster on 20 features."""
    rng = np.random.default_rng(5)
    x = rng.random((600, len(FEATURES))).astype(np.float32)
    y = (x[:, 3] + 0.5 * x[:, 7] + 0.3 * rng.random(600) > 1.0).astype(np.int8)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=FEATURES),
        num_boost_round=10,
    )
    scores = np.clip(y * 0.3 + rng.random(600) * 0.7, 0, 1)
    built = quality.report(
        y, scores, evaluated_on="cross-validation", booster=booster, feature_names=FEATURES
    )
    return json.loads(quality.encode(built))


def page(**summary: Any) -> str:
    return report.render({"run_name": "run", "status": "succeeded", "trials": [], **summary})


def polylines(html: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, pair.split(","))) for pair in points.split()]  # type: ignore[misc]
        for points in re.findall(r'<polyline points="([^"]+)"', html)
    ]


def test_the_quality_section_draws_every_chart_from_the_file(document: dict[str, Any]) -> None:
    html = page(model_quality=document)
    binary, mlops = document["binary_classification_metrics"], document["mlops"]
    assert "<h2>Model quality (best trial)</h2>" in html
    assert "evaluated on the cross-validation&#x27;s out-of-fold predictions (600 rows)" in html
    assert f"ROC curve (AUC {binary['auc']['value']:.4f})" in html
    roc, pr = polylines(html)
    assert len(roc) == len(binary["receiver_operating_characteristic_curve"]["false_positive_rates"])
    assert len(pr) == len(binary["precision_recall_curve"]["recalls"])
    # The ROC curve runs from the bottom-left corner to the top-right one of its square.
    (x0, y0), (x1, y1) = roc[0], roc[-1]
    assert x0 < x1 and y0 > y1 and (x1 - x0) == pytest.approx(y0 - y1) == model_quality.SIDE
    # Recall runs along x: the curve starts top-left (recall 0, precision 1) and ends on the right edge.
    assert pr[0] == (model_quality.MARGIN, model_quality.TOP_MARGIN)
    assert pr[-1][0] == model_quality.MARGIN + model_quality.SIDE
    assert "Confusion matrix at threshold 0.5" in html
    for actual, row in binary["confusion_matrix"].items():
        for predicted, count in row.items():
            name = {"00": "true negatives", "01": "false positives", "10": "false negatives"}.get(
                actual + predicted, "true positives"
            )
            assert f"<title>{name}: {count}</title>" in html
    for metric in ("accuracy", "precision", "recall", "f1", "auc"):
        entry = binary[metric]
        assert (
            f"<td>{metric}</td><td class='num'>{entry['value']:.4f} ± {entry['standard_deviation']:.4f}"
            in html
        )
    # Feature importance: the top 15 of 20, the largest gain first.
    top = mlops["feature_importance"][: model_quality.TOP_FEATURES]
    assert "top 15 of 20 features" in html
    bars = re.findall(r"<title>(feature_\d\d): [^<]*</title></rect>", html)
    assert bars == [item["feature"] for item in top]
    assert bars[0] == "feature_03"  # the feature the label depends on most


def test_without_a_report_the_page_has_no_model_sections() -> None:
    for html in (page(), page(model_quality=None, model_package=None), page(model_quality=[1, 2])):
        assert "Model quality" not in html and "Model registry" not in html
        assert "<polyline points" not in html and "</html>" in html


def test_malformed_parts_are_left_out_and_the_rest_drawn(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    binary = broken["binary_classification_metrics"]
    binary["receiver_operating_characteristic_curve"]["true_positive_rates"].pop()  # lengths differ
    binary["precision_recall_curve"]["precisions"][3] = "NaN"
    binary["confusion_matrix"]["1"]["0"] = -4
    binary["auc"] = {"value": "high"}
    broken["mlops"]["feature_importance"] = [
        {"feature": "<script>x</script>", "gain": 2.0},
        {"gain": 1.0},
        "?",
    ]
    html = page(model_quality=broken)
    assert "<h2>Model quality (best trial)</h2>" in html
    assert "ROC curve" not in html and "Precision-recall curve" not in html and "Confusion matrix" not in html
    assert "<td>auc</td>" not in html and "<td>accuracy</td>" in html
    assert "all 1 features" in html and "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    outside = json.loads(json.dumps(document))
    outside["binary_classification_metrics"]["precision_recall_curve"]["recalls"][1] = 1.5
    assert "Precision-recall curve" not in page(model_quality=outside)
    assert "ROC curve" in page(model_quality=outside)


def test_the_registered_package_is_shown() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-models/3"
    html = page(model_package={"arn": arn, "version": 3, "status": "PendingManualApproval"})
    assert "<h2>Model registry</h2><p>Registered as version 3, status PendingManualApproval.</p>" in html
    assert f"<code>{arn}</code>" in html
    assert "&lt;b&gt;" in page(model_package={"arn": "<b>", "version": 1, "status": "Approved"})


def test_the_file_is_read_from_the_model_folder(tmp_path: Path, document: dict[str, Any]) -> None:
    assert layout.MODEL_QUALITY_FILE == quality.QUALITY_FILE
    assert model_quality.read(tmp_path) is None  # built-in images and older models write none
    path = tmp_path / layout.MODEL_QUALITY_FILE
    path.write_text(json.dumps(document))
    assert model_quality.read(tmp_path) == document
    for content in ("{not json", "[1, 2]", ""):
        path.write_text(content)
        assert model_quality.read(tmp_path) is None
