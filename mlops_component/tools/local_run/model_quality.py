"""The model quality report of a local run: read from the best trial's model folder, drawn into report.html.

The container's `train` writes `model-quality.json` beside the model (docs/container.md): SageMaker Model
Monitor's binary-classification statistics plus an `mlops` key. Here it becomes four inline SVG charts, drawn
offline like the objective chart: the ROC curve with its AUC, the precision-recall curve, the confusion matrix
at the decision threshold, and the features with the largest gain. Each chart is drawn only from data of the
right shape and is left out otherwise, so a partial or foreign document never breaks the page; every value
from the file is HTML-escaped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from mlops_component import layout

# The container's name for the file (container/xgb_model/quality.py; a test checks they agree).
TOP_FEATURES = 15
SIDE, MARGIN, TOP_MARGIN = 300, 48, 28  # the square charts: plot side, left/bottom margin, top margin
SQUARE_WIDTH, SQUARE_HEIGHT = SIDE + MARGIN + 16, SIDE + MARGIN + TOP_MARGIN
_CURVES = {
    "receiver_operating_characteristic_curve": ("false_positive_rates", "true_positive_rates"),
    "precision_recall_curve": ("recalls", "precisions"),  # drawn with recall on x
}
_METRICS = ("accuracy", "precision", "recall", "f1", "auc")


def read(model_dir: Path) -> dict[str, Any] | None:
    """The model folder's quality report, or None when it has none (or one that is not a JSON object)."""
    try:
        document = json.loads((model_dir / layout.MODEL_QUALITY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def section(document: Any) -> str:
    """The report's "Model quality" section, or "" when there is no report."""
    if not isinstance(document, Mapping):
        return ""
    binary, mlops = _mapping(document.get("binary_classification_metrics")), _mapping(document.get("mlops"))
    charts = [
        roc_chart(binary),
        precision_recall_chart(binary),
        confusion_chart(binary.get("confusion_matrix"), mlops.get("threshold")),
    ]
    parts = [
        "<h2>Model quality (best trial)</h2>",
        f'<p class="muted">{escape(_evaluated_on(mlops, document))}</p>',
        _metrics_table(binary),
        "<div>" + "".join(chart for chart in charts if chart) + "</div>",
        importance_chart(mlops.get("feature_importance")),
    ]
    return "\n".join(part for part in parts if part)


def _evaluated_on(mlops: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    source = {
        "cross-validation": "the cross-validation's out-of-fold predictions",
        "validation": "the validation channel",
        "training": "the training data",
    }.get(str(mlops.get("evaluated_on")), "data the file does not name")
    rows = mlops.get("rows", _mapping(document.get("dataset")).get("item_count"))
    counted = f" ({rows} rows)" if isinstance(rows, int) else ""
    return f"From the container's {layout.MODEL_QUALITY_FILE}, evaluated on {source}{counted}."


def _mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one: a part of the wrong shape counts as absent."""
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    """A finite number, or None (a missing value, or Model Monitor's "NaN" deviation)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _metrics_table(binary: Mapping[str, Any]) -> str:
    cells = []
    for name in _METRICS:
        entry = _mapping(binary.get(name))
        value = _number(entry.get("value"))
        if value is None:
            continue
        deviation = _number(entry.get("standard_deviation"))
        spread = f" ± {deviation:.4f}" if deviation is not None else ""
        cells.append(f"<tr><td>{name}</td><td class='num'>{value:.4f}{spread}</td></tr>")
    if not cells:
        return ""
    return (
        "<table style='width:auto'><tr><th>metric</th><th>value (± standard deviation)</th></tr>"
        + "".join(cells)
        + "</table>"
    )


def curve_points(binary: Mapping[str, Any], curve: str) -> list[tuple[float, float]]:
    """The curve's (x, y) points, or [] unless both lists are numbers in [0, 1] of the same length."""
    data = binary.get(curve)
    x_key, y_key = _CURVES[curve]
    xs, ys = _mapping(data).get(x_key), _mapping(data).get(y_key)
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys) or not xs:
        return []
    points = []
    for raw_x, raw_y in zip(xs, ys, strict=True):
        x, y = _number(raw_x), _number(raw_y)
        if x is None or y is None or not (0 <= x <= 1 and 0 <= y <= 1):
            return []
        points.append((x, y))
    return points


def _frame(title: str, width: float, height: float, title_x: float = MARGIN) -> list[str]:
    """The opening of an SVG chart and its title."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" style="margin-right:1.5rem">',
        f'<text x="{title_x}" y="16" style="font-weight:600">{escape(title)}</text>',
    ]


def _axis_labels(x_label: str, y_label: str) -> str:
    """The labels under and left of a square chart."""
    middle = TOP_MARGIN + SIDE / 2
    return (
        f'<text x="{MARGIN + SIDE / 2}" y="{SQUARE_HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{middle}" text-anchor="middle" transform="rotate(-90 12 {middle})">{escape(y_label)}</text>'
    )


def _unit_chart(title: str, x_label: str, y_label: str, body: Sequence[str]) -> str:
    """A square SVG chart of [0, 1] x [0, 1] with grid, ticks and axis labels around `body`."""
    svg = [
        *_frame(title, SQUARE_WIDTH, SQUARE_HEIGHT),
        f'<rect x="{MARGIN}" y="{TOP_MARGIN}" width="{SIDE}" height="{SIDE}" fill="#fbfcfd" stroke="#d0d5db"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _x(tick), _y(tick)
        svg.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP_MARGIN}" y2="{TOP_MARGIN + SIDE}" stroke="#eceff2"/>'
            f'<line x1="{MARGIN}" x2="{MARGIN + SIDE}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eceff2"/>'
            f'<text x="{x:.1f}" y="{TOP_MARGIN + SIDE + 16}" text-anchor="middle">{tick:g}</text>'
            f'<text x="{MARGIN - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    return "\n".join([*svg, _axis_labels(x_label, y_label), *body, "</svg>"])


def _x(value: float) -> float:
    return MARGIN + SIDE * value


def _y(value: float) -> float:
    return TOP_MARGIN + SIDE * (1 - value)


def _polyline(points: Sequence[tuple[float, float]], tip: str) -> str:
    coordinates = " ".join(f"{_x(x):.1f},{_y(y):.1f}" for x, y in points)
    return (
        f'<polyline points="{coordinates}" fill="none" stroke="#3b6fb6" stroke-width="2">'
        f"<title>{escape(tip)}</title></polyline>"
    )


def roc_chart(binary: Mapping[str, Any]) -> str:
    """The ROC curve against the diagonal of a model that guesses, titled with the AUC."""
    points = curve_points(binary, "receiver_operating_characteristic_curve")
    if not points:
        return ""
    auc = _number(_mapping(binary.get("auc")).get("value"))
    title = "ROC curve" + (f" (AUC {auc:.4f})" if auc is not None else "")
    chance = (
        f'<line x1="{_x(0):.1f}" y1="{_y(0):.1f}" x2="{_x(1):.1f}" y2="{_y(1):.1f}" stroke="#9aa3ad" '
        'stroke-dasharray="5 4"><title>a model that guesses</title></line>'
    )
    return _unit_chart(
        title,
        "false positive rate",
        "true positive rate",
        [chance, _polyline(points, f"{len(points)} points")],
    )


def precision_recall_chart(binary: Mapping[str, Any]) -> str:
    """Precision against recall, with the share of positives (a model that guesses) as a dashed line."""
    points = curve_points(binary, "precision_recall_curve")
    if not points:
        return ""
    body = [_polyline(points, f"{len(points)} points")]
    counts = _confusion_counts(binary.get("confusion_matrix"))
    total = sum(counts.values(), start=0) if counts is not None else 0
    if counts is not None and total:
        share = (counts["10"] + counts["11"]) / total
        body.insert(
            0,
            f'<line x1="{_x(0):.1f}" y1="{_y(share):.1f}" x2="{_x(1):.1f}" y2="{_y(share):.1f}" stroke="#9aa3ad" '
            f'stroke-dasharray="5 4"><title>share of positives: {share:.4f}</title></line>',
        )
    return _unit_chart("Precision-recall curve", "recall", "precision", body)


def _confusion_counts(matrix: Any) -> dict[str, int] | None:
    """{"<actual><predicted>": count} from Model Monitor's {actual: {predicted: count}}, or None."""
    if not isinstance(matrix, Mapping):
        return None
    counts: dict[str, int] = {}
    for actual in ("0", "1"):
        row = _mapping(matrix.get(actual))
        for predicted in ("0", "1"):
            value = row.get(predicted)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return None
            counts[actual + predicted] = value
    return counts


def confusion_chart(matrix: Any, threshold: Any) -> str:
    """The 2 x 2 confusion matrix, each cell shaded by its share of its actual class."""
    counts = _confusion_counts(matrix)
    if counts is None:
        return ""
    cell = SIDE / 2
    at = _number(threshold)
    title = "Confusion matrix" + (f" at threshold {at:g}" if at is not None else "")
    names = {"00": "true negatives", "01": "false positives", "10": "false negatives", "11": "true positives"}
    body = []
    for key, count in counts.items():
        actual, predicted = int(key[0]), int(key[1])
        row_total = counts[key[0] + "0"] + counts[key[0] + "1"]
        share = count / row_total if row_total else 0.0
        colour = "26,127,55" if actual == predicted else "198,40,40"
        x, y = MARGIN + predicted * cell, TOP_MARGIN + actual * cell
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
            f'fill="rgba({colour},{0.08 + 0.5 * share:.3f})" stroke="#fff" stroke-width="2">'
            f"<title>{names[key]}: {count}</title></rect>"
            f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2:.1f}" text-anchor="middle" '
            f'style="font-size:20px">{count}</text>'
            f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 20:.1f}" text-anchor="middle">{names[key]}</text>'
        )
    for index in (0, 1):
        centre = MARGIN + index * cell + cell / 2
        body.append(
            f'<text x="{centre:.1f}" y="{TOP_MARGIN + SIDE + 16}" text-anchor="middle">{index}</text>'
            f'<text x="{MARGIN - 8}" y="{TOP_MARGIN + index * cell + cell / 2:.1f}" text-anchor="end">{index}</text>'
        )
    return "\n".join(
        [*_frame(title, SQUARE_WIDTH, SQUARE_HEIGHT), *body, _axis_labels("predicted", "actual"), "</svg>"]
    )


