"""Which Choice comparisons may meet a missing path: the one mistake Step Functions punishes with States.Runtime.

On AWS, a Choice rule that applies any test but `IsPresent` to a path that is not in the state's input fails
the whole execution with States.Runtime, past every Catch and notification (moto's interpreter returns false
instead). `unguarded_comparisons` finds every such rule in a definition without running it.

"Possibly absent", precisely: a path is *guaranteed* at a state when on every way into that state some earlier
state wrote it, and nothing later removed it:
- a Pass state's `Result`/`Parameters`, or a Task's `ResultSelector`, writes each of its keys (a `.$` key is
  written or the state fails before it; a key whose value is a plain path also copies what is guaranteed
  under that path), under its `ResultPath` (`$` replaces the whole input; `null` keeps the input unchanged);
- a Task without `ResultSelector` writes only the response fields the API reference marks as required
  (`REQUIRED_RESPONSE_FIELDS`); anything else a service returns is optional;
- a Catch writes `Error` and `Cause` under its `ResultPath`;
- the execution input guarantees nothing.
Every other path is possibly absent, and a comparison on it is guarded only by `{"Variable": <same path>,
"IsPresent": true}` earlier in an enclosing `And` (And stops at its first false member).
"""

from __future__ import annotations

from typing import Any

Path = tuple[str, ...]

# Response fields AWS's API reference marks "Required: Yes", per Task resource without a ResultSelector.
REQUIRED_RESPONSE_FIELDS: dict[str, set[Path]] = {
    "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint": {
        ("EndpointName",),
        ("EndpointArn",),
        ("EndpointStatus",),
        ("CreationTime",),
        ("LastModifiedTime",),
    },
}
_COMPOSITES = ("And", "Or", "Not")
_NOT_TESTS = {"Variable", "Next", "Comment"}


def _path(text: str) -> Path | None:
    """`$.a.b` as ("a", "b"); None for anything that is not a plain dotted path from the state's input."""
    if text == "$":
        return ()
    if not text.startswith("$.") or any(c in text for c in "[]*()'\" ,"):
        return None
    return tuple(text[2:].split("."))


def _written(template: Any, source: frozenset[Path]) -> set[Path]:
    """The paths a Parameters/ResultSelector/Result template writes; `source` is what its `.$` paths read."""
    written: set[Path] = set()
    if not isinstance(template, dict):
        return written
    for key, value in template.items():
        name = key.removesuffix(".$")
        written.add((name,))
        if key.endswith(".$"):
            copied = _path(value) if isinstance(value, str) else None
            if copied is not None:
                written |= {(name, *p[len(copied) :]) for p in source if p[: len(copied)] == copied}
        else:
            written |= {(name, *p) for p in _written(value, source)}
    return written


def _place(entry: frozenset[Path], result: set[Path], result_path: Any) -> frozenset[Path]:
    """The state's output: `result` put at `result_path` into the input whose guaranteed paths are `entry`."""
    if result_path is None:
        return entry
    target = _path(result_path)
    assert target is not None, f"unsupported ResultPath {result_path}"
    if target == ():
        return frozenset(result)
    kept = {p for p in entry if p[: len(target)] != target}
    parents = {target[:i] for i in range(1, len(target) + 1)}
    return frozenset(kept | parents | {target + p for p in result})


def _exits(state: dict[str, Any], entry: frozenset[Path]) -> list[tuple[str, frozenset[Path]]]:
    """(next state, paths guaranteed on arrival there) for each way out of `state`."""
    for field in ("InputPath", "OutputPath"):
        assert state.get(field, "$") == "$", f"{field} is not modelled"
    kind = state["Type"]
    if kind == "Choice":
        targets = [rule["Next"] for rule in state["Choices"]] + [state.get("Default")]
        return [(t, entry) for t in targets if t]
    if kind in ("Succeed", "Fail"):
        return []
    if kind == "Pass":
        if "Result" in state:
            result = _written(state["Result"], frozenset())
        elif "Parameters" in state:
            result = _written(state["Parameters"], entry)
        else:
            result = set(entry)
        output = _place(entry, result, state.get("ResultPath", "$"))
    elif kind == "Task":
        response = frozenset(REQUIRED_RESPONSE_FIELDS.get(state["Resource"], set()))
        result = _written(state["ResultSelector"], response) if "ResultSelector" in state else set(response)
        output = _place(entry, result, state.get("ResultPath", "$"))
    else:
        assert kind == "Wait", f"state type {kind} is not modelled"
        output = entry
    exits = [(state["Next"], output)] if "Next" in state else []
    for catcher in state.get("Catch", []):
        error = {("Error",), ("Cause",)}
        exits.append((catcher["Next"], _place(entry, error, catcher.get("ResultPath", "$"))))
    return exits


def guaranteed_paths(definition: dict[str, Any]) -> dict[str, frozenset[Path]]:
    """Per state, the paths present in its input however the execution got there (a forward data-flow)."""
    states = definition["States"]
    entry: dict[str, frozenset[Path]] = {definition["StartAt"]: frozenset()}
    pending = [definition["StartAt"]]
    while pending:
        name = pending.pop()
        for target, arriving in _exits(states[name], entry[name]):
            merged = arriving if target not in entry else entry[target] & arriving
            if target not in entry or merged != entry[target]:
                entry[target] = merged
                pending.append(target)
    return entry


def _rule_problems(rule: dict[str, Any], guaranteed: frozenset[Path], present: set[str]) -> list[str]:
    if "And" in rule:
        problems, known = [], set(present)
        for member in rule["And"]:
            problems += _rule_problems(member, guaranteed, known)
            if member.get("IsPresent") is True and "Variable" in member:
                known.add(member["Variable"])
        return problems
    if "Or" in rule:
        return [p for member in rule["Or"] for p in _rule_problems(member, guaranteed, present)]
    if "Not" in rule:
        return _rule_problems(rule["Not"], guaranteed, present)
    tests = [key for key in rule if key not in _NOT_TESTS]
    assert len(tests) == 1, f"one test per rule expected: {rule}"
    test = tests[0]
    if test == "IsPresent":
        return []
    compared = [rule["Variable"]] + ([rule[test]] if test.endswith("Path") else [])
    return [
        f"{test} on {variable}"
        for variable in compared
        if variable not in present and _path(variable) not in guaranteed
    ]


def unguarded_comparisons(definition: dict[str, Any]) -> list[str]:
    """`<Choice state>: <test> on <path>` for every comparison that may meet a missing path."""
    entry = guaranteed_paths(definition)
    problems = []
    for name, state in definition["States"].items():
        if state["Type"] != "Choice" or name not in entry:
            continue
        for rule in state["Choices"]:
            problems += [f"{name}: {p}" for p in _rule_problems(rule, entry[name], set())]
    return problems
