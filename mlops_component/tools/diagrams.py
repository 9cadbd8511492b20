"""Mermaid diagrams generated from state machine definitions, so the pictures cannot drift from the code."""

from __future__ import annotations

from typing import Any

from mlops_component.builders.state_machines import gate
from mlops_component.config import MlOpsConfig

_COMPARISONS = {
    "NumericEquals": "=",
    "NumericGreaterThan": ">",
    "NumericGreaterThanEquals": ">=",
    "NumericLessThan": "<",
    "NumericLessThanEquals": "<=",
    "StringEquals": "=",
    "StringMatches": "matches",
}


# Friendlier names for the paths the diagrams show most.
_VARIABLE_NAMES = {gate.OBJECTIVE_VALUE_PATH: "objective metric"}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _describe(rule: dict[str, Any]) -> str:
    """A short text for a Choice rule."""
    if "And" in rule:
        # A presence test that only guards a comparison of the same path says nothing worth a label.
        members = [r for r in rule["And"] if not _guard_of_another(r, rule["And"])]
        if all(r.get("IsString") for r in members):
            return "input complete"
        return " and ".join(_nested(r) for r in members)
    if "Or" in rule:
        return " or ".join(_nested(r) for r in rule["Or"])
    if "Not" in rule:
        return f"not {_nested(rule['Not'])}"
    path = rule.get("Variable", "")
    variable = _VARIABLE_NAMES.get(path) or path.removeprefix("$.").split(".")[-1]
    for key, symbol in _COMPARISONS.items():
        if key in rule:
            return f"{variable} {symbol} {rule[key]}"
        if f"{key}Path" in rule:
            return f"{variable} {symbol} {rule[f'{key}Path'].split('.')[-1]}"
    if "IsPresent" in rule:
        return f"{variable} {'present' if rule['IsPresent'] else 'absent'}"
    checks = [k for k in rule if k.startswith("Is")]
    return f"{variable} {checks[0]}" if checks else variable


def _guard_of_another(rule: dict[str, Any], members: list[dict[str, Any]]) -> bool:
    variable = rule.get("Variable")
    return rule.get("IsPresent") is True and any(
        m is not rule and m.get("Variable") == variable for m in members
    )


def _nested(rule: dict[str, Any]) -> str:
    text = _describe(rule)
    return f"({text})" if any(k in rule for k in ("And", "Or")) else text


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _node(node_id: str, label: str, kind: str) -> str:
    quoted = _label(label)
    if kind == "Choice":
        return f"{node_id}{{{quoted}}}"
    if kind in ("Succeed", "Fail"):
        return f"{node_id}([{quoted}])"
    if kind in ("Pass", "Wait"):
        return f"{node_id}[/{quoted}/]"
    return f"{node_id}[{quoted}]"


def _groups(states: dict[str, dict[str, Any]]) -> dict[str, str]:
    """State -> group label, for 3 or more Pass states that share a first word and a next state.

    A definition that explains each bad input field in its own state would otherwise draw dozens of nodes.
    """
    members: dict[tuple[str, str], list[str]] = {}
    for name, state in states.items():
        if state["Type"] == "Pass" and "Next" in state and " " in name:
            members.setdefault((name.split(" ", 1)[0], state["Next"]), []).append(name)
    return {
        name: f"{word} … ({len(names)} states)"
        for (word, _), names in members.items()
        if len(names) >= 3
        for name in names
    }


def state_machine_diagram(definition: dict[str, Any]) -> str:
    """A Mermaid flowchart of a definition: tasks, choices with their conditions, and the catch paths."""
    states: dict[str, dict[str, Any]] = definition["States"]
    groups = _groups(states)
    node_of: dict[str, str] = {}  # state name -> node id
    id_of_label: dict[str, str] = {}
    nodes: list[str] = []
    for name, state in states.items():
        label = groups.get(name, name)
        if label not in id_of_label:
            id_of_label[label] = f"s{len(id_of_label)}"
            nodes.append(f"    {_node(id_of_label[label], label, state['Type'])}")
        node_of[name] = id_of_label[label]
    edges: dict[tuple[str, str], list[str]] = {}

    def edge(source: str, target: str, label: str | None = None, dotted: bool = False) -> None:
        key = (node_of.get(source, source), node_of.get(target, target))
        edges.setdefault(key, []).append(("-.->" if dotted else "-->") + "\0" + (label or ""))

    for name, state in states.items():
        for choice in state.get("Choices", []):
            edge(name, choice["Next"], _describe(choice))
        if "Default" in state:
            edge(name, state["Default"], "otherwise")
        if "Next" in state:
            edge(name, state["Next"])
        for catcher in state.get("Catch", []):
            errors = ", ".join("any error" if e == "States.ALL" else e for e in catcher["ErrorEquals"])
            edge(name, catcher["Next"], errors, dotted=True)
        if state.get("Type") == "Succeed" or state.get("End"):
            edge(name, "finish((end))")
    lines = ["flowchart TD", f"    start((start)) --> {node_of[definition['StartAt']]}", *nodes]
    for (source, target), kinds in edges.items():
        arrow, label = kinds[0].split("\0")
        if len(kinds) > 1 and label:
            label = f"{_short(label, 32)} (+{len(kinds) - 1} more)"
        lines.append(
            f"    {source} {arrow}|{_label(_short(label))}| {target}"
            if label
            else f"    {source} {arrow} {target}"
        )
    return "\n".join(lines) + "\n"


