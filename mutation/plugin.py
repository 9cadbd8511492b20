"""The pytest side of `make mutation`, loaded with `-p mutation.plugin`. Two modes, chosen by environment:

- MUTATION_MUTANT=<json file>: the listed module is imported from the mutant's source instead of its file. The
  file on disk is never touched, so mutants run in parallel in one work tree and an interrupted run leaves
  nothing behind.
- MUTATION_COVERAGE=<data file>: records which test executed which line of the listed modules (one coverage
  context per test), and each test's outcome and duration, for the line -> tests map.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, origin: str, source: str) -> None:
        self._origin = origin
        self._source = source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        # Compiled under the original file name, so tracebacks and coverage point at the real lines.
        exec(compile(self._source, self._origin, "exec"), module.__dict__)


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, origin: str, source: str) -> None:
        self._name = name
        self._origin = origin
        self._source = source

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self._name:
            return None
        return importlib.util.spec_from_file_location(
            fullname, self._origin, loader=_MutantLoader(self._origin, self._source)
        )


def install_mutant(spec_file: str) -> None:
    mutant = json.loads(Path(spec_file).read_text())
    sys.meta_path.insert(0, _MutantFinder(mutant["name"], mutant["origin"], mutant["source"]))


def _shared_fixture_context(fixturedef: Any) -> str:
    """The coverage context of a fixture set up once for many tests (module, class, package or session scope)."""
    return f"fixture:{fixturedef.baseid}:{fixturedef.argname}"


class _CoverageRecorder:
    """One coverage context per test (its node id) and one per shared fixture, plus each test's outcome, duration
    and the shared fixtures it uses: a fixture cached across tests runs its code once, inside whichever test asked
    first, yet every test that uses it depends on that code."""

    def __init__(self, data_file: str, sources: list[str]) -> None:
        import coverage

        self._report = Path(data_file).with_suffix(".tests.json")
        self._tests: dict[str, dict[str, Any]] = {}
        self._context = ""
        self._cov = coverage.Coverage(data_file=data_file, include=sources, branch=False)
        self._cov.start()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        self._context = item.nodeid
        self._cov.switch_context(item.nodeid)
        started = time.monotonic()
        yield
        report = self._tests.setdefault(item.nodeid, {"passed": True})
        report["seconds"] = time.monotonic() - started
        definitions = getattr(item, "_fixtureinfo", None)
        report["fixtures"] = sorted(
            _shared_fixture_context(defs[-1])
            for defs in (definitions.name2fixturedefs.values() if definitions else ())
            if defs and defs[-1].scope != "function"
        )
        self._context = ""
        self._cov.switch_context("")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: Any, request: pytest.FixtureRequest
    ) -> Generator[None, None, None]:
        if fixturedef.scope == "function":
            yield
            return
        self._cov.switch_context(_shared_fixture_context(fixturedef))
        yield
        self._cov.switch_context(self._context)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self._tests.setdefault(report.nodeid, {})["passed"] = False

    def pytest_sessionfinish(self) -> None:
        self._cov.stop()
        self._cov.save()
        self._report.write_text(json.dumps(self._tests))


if os.environ.get("MUTATION_MUTANT"):
    install_mutant(os.environ["MUTATION_MUTANT"])

# Started on import (`-p` loads this before conftest.py imports the library), so import-time lines count too,
# under the empty context.
_RECORDER = (
    _CoverageRecorder(os.environ["MUTATION_COVERAGE"], os.environ["MUTATION_SOURCES"].split(os.pathsep))
    if os.environ.get("MUTATION_COVERAGE")
    else None
)


def pytest_configure(config: pytest.Config) -> None:
    if _RECORDER is not None:
        config.pluginmanager.register(_RECORDER, "mutation-coverage")
