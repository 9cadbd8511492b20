"""Mermaid diagrams generated from state machine definitions, so the pictures cannot drift from the code."""

from __future__ import annotations

from typing import Any

from mlops_component.config import MlOpsConfig
from mlops_component.workflows import gate

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
        if all(r.get("IsString") for r in rule["And"]):
            return "input complete"
        return " and ".join(_describe(r) for r in rule["And"])
    if "Or" in rule:
        return " or ".join(_describe(r) for r in rule["Or"])
    if "Not" in rule:
        return f"not {_describe(rule['Not'])}"
    path = rule.get("Variable", "")
    variable = _VARIABLE_NAMES.get(path) or path.removeprefix("$.").split(".")[-1]
    for key, symbol in _COMPARISONS.items():
        if key in rule:
            return f"{variable} {symbol} {rule[key]}"
    if "IsPresent" in rule:
        return f"{variable} {'present' if rule['IsPresent'] else 'absent'}"
    checks = [k for k in rule if k.startswith("Is")]
    return f"{variable} {checks[0]}" if checks else variable


def _node(node_id: str, name: str, state: dict[str, Any]) -> str:
    kind = state["Type"]
    label = _label(name)
    if kind == "Choice":
        return f"{node_id}{{{label}}}"
    if kind in ("Succeed", "Fail"):
        return f"{node_id}([{label}])"
    if kind in ("Pass", "Wait"):
        return f"{node_id}[/{label}/]"
    return f"{node_id}[{label}]"


def state_machine_diagram(definition: dict[str, Any]) -> str:
    """A Mermaid flowchart of a definition: tasks, choices with their conditions, and the catch paths."""
    states: dict[str, dict[str, Any]] = definition["States"]
    ids = {name: f"s{index}" for index, name in enumerate(states)}
    lines = ["flowchart TD", f"    start((start)) --> {ids[definition['StartAt']]}"]
    lines += [f"    {_node(ids[name], name, state)}" for name, state in states.items()]
    catch_targets: set[tuple[str, str]] = set()
    for name, state in states.items():
        source = ids[name]
        for choice in state.get("Choices", []):
            lines.append(f"    {source} -->|{_label(_describe(choice))}| {ids[choice['Next']]}")
        if "Default" in state:
            lines.append(f"    {source} -->|otherwise| {ids[state['Default']]}")
        if "Next" in state:
            lines.append(f"    {source} --> {ids[state['Next']]}")
        for catcher in state.get("Catch", []):
            errors = ", ".join("any error" if e == "States.ALL" else e for e in catcher["ErrorEquals"])
            if (name, catcher["Next"]) not in catch_targets:
                catch_targets.add((name, catcher["Next"]))
                lines.append(f"    {source} -.->|{_label(errors)}| {ids[catcher['Next']]}")
        if state.get("Type") == "Succeed" or state.get("End"):
            lines.append(f"    {source} --> finish((end))")
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
        'model["SageMaker model"]',
        '    models -->|"best model"| model',
        '    workflow -.->|"any failure"| topic>"SNS failure topic"]',
    ]
    if byo:
        lines += [
            '    ecr[("ECR repository<br>'
            + config.byo_model_image_name
            + '")] -->|"image by digest"| tuning',
            '    ecr -->|"image by digest"| model',
        ]
    if config.is_batch:
        lines += [
            '    model --> transform["batch transform .sync"]',
            '    extracts -->|"score.csv"| transform',
            '    transform -->|"id,probability"| output[("output<br>predictions/run=...")]',
            '    workflow -->|"rename .out → .csv"| rename_fn["λ rename output"]',
            "    rename_fn --> output",
            '    workflow -->|"startCrawler"| crawler["Glue crawler"]',
            '    output --> crawler -->|"predictions table"| catalog[("Glue catalog<br>→ Athena")]',
        ]
    else:
        lines += [
            '    model --> endpoint_config["endpoint config"]',
            '    workflow -->|"create or update"| endpoint_fn["λ endpoint"]',
            f'    endpoint_fn --> endpoint(["endpoint {config.endpoint_name}"])',
            "    endpoint_config --> endpoint",
        ]
    return "\n".join(lines) + "\n"


def _gate_symbol(config: MlOpsConfig) -> str:
    return _COMPARISONS[config.inference_comparison_operator]