def architecture_diagram(config: MlOpsConfig) -> str:
    """A Mermaid picture of what a deployment of `config` creates and how data moves between the parts."""
    byo = config.uses_own_image
    lines = [
        "flowchart LR",
        '    owner(["data owner"]) -->|"train.csv, score.csv"| features[("feature store<br>data/train/, data/score/")]',
        '    features -->|"ObjectCreated"| trigger["λ trigger"]',
        '    trigger -->|"StartExecution (deduplicated)"| workflow{{"training workflow<br>(Step Functions)"}}',
        '    workflow -->|"startJobRun.sync"| glue["Glue ETL job"]',
        '    source[("source repository<br>etl/transform.py")] -->|"script"| glue',
        '    features -->|"raw CSV"| glue',
        '    glue -->|"train/, score/, schema/"| extracts[("extracts")]',
        '    workflow -->|"tuning .sync"| tuning["SageMaker tuning<br>'
        + f'{config.max_number_training_jobs} jobs, {config.tuning_strategy}"]',
        '    extracts -->|"train channel"| tuning',
        '    tuning -->|"model.tar.gz"| models[("models")]',
        '    workflow -->|"best job"| metadata_fn["λ run metadata"]',
        '    metadata_fn -->|"runs/{tuning job}.json"| metadata[("metadata")]',
        f'    workflow -->|"gate: {config.tuning_metric} {_gate_symbol(config)} {config.inference_metric_threshold}"| '
        'register_fn["λ register model"]',
        '    models -->|"best model, model-quality.json"| register_fn',
        '    register_fn -->|"package: '
        + ("Approved" if config.model_approval_mode == "automatic" else "PendingManualApproval")
        + '"| registry[("model registry<br>model package group")]',
        '    register_fn -->|"model-quality/"| metadata',
        '    workflow -->|"'
        + ("startExecution.sync" if config.model_approval_mode == "automatic" else "after approval")
        + '"| deployment{{"deployment workflow<br>(Step Functions)"}}',
        '    registry -->|"approved package"| deployment',
        '    deployment -->|"CreateModel from the package"| model["SageMaker model"]',
        '    deployment -->|"deployments/{execution}.json"| metadata',
        '    workflow -.->|"any failure"| topic>"SNS failure topic"]',
        '    deployment -.->|"any failure"| topic',
    ]
    if byo:
        lines += [
            '    ecr[("ECR repository<br>'
            + config.byo_model_image_name
            + '")] -->|"image by digest"| tuning',
            '    ecr -->|"image by digest"| registry',
        ]
    if config.is_batch:
        lines += [
            '    deployment -->|"score file alone: scoring-only startJobRun.sync"| glue',
            '    model --> transform["batch transform .sync"]',
            '    extracts -->|"score/ (one part per instance)"| transform',
            '    transform -->|"id,probability"| output[("output<br>predictions/run=...")]',
            '    deployment -->|"rename .out → .csv"| rename_fn["λ rename output"]',
            "    rename_fn --> output",
            '    deployment -->|"startCrawler"| crawler["Glue crawler"]',
            '    output --> crawler -->|"predictions table"| catalog[("Glue catalog<br>→ Athena")]',
        ]
    else:
        lines += [
            '    model --> endpoint_config["endpoint config"]',
            '    deployment -->|"create or update"| endpoint_fn["λ endpoint"]',
            f'    endpoint_fn --> endpoint(["endpoint {config.endpoint_name}"])',
            "    endpoint_config --> endpoint",
        ]
    if config.enable_processing_pipeline:
        lines += [
            '    runner(["operator"]) -->|"StartExecution (seed 004 input)"| processing{{"processing pipeline"}}',
            '    processing -->|"PreProcessing → Inference → PostProcessing"| jobs["SageMaker Processing jobs"]',
            '    features -->|"legacycode/input/"| jobs',
            '    jobs -->|"predictions, report"| output',
            '    processing -.->|"any failure"| topic',
        ]
    if config.enable_dev_environment:
        lines += [
            '    notebook["SageMaker notebook"] <-->|"git"| repo[("git repository")]',
            '    notebook -->|"land data, start runs, read metrics"| features',
            '    features -->|"feature-store crawler"| lake[("Glue catalog<br>features_train, features_score")]',
            '    notebook -->|"Athena"| lake',
        ]
    return "\n".join(lines) + "\n"


def _gate_symbol(config: MlOpsConfig) -> str:
    return _COMPARISONS[config.inference_comparison_operator]
