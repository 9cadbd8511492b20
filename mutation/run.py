"""`make mutation`: mutate the modules in mutation/modules.toml, run each mutant against the tests that reach
it, print killed / run / score per module, and exit 1 when a module is below the threshold.

    python -m mutation.run                        # every listed module
    python -m mutation.run --module PATH          # one module (listed or not)
    python -m mutation.run --changed REV          # only mutants on lines changed since git revision REV
    python -m mutation.run --module PATH --where NAME   # only mutants inside the function or class NAME

Equivalent mutants (they cannot change behaviour) are listed, each with its reason, in mutation/equivalents.toml
and left out of the score. Details of the last run: .mutation/last-run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mutation.coverage_map import CACHE, LineMap, line_map
from mutation.mutants import Mutant, mutants_of
from mutation.stages import Killers, stages

HERE = Path(__file__).parent
ROOT = HERE.parent


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, timeout, uncovered, equivalent, error
    seconds: float = 0.0
    tests: int = 0


def _config() -> tuple[list[str], float, tuple[str, ...]]:
    config = tomllib.loads((HERE / "modules.toml").read_text())
    return list(config["modules"]), float(config["threshold"]), tuple(config.get("change_detectors", ()))


def _equivalents() -> dict[tuple[str, str, str, str], str]:
    entries = tomllib.loads((HERE / "equivalents.toml").read_text()).get("mutant", [])
    return {(e["module"], e["where"], e["before"], e["after"]): e["reason"] for e in entries}


def _changed_lines(revision: str, module: str) -> set[int]:
    diff = subprocess.run(
        ["git", "diff", "--unified=0", revision, "--", module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines: set[int] = set()
    for start, count in re.findall(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, flags=re.MULTILINE):
        lines.update(range(int(start), int(start) + int(count or 1)))
    return lines


class _Zygotes:
    """One zygote (mutation/zygote.py) per job; a thread borrows one for each mutant."""

    def __init__(self, jobs: int) -> None:
        self._idle: queue.Queue[subprocess.Popen[str]] = queue.Queue()
        for _ in range(jobs):
            zygote = subprocess.Popen(
                [sys.executable, "-m", "mutation.zygote"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert zygote.stdout is not None and json.loads(zygote.stdout.readline())["ready"]
            self._idle.put(zygote)
        self._all = list(self._idle.queue)

    def run(self, mutant: Mutant, tests: list[str], budget: float) -> tuple[str, float, str | None]:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
            # container/ is the image's root (its tests put it on sys.path): its modules import as xgb_model.*
            name = mutant.module.removesuffix(".py").removeprefix("container/").replace("/", ".")
            json.dump({"name": name, "origin": str(ROOT / mutant.module), "source": mutant.source}, spec)
        zygote = self._idle.get()
        try:
            assert zygote.stdin is not None and zygote.stdout is not None
            zygote.stdin.write(json.dumps({"mutant": spec.name, "tests": tests, "budget": budget}) + "\n")
            zygote.stdin.flush()
            answer = json.loads(zygote.stdout.readline())
        finally:
            self._idle.put(zygote)
            Path(spec.name).unlink(missing_ok=True)
        return answer["status"], answer["seconds"], answer["killer"]

    def close(self) -> None:
        for zygote in self._all:
            assert zygote.stdin is not None
            zygote.stdin.close()
            zygote.wait()


def _judge(
    mutant: Mutant,
    covering: LineMap,
    equivalents: dict[tuple[str, str, str, str], str],
    zygotes: _Zygotes,
    killers: Killers,
    interrupted: threading.Event,
) -> Outcome:
    if mutant.key in equivalents:
        return Outcome(mutant, "equivalent")
    tests = covering.tests_for(mutant.module, *mutant.statement)
    if tests is None:
        return Outcome(mutant, "uncovered")
    status, seconds = "survived", 0.0
    for stage in stages(tests, killers.suspects(mutant.key)):
        if interrupted.is_set():  # Ctrl-C: this mutant will not be counted, so run no further stage
            break
        budget = 60 + 3 * sum(covering.seconds.get(test, 1.0) for test in stage)
        status, spent, killer = zygotes.run(mutant, stage, budget)
        seconds += spent
        if killer:
            killers.record(mutant.key, killer)
        if status != "survived":
            break
    return Outcome(mutant, status, seconds, len(tests))


def _table(outcomes: list[Outcome], modules: list[str], threshold: float) -> bool:
    """Prints the per-module table; True when every module with mutants meets the threshold."""
    ok = True
    print(f"\n{'module':<62} {'killed':>6} {'run':>5} {'score':>6} {'equiv':>6}")
    for module in modules:
        counts = Counter(o.status for o in outcomes if o.mutant.module == module)
        killed = counts["killed"] + counts["timeout"]
        run = sum(counts.values()) - counts["equivalent"]
        score = killed / run if run else None
        ok = ok and (score is None or score >= threshold)
        shown = f"{score:.2f}" if score is not None else "-"
        mark = "" if score is None or score >= threshold else "  < " + str(threshold)
        print(f"{module:<62} {killed:>6} {run:>5} {shown:>6} {counts['equivalent']:>6}{mark}")
    return ok


def _report(
    outcomes: list[Outcome], equivalents: dict[tuple[str, str, str, str], str], *, complete: bool
) -> None:
    alive = [o for o in outcomes if o.status in ("survived", "uncovered", "error")]
    if alive:
        print(f"\n{len(alive)} mutant(s) not killed (key for mutation/equivalents.toml in brackets):")
        for outcome in alive:
            m = outcome.mutant
            print(f"  {outcome.status:<9} {m.module}:{m.lines[0]} {m.operator}")
            print(f'            where = "{m.where}"  before = {json.dumps(m.before)}')
            print(f"            after = {json.dumps(m.after)}")
    used = {o.mutant.key for o in outcomes if o.status == "equivalent"}
    checked_modules = {o.mutant.module for o in outcomes}
    stale = [key for key in equivalents if key[0] in checked_modules and key not in used]
    if stale and complete:
        print("\nentries of mutation/equivalents.toml that match no mutant any more (remove them):")
        for key in stale:
            print(f"  {key}")
    (ROOT / CACHE).mkdir(exist_ok=True)
    (ROOT / CACHE / "last-run.json").write_text(
        json.dumps(
            [
                {
                    "status": o.status,
                    "label": o.mutant.label,
                    "operator": o.mutant.operator,
                    "seconds": o.seconds,
                }
                for o in outcomes
            ],
            indent=1,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--module", help="mutate only this module (a path relative to the repository root)")
    parser.add_argument(
        "--changed", metavar="REV", help="only mutants on lines changed since this git revision"
    )
    parser.add_argument(
        "--where", nargs="+", metavar="NAME", help="only mutants inside these functions or classes"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="PATH",
        help="use only the tests under these paths (a quicker, lower score)",
    )
    parser.add_argument("--fresh", action="store_true", help="measure the line -> tests map again")
    args = parser.parse_args(argv)
    jobs = max(1, args.jobs)

    listed, threshold, change_detectors = _config()
    modules = [args.module] if args.module else listed
    missing = [module for module in modules if not (ROOT / module).is_file()]
    if missing:
        print(f"error: no such module: {', '.join(missing)}", file=sys.stderr)
        return 2
    equivalents = _equivalents()
    with ProcessPoolExecutor(max_workers=jobs) as generating:
        mutants = [m for found in generating.map(partial(mutants_of, ROOT), modules) for m in found]
    if args.changed:
        changed = {module: _changed_lines(args.changed, module) for module in modules}
        mutants = [m for m in mutants if changed[m.module] & set(range(m.lines[0], m.lines[1] + 1))]
    if args.where:
        mutants = [m for m in mutants if m.where in args.where]
    # Function by function: the tests that killed one mutant there run first for the next (mutation/stages.py).
    mutants.sort(key=lambda m: (m.module, m.statement, m.operator, m.occurrence))
    print(f"{len(mutants)} mutants in {len(modules)} module(s)", flush=True)
    if not mutants:
        return 0
    covering = line_map(
        ROOT,
        sorted(set(listed) | set(modules)),
        fresh=args.fresh,
        only=args.tests,
        jobs=jobs,
        ignore=change_detectors,
    )
    if covering.failing:
        print(f"left out, failing without any mutant: {sorted(covering.failing)}")

    outcomes: list[Outcome] = []
    zygotes = _Zygotes(jobs)
    killers = Killers(ROOT / CACHE / "killers.json")
    interrupted = threading.Event()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            for done, outcome in enumerate(
                pool.map(lambda m: _judge(m, covering, equivalents, zygotes, killers, interrupted), mutants),
                1,
            ):
                outcomes.append(outcome)
                if outcome.status in ("survived", "uncovered", "error"):
                    print(f"  [{done}/{len(mutants)}] {outcome.status}: {outcome.mutant.label}", flush=True)
                elif done % 25 == 0:
                    print(f"  [{done}/{len(mutants)}]", flush=True)
        except KeyboardInterrupt:
            # Ctrl-C: let the mutants under way finish their current stage, then report those done so far.
            interrupted.set()
            pool.shutdown(cancel_futures=True)
            print(f"\ninterrupted: the table counts the first {len(outcomes)} of {len(mutants)} mutants")
    zygotes.close()
    _report(
        outcomes, equivalents, complete=len(outcomes) == len(mutants) and not (args.changed or args.where)
    )
    return 0 if _table(outcomes, modules, threshold) else 1


if __name__ == "__main__":
    sys.exit(main())
