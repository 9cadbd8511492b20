"""The picture of a local run: one self-contained HTML page built from `summary.json`.

The charts are inline SVG drawn from the data: the objective of every trial (the best one marked, failed trials
marked on the axis, and the gate's threshold as a dashed line), and the best trial's model quality (ROC and
precision-recall curves, confusion matrix, feature importance; see `model_quality`). There are no scripts, fonts
or stylesheets from elsewhere, so the page opens offline. Every value from the run is HTML-escaped. The model
package the run registered (`model_package`) is shown when the summary has one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from mlops_component.tools.local_run import model_quality

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 24, 48
_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1d2430; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.muted { color: #5b6474; } .pass { color: #1a7f37; } .fail { color: #c62828; }
.banner { padding: .6rem .9rem; border-radius: 6px; margin: 1rem 0; }
.banner.pass { background: #e6f4ea; } .banner.fail { background: #fdecea; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { background: #f5f7f9; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; } svg text { font: 12px system-ui, sans-serif; fill: #333; }
"""


def render(summary: Mapping[str, Any]) -> str:
    """The report page for a run's summary (a finished or a failed one)."""
    trials: list[Mapping[str, Any]] = summary.get("trials") or []
    metric = (summary.get("objective") or {}).get("metric", "objective")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>mlops local-run {escape(str(summary.get('run_name') or ''))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>mlops local-run: {escape(str(summary.get('run_name') or 'no run'))}</h1>",
        f'<p class="muted">{escape(_subtitle(summary))}</p>',
        _banner(summary),
        f"<h2>Objective per trial ({escape(str(metric))})</h2>",
        objective_chart(
            trials,
            threshold=summary.get("threshold"),
            operator=summary.get("operator"),
            best=(summary.get("best") or {}).get("trial"),
            metric=str(metric),
            maximize=(summary.get("objective") or {}).get("type", "Maximize") == "Maximize",
        ),
        _trial_table(trials, str(metric), (summary.get("best") or {}).get("trial")),
        _package_section(summary.get("model_package")),
        model_quality.section(summary.get("model_quality")),
        "<h2>Stages</h2>",
        _timings_table(summary.get("timings") or {}),
        _inference_section(summary),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def objective_chart(
    trials: Sequence[Mapping[str, Any]],
    *,
    threshold: float | None,
    operator: str | None,
    best: int | None,
    metric: str,
    maximize: bool = True,
) -> str:
    """An SVG scatter of each trial's objective, with the threshold line; failed trials sit on the x axis."""
    values = [float(t["objective"]) for t in trials if t.get("objective") is not None]
    if not trials:
        return '<p class="muted">No trial ran.</p>'
    low, high = _value_range([*values, *([threshold] if threshold is not None else [])])
    count = len(trials)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(number: int) -> float:
        return LEFT + (plot_w * (number - 0.5) / count)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(metric)} per trial">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" stroke="#d0d5db"/>',
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        svg.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#eceff2"/>')
        svg.append(f'<text x="{LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end">{tick:.4g}</text>')
    step = max(1, math.ceil(count / 20))
    for trial in trials:
        number = int(trial["number"])
        if number % step == 0 or number == 1:
            svg.append(
                f'<text x="{x(number):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{number}</text>'
            )
    svg.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">trial</text>'
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(metric)}</text>'
    )
    if threshold is not None:
        ty = y(float(threshold))
        label = f"threshold: {operator or ''} {threshold}".strip()
        svg.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#c62828" '
            f'stroke-width="1.5" stroke-dasharray="6 4"><title>{escape(label)}</title></line>'
            f'<text x="{LEFT + plot_w - 4}" y="{ty - 6:.1f}" text-anchor="end" style="fill:#c62828">'
            f"{escape(label)}</text>"
        )
    if best_so_far := _best_so_far(trials, maximize=maximize):
        points = " ".join(f"{x(number):.1f},{y(value):.1f}" for number, value in best_so_far)
        svg.append(
            f'<polyline points="{points}" fill="none" stroke="#1a7f37" stroke-opacity=".45" stroke-width="1.5"/>'
        )
    for trial in trials:
        number = int(trial["number"])
        tip = escape(f"trial {number}: {_format_value(trial.get('objective'))} ({trial.get('status')})")
        if trial.get("objective") is None:
            cx, cy = x(number), TOP + plot_h
            svg.append(
                f'<path d="M{cx - 5:.1f},{cy - 5:.1f} l10,10 m0,-10 l-10,10" stroke="#c62828" stroke-width="2">'
                f"<title>{tip}</title></path>"
            )
            continue
        is_best = number == best
        svg.append(
            f'<circle cx="{x(number):.1f}" cy="{y(float(trial["objective"])):.1f}" r="{7 if is_best else 5}" '
            f'fill="{"#1a7f37" if is_best else "#3b6fb6"}" stroke="#fff" stroke-width="1.5">'
            f"<title>{tip}{' (best)' if is_best else ''}</title></circle>"
        )
    svg.append("</svg>")
    legend = (
        '<p class="muted">Blue: a trial\'s objective; green: the best trial, and the best so far; red cross: a '
        "failed trial; dashed red line: the gate's threshold.</p>"
    )
    return "\n".join(svg) + legend