def importance_chart(importance: Any, top: int = TOP_FEATURES) -> str:
    """Horizontal bars of the `top` features with the largest gain, the largest first."""
    if not isinstance(importance, list):
        return ""
    rows = [
        (str(item["feature"]), gain)
        for item in importance
        if isinstance(item, Mapping) and "feature" in item and (gain := _number(item.get("gain"))) is not None
    ]
    listed = len(rows)
    rows = sorted(rows, key=lambda row: -row[1])[:top]
    if not rows:
        return ""
    label_w, bar_w, row_h = 250, 400, 22
    largest = max(gain for _, gain in rows) or 1.0
    height = TOP_MARGIN + row_h * len(rows) + 8
    width = label_w + bar_w + 90
    shown = f"top {len(rows)} of {listed}" if listed > len(rows) else f"all {listed}"
    title = f"Feature importance (average gain per split; {shown} features)"
    svg = _frame(title, width, height, title_x=0)
    for index, (name, gain) in enumerate(rows):
        y = TOP_MARGIN + index * row_h
        length = bar_w * max(gain, 0.0) / largest
        svg.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(_shorten(name))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" fill="#3b6fb6">'
            f"<title>{escape(name)}: {gain:.4g}</title></rect>"
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}">{gain:.4g}</text>'
        )
    svg.append("</svg>")
    return "\n".join(svg)


def _shorten(name: str, limit: int = 34) -> str:
    """A feature name that fits the label column (the bar's tooltip has it whole)."""
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"
