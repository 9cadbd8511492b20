"""In which order, and in how many pytest runs, a mutant's tests run: most mutants are killed by one test, so
finding it early is what makes a run fast.

A pytest run imports every test file it is given before running the first test, and those imports cost more
than most tests. So a mutant's tests run in stages, each a pytest run of its own that stops at the first
failure: first the tests that killed this mutant, or others in the same function or module, before (the
suspects); then the rest file by file, one file, then two, then four and so on, the files of the fastest tests
first. A killed mutant pays for the files up to its killer's; a surviving one for a few more pytest starts.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

# How many remembered killers run first, and how many are remembered per function and per module.
SUSPECTS = 4
_KEPT = 6


def stages(tests: list[str], suspects: list[str]) -> list[list[str]]:
    """`tests` (fastest first) split into pytest runs: the suspects among them, then files in doubling groups."""
    reaching = set(tests)
    first = [test for test in dict.fromkeys(suspects) if test in reaching][:SUSPECTS]
    rest = [test for test in tests if test not in first]
    files = list(dict.fromkeys(test.split("::")[0] for test in rest))
    result = [first] if first else []
    start, size = 0, 1
    while start < len(files):
        group = set(files[start : start + size])
        result.append([test for test in rest if test.split("::")[0] in group])
        start, size = start + size, size * 2
    return result


class Killers:
    """The test that killed each mutant, and the latest killers in each function and module, kept in a file
    across runs, written at each kill so that a run stopped part-way (Ctrl-C, a killed job) keeps what it learnt.

    Mutants in one function are mostly killed by the same few tests, and a mutant is usually killed again by
    the test that killed it last time, so these run first."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        known = json.loads(path.read_text()) if path.exists() else {}
        self._by_mutant: dict[str, str] = known.get("by_mutant", {})
        self._by_function: dict[str, list[str]] = known.get("by_function", {})
        self._by_module: dict[str, list[str]] = known.get("by_module", {})

    def suspects(self, key: tuple[str, str, str, str]) -> list[str]:
        module, where, _, _ = key
        with self._lock:
            exact = self._by_mutant.get(json.dumps(key))
            nearby = [*self._by_function.get(f"{module}::{where}", []), *self._by_module.get(module, [])]
            return list(dict.fromkeys([*([exact] if exact else []), *nearby]))

    def record(self, key: tuple[str, str, str, str], test: str) -> None:
        module, where, _, _ = key
        with self._lock:
            self._by_mutant[json.dumps(key)] = test
            for latest, name in ((self._by_function, f"{module}::{where}"), (self._by_module, module)):
                latest[name] = [test, *(t for t in latest.get(name, []) if t != test)][:_KEPT]
            known = {
                "by_mutant": self._by_mutant,
                "by_function": self._by_function,
                "by_module": self._by_module,
            }
            # Written whole and renamed into place: a run killed mid-write leaves the previous file, not half of one.
            self._path.parent.mkdir(parents=True, exist_ok=True)
            partial = self._path.with_suffix(".partial")
            partial.write_text(json.dumps(known, indent=0))
            partial.replace(self._path)