def _best_so_far(trials: Sequence[Mapping[str, Any]], *, maximize: bool) -> list[tuple[int, float]]:
    """The best objective after each completed trial, in trial order (the tuning job's progress)."""
    best: float | None = None
    points = []
    for trial in sorted(trials, key=lambda t: int(t["number"])):
        value = trial.get("objective")
        if value is None:
            continue
        if best is None or (value > best if maximize else value < best):
            best = float(value)
        points.append((int(trial["number"]), best))
    return points


def _value_range(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 0.05)
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _subtitle(summary: Mapping[str, Any]) -> str:
    mode = summary.get("mode") or "?"
    config = summary.get("config") or {}
    source = config.get("stack_file") or "default settings"
    total = (summary.get("timings") or {}).get("total")
    took = f", {total:.1f}s" if isinstance(total, (int, float)) else ""
    return f"{mode} mode, {source}, embedded AWS (moto){took}"


def _banner(summary: Mapping[str, Any]) -> str:
    if summary.get("status") == "succeeded":
        text = "Run succeeded"
        if summary.get("gate_passed"):
            best = summary.get("best") or {}
            text += (
                f": {best.get('objective_metric')} = {_format_value(best.get('value'))} passed "
                f"{summary.get('operator')} {summary.get('threshold')}"
            )
        return f'<div class="banner pass">{escape(text)}</div>'
    stage = summary.get("failed_stage") or "?"
    error = str(summary.get("error") or "")
    return f'<div class="banner fail"><strong>Failed at {escape(stage)}:</strong><pre>{escape(error)}</pre></div>'


def _trial_table(trials: Sequence[Mapping[str, Any]], metric: str, best: int | None) -> str:
    if not trials:
        return ""
    rows = [
        f"<tr><th>#</th><th>training job</th><th>status</th><th>{escape(metric)}</th><th>seconds</th>"
        "<th>tuned hyperparameters</th></tr>"
    ]
    for trial in trials:
        status = str(trial.get("status"))
        css = "pass" if status == "Completed" else "fail"
        params = ", ".join(f"{k}={v}" for k, v in (trial.get("hyperparameters") or {}).items())
        mark = " (best)" if trial.get("number") == best else ""
        detail = (
            f"<br><span class='fail'>{escape(str(trial['failure']))}</span>" if trial.get("failure") else ""
        )
        rows.append(
            f"<tr><td class='num'>{trial.get('number')}</td><td><code>{escape(str(trial.get('name')))}</code>"
            f"{escape(mark)}</td><td class='{css}'>{escape(status)}{detail}</td>"
            f"<td class='num'>{escape(_format_value(trial.get('objective')))}</td>"
            f"<td class='num'>{_format_seconds(trial.get('seconds'))}</td><td><code>{escape(params)}</code></td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _timings_table(timings: Mapping[str, Any]) -> str:
    if not timings:
        return ""
    rows = ["<tr><th>stage</th><th>seconds</th></tr>"]
    for stage, seconds in timings.items():
        rows.append(f"<tr><td>{escape(str(stage))}</td><td class='num'>{_format_seconds(seconds)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _package_section(package: Any) -> str:
    """The model package the run registered (`{"arn", "version", "status"}`), or "" when there is none."""
    if not isinstance(package, Mapping) or not package:
        return ""
    version, status = package.get("version"), package.get("status")
    text = f"Registered as version {version if version is not None else '?'}, status {status or '?'}."
    arn = f"<p><code>{escape(str(package['arn']))}</code></p>" if package.get("arn") else ""
    return f"<h2>Model registry</h2><p>{escape(text)}</p>{arn}"


def _inference_section(summary: Mapping[str, Any]) -> str:
    inference = summary.get("inference")
    if not inference:
        return ""
    items = "".join(
        f"<tr><td>{escape(str(key))}</td><td><code>{escape(str(value))}</code></td></tr>"
        for key, value in inference.items()
    )
    return f"<h2>Inference</h2><table>{items}</table>"


def _format_value(value: Any) -> str:
    return f"{float(value):.4f}" if isinstance(value, (int, float)) else "-"


def _format_seconds(value: Any) -> str:
    return f"{float(value):.1f}" if isinstance(value, (int, float)) else "-"
