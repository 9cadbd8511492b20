"""Which tests execute which line of the mutated modules, so that each mutant runs only the tests that reach it.

Built by running the test files once under coverage, one context per test (mutation/plugin.py), and cached per
test file in .mutation/map/: a test file is measured again when it changes or a listed module its tests ran
changes (after changing a test helper or a library module outside the list, `--fresh` measures everything
again). Tests that fail unmutated are left out of the map.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE = Path(".mutation")


@dataclass
class LineMap:
    # module -> line -> node ids of the tests that executed it
    lines: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    # module -> lines executed while importing it (outside any test)
    import_lines: dict[str, set[int]] = field(default_factory=dict)
    # every usable test (passing, not a change detector) -> its duration
    seconds: dict[str, float] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def tests_for(self, module: str, first: int, last: int) -> list[str] | None:
        """The tests that run lines first..last, themselves or through a shared fixture they use, fastest first.
        A statement that runs at import (a module constant, a default argument, a decorator) gets every
        test that covers the module; None when no test runs it at all."""
        by_line = self.lines.get(module, {})
        chosen = set().union(*(by_line.get(line, set()) for line in range(first, last + 1)))
        # Import-time statements shape every test of the module, even when one test happened to import it
        # first (its context then holds the import's lines) and imports it under a name the mutant is not
        # installed as.
        if any(first <= line <= last for line in self.import_lines.get(module, ())):
            chosen = set().union(chosen, *by_line.values())
        if not chosen:
            return None
        return sorted(chosen, key=lambda test: (self.seconds.get(test, 0.0), test))


def _digest(root: Path, paths: list[Path]) -> str:
    """Keyed by paths relative to `root`, so that a copy of the cache is valid in another work tree."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0" + (root / path).read_bytes() + b"\0")
    return digest.hexdigest()


def _cache_file(test_file: Path) -> Path:
    return CACHE / "map" / (str(test_file).replace("/", "__") + ".json")


def _collect(
    test_files: list[Path], modules: list[str], root: Path, part: int = 0
) -> dict[str, dict[str, Any]]:
    """Runs `test_files` once under coverage; returns each file's share of the map."""
    data_file = (root / CACHE / f"coverage-{os.getpid()}-{part}.data").resolve()
    data_file.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MUTATION_COVERAGE": str(data_file),
        "MUTATION_SOURCES": os.pathsep.join(str((root / module).resolve()) for module in modules),
    }
    command = [sys.executable, "-m", "pytest", "-p", "mutation.plugin", "-q", "-p", "no:cacheprovider"]
    print(f"measuring which tests reach which lines: {len(test_files)} test file(s)", flush=True)
    run = subprocess.run(
        [*command, *map(str, test_files)], cwd=root, env=env, check=False, capture_output=True, text=True
    )
    print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-3000:], flush=True)

    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    tests = json.loads(data_file.with_suffix(".tests.json").read_text())
    shares: dict[str, dict[str, Any]] = {
        str(path): {"lines": {}, "import_lines": {}, "tests": {}} for path in test_files
    }
    users: dict[str, list[str]] = {}  # shared fixture context -> the tests that use the fixture
    for test, report in tests.items():
        share = shares.get(test.split("::")[0])
        if share is not None:
            share["tests"][test] = report
        for fixture in report.get("fixtures", ()):
            users.setdefault(fixture, []).append(test)
    for module in modules:
        measured = str((root / module).resolve())
        for line, by_context in data.contexts_by_lineno(measured).items():
            # A shared fixture's lines count for every test that uses it.
            contexts = [user for c in by_context for user in users.get(c, [c])]
            for context in contexts:
                if not context:
                    for share in shares.values():
                        share["import_lines"].setdefault(module, []).append(line)
                    continue
                share = shares.get(context.split("::")[0])
                if share is not None:
                    by_line = share["lines"].setdefault(module, {})
                    by_line.setdefault(str(line), []).append(context)
    data_file.unlink()
    data_file.with_suffix(".tests.json").unlink()
    return shares


def line_map(
    root: Path,
    modules: list[str],
    fresh: bool = False,
    only: list[str] | None = None,
    jobs: int = 1,
    ignore: tuple[str, ...] = (),
) -> LineMap:
    """The map over every test file, or only those under the paths in `only`, without the tests whose node ids
    start with one of `ignore`; stale files are measured in `jobs` pytest processes at once."""
    tests_dir = root / "tests"
    test_files = sorted(path.relative_to(root) for path in tests_dir.rglob("test_*.py"))
    if only:
        test_files = [path for path in test_files if any(path.is_relative_to(prefix) for prefix in only)]
    # A test file is measured again when it changes, when the code that records the map changes, or when a
    # listed module it reached changes: a test that never ran a module's code cannot be affected by it (code
    # a module runs at import runs outside any test, and is taken only from files measured against the
    # module as it is now).
    recorders = b"".join(
        Path(__file__).with_name(name).read_bytes() for name in ("coverage_map.py", "plugin.py")
    )
    shared = hashlib.sha256(recorders).hexdigest() + "\0".join(modules)
    digests = {module: _digest(root, [Path(module)]) for module in modules}
    # Taken before measuring: a test file edited while it is measured is then measured again next time.
    test_digests = {path: _digest(root, [path]) for path in test_files}

    def fingerprint(path: Path, reached: Iterable[str]) -> str:
        return test_digests[path] + shared + "".join(digests[m] for m in sorted(reached) if m in digests)

    def cached(path: Path) -> dict[str, Any] | None:
        cache = root / _cache_file(path)
        return json.loads(cache.read_text()) if cache.exists() else None

    known: dict[Path, dict[str, Any]] = {}  # each test file's share of the map, read or measured once
    stale = []
    for path in test_files:
        share = None if fresh else cached(path)
        if share is None or share["fingerprint"] != fingerprint(path, share["lines"]):
            stale.append(path)
        else:
            known[path] = share
    if stale:
        # Dealt round-robin: neighbouring files (one package's tests) tend to cost alike, so the parts finish together.
        parts = [stale[i::jobs] for i in range(min(jobs, len(stale)))]
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            shares = pool.map(lambda ip: _collect(ip[1], modules, root, ip[0]), enumerate(parts))
        for measured, share in (item for found in shares for item in found.items()):
            share["import_lines"] = {
                module: {"digest": digests[module], "lines": lines}
                for module, lines in share["import_lines"].items()
            }
            known[Path(measured)] = {"fingerprint": fingerprint(Path(measured), share["lines"]), **share}
            cache = root / _cache_file(Path(measured))
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known[Path(measured)]))
    result = LineMap()
    for path in test_files:
        share = known[path]
        for test, report in share["tests"].items():
            if not report.get("passed", True):
                result.failing.add(test)
            elif not test.startswith(ignore):
                result.seconds[test] = report.get("seconds", 0.0)
        for module, measured in share["import_lines"].items():
            if measured["digest"] == digests.get(module):
                result.import_lines.setdefault(module, set()).update(measured["lines"])
        for module, by_line in share["lines"].items():
            target = result.lines.setdefault(module, {})
            for line, tests in by_line.items():
                kept = {test for test in tests if not test.startswith(ignore)} - result.failing
                target.setdefault(int(line), set()).update(kept)
    return result
