"""`make mutation`'s own parts: our operators make the mutations they document, annotations and docstrings are
left alone, and a mutant is imported in place of the module without touching its file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cosmic_ray.plugins
import pytest
from cosmic_ray.mutating import mutate_code

from mutation.mutants import mutants_of
from mutation.operators import register

ROOT = Path(__file__).resolve().parents[1]
register()
OURS = sorted(cosmic_ray.plugins.OPERATOR_PROVIDERS["mlops"].items())
GATE = "mlops_component/builders/state_machines/gate.py"


def _gate_mutant(folder: Path) -> Path:
    """A mutant spec of the gate whose NumericEquals answers the opposite."""
    module = ROOT / GATE
    source = module.read_text().replace('"NumericEquals": operator.eq', '"NumericEquals": operator.ne')
    spec = folder / "mutant.json"
    spec.write_text(
        json.dumps(
            {"name": "mlops_component.builders.state_machines.gate", "origin": str(module), "source": source}
        )
    )
    return spec


@pytest.mark.parametrize("name, operator", OURS, ids=[name for name, _ in OURS])
def test_each_operator_makes_the_mutations_it_documents(name: str, operator) -> None:
    for example in operator.examples():
        mutated = mutate_code(example.pre_mutation_code, operator(), example.occurrence)
        assert mutated == example.post_mutation_code, (name, example)


def test_annotations_docstrings_and_error_messages_are_not_mutated(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        '"""Docstring."""\n'
        'Mode = Literal["batch", "endpoint"]\n'
        "def f(x: int | None = None, *, y: str | None) -> str | None:\n"
        '    """Docstring."""\n'
        "    if x is None:\n"
        '        raise ValueError("a message")\n'
        '    assert x != "Value", "a message"\n'
        '    return {"Key": "Value"}[x]\n'
    )
    changes = {(m.before, m.after) for m in mutants_of(tmp_path, "m.py")}
    assert all("|" not in before or "|" in after for before, after in changes)  # annotations kept
    assert not any("/" in after for _, after in changes)  # the keyword-only marker is no operator
    assert not any("XXDocstring" in after or "XXa message" in after for _, after in changes)
    assert not any(before.startswith("raise") for before, _ in changes)
    # Only an assert's message is left alone, not its condition.
    assert ('assert x != "Value", "a message"', 'assert x == "Value", "a message"') in changes
    assert not any("Literal" in before for before, _ in changes)  # a type, though evaluated
    assert ('return {"Key": "Value"}[x]', 'return {"XXKeyXX": "Value"}[x]') in changes
    assert ("if x is None:", "if x is not None:") in changes


def test_a_mutant_replaces_the_module_for_the_tests_only(tmp_path: Path) -> None:
    module = ROOT / GATE
    original = module.read_text()
    spec = _gate_mutant(tmp_path)
    probe = (
        "import mutation.plugin\n"
        "from mlops_component.builders.state_machines.gate import gate_passes\n"
        "print(gate_passes('NumericEquals', 1.0, 1.0))\n"
    )
    env = {**os.environ, "MUTATION_MUTANT": str(spec)}
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "False", run.stderr
    assert module.read_text() == original


def test_an_import_time_statement_runs_every_test_of_its_module() -> None:
    """A test that imported the module first records its import lines under its own name; a mutant of a
    module constant must still run every test that uses the module, not only that one."""
    from mutation.coverage_map import LineMap

    covering = LineMap(
        lines={"m.py": {3: {"a.py::imports_first"}, 9: {"b.py::calls"}}},
        import_lines={"m.py": {3}},
        seconds={"a.py::imports_first": 2.0, "b.py::calls": 1.0},
    )
    assert covering.tests_for("m.py", 3, 3) == ["b.py::calls", "a.py::imports_first"]
    assert covering.tests_for("m.py", 9, 9) == ["b.py::calls"]
    assert covering.tests_for("m.py", 5, 5) is None


def test_the_line_map_counts_shared_fixtures_and_leaves_out_change_detectors(
    tmp_path: Path, monkeypatch
) -> None:
    """A fixture cached for a module runs its code once, inside whichever test asked first, yet every test that
    uses it depends on that code; a snapshot test fails on any change, right or wrong, so a line only it runs is
    left uncovered."""
    from mutation.coverage_map import line_map

    (tmp_path / "m.py").write_text(
        "def double(x):\n    return 2 * x\n\n\ndef half(x):\n    return x / 2\n\n\ndef build():\n    return 7\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(
        "import pytest\n\nfrom m import build, double, half\n\n\n"
        "@pytest.fixture(scope='module')\ndef built():\n    return build()\n\n\n"
        "def test_behaviour(built):\n    assert double(2) == 4\n\n\n"
        "def test_uses_the_cached_fixture(built):\n    assert built == 7\n\n\n"
        "def test_snapshot():\n    assert (double(3), half(4)) == (6, 2)\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(tmp_path)]))
    covering = line_map(tmp_path, ["m.py"], ignore=("tests/test_m.py::test_snapshot",))
    assert covering.tests_for("m.py", 2, 2) == ["tests/test_m.py::test_behaviour"]
    assert covering.tests_for("m.py", 6, 6) is None
    assert set(covering.tests_for("m.py", 10, 10) or ()) == {
        "tests/test_m.py::test_behaviour",
        "tests/test_m.py::test_uses_the_cached_fixture",
    }


def test_a_changed_module_is_measured_again_only_in_the_test_files_that_ran_it(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Editing one module re-measures the test files that ran its code, not the whole suite; its import lines
    come from those files, never from a file measured against its older text."""
    from mutation.coverage_map import line_map

    (tmp_path / "m.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "n.py").write_text("LIMIT = 3\n\n\ndef under(x):\n    return x < LIMIT\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(
        "import n  # noqa: F401\nfrom m import double\n\n\ndef test_m():\n    assert double(2) == 4\n"
    )
    (tmp_path / "tests" / "test_n.py").write_text(
        "from n import under\n\n\ndef test_n():\n    assert under(2)\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(tmp_path)]))
    line_map(tmp_path, ["m.py", "n.py"])
    assert "2 test file(s)" in capsys.readouterr().out

    (tmp_path / "n.py").write_text(
        '"""Moved down two lines."""\n\nLIMIT = 3\n\n\ndef under(x):\n    return x < LIMIT\n'
    )
    covering = line_map(tmp_path, ["m.py", "n.py"])
    assert "1 test file(s)" in capsys.readouterr().out
    assert covering.import_lines["n.py"] == {1, 3, 6}
    assert covering.tests_for("n.py", 7, 7) == ["tests/test_n.py::test_n"]
    assert covering.tests_for("m.py", 2, 2) == ["tests/test_m.py::test_m"]

    line_map(tmp_path, ["m.py", "n.py"])
    assert "test file(s)" not in capsys.readouterr().out


def test_a_test_file_edited_while_it_is_measured_is_measured_again(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from mutation import coverage_map

    (tmp_path / "m.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "tests").mkdir()
    test_file = tmp_path / "tests" / "test_m.py"
    test_file.write_text("from m import double\n\n\ndef test_m():\n    assert double(2) == 4\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(tmp_path)]))
    measure = coverage_map._collect

    def edited_meanwhile(*args, **kwargs):
        found = measure(*args, **kwargs)
        test_file.write_text(test_file.read_text() + "\n\ndef test_m_again():\n    assert double(3) == 6\n")
        return found

    monkeypatch.setattr(coverage_map, "_collect", edited_meanwhile)
    coverage_map.line_map(tmp_path, ["m.py"])
    capsys.readouterr()
    monkeypatch.setattr(coverage_map, "_collect", measure)
    covering = coverage_map.line_map(tmp_path, ["m.py"])
    assert "1 test file(s)" in capsys.readouterr().out
    assert sorted(covering.tests_for("m.py", 2, 2)) == [
        "tests/test_m.py::test_m",
        "tests/test_m.py::test_m_again",
    ]


def test_a_mutants_tests_run_its_remembered_killers_first_then_files_in_doubling_groups() -> None:
    from mutation.stages import stages

    tests = ["a.py::1", "b.py::1", "a.py::2", "c.py::1", "d.py::1", "e.py::1", "b.py::2", "f.py::1"]
    assert stages(tests, ["d.py::1", "gone.py::1"]) == [
        ["d.py::1"],  # a remembered killer that no longer reaches the line is not run
        ["a.py::1", "a.py::2"],
        ["b.py::1", "c.py::1", "b.py::2"],
        ["e.py::1", "f.py::1"],
    ]
    assert stages(tests, []) == [
        ["a.py::1", "a.py::2"],
        ["b.py::1", "c.py::1", "b.py::2"],
        ["d.py::1", "e.py::1", "f.py::1"],
    ]
    every_stage = [test for stage in stages(tests, ["c.py::1"]) for test in stage]
    assert sorted(every_stage) == sorted(tests)  # each test runs once


def test_killers_are_remembered_per_mutant_function_and_module_across_runs(tmp_path: Path) -> None:
    """Written as they are found: a run stopped part-way keeps what it learnt."""
    from mutation.stages import Killers

    path = tmp_path / "killers.json"
    first = ("m.py", "f", "x < 1", "x <= 1")
    neighbour = ("m.py", "f", "y + 1", "y - 1")
    elsewhere = ("m.py", "g", "z", "not z")
    other_module = ("n.py", "f", "x < 1", "x <= 1")
    killers = Killers(path)
    killers.record(first, "t.py::boundary")
    killers.record(neighbour, "t.py::sum")
    again = Killers(path)
    assert again.suspects(first) == ["t.py::boundary", "t.py::sum"]
    assert again.suspects(neighbour) == ["t.py::sum", "t.py::boundary"]
    assert again.suspects(elsewhere) == ["t.py::sum", "t.py::boundary"]  # the module's latest killers
    assert again.suspects(other_module) == []
    again.record(elsewhere, "t.py::negation")
    assert again.suspects(elsewhere) == ["t.py::negation", "t.py::sum", "t.py::boundary"]
    assert again.suspects(first) == ["t.py::boundary", "t.py::sum", "t.py::negation"]


def test_the_zygote_names_the_test_that_killed_a_mutant(tmp_path: Path) -> None:
    spec = _gate_mutant(tmp_path)
    tests = ["tests/workflows/test_gate.py::test_the_table_covers_every_operator_the_config_accepts"]
    tests += [
        f"tests/workflows/test_gate.py::test_local_run_gate[NumericEquals-{case}]" for case in ("at", "above")
    ]
    zygote = subprocess.run(
        [sys.executable, "-m", "mutation.zygote"],
        cwd=ROOT,
        input="\n".join(
            json.dumps({"mutant": str(spec), "tests": run, "budget": 120}) for run in (tests[:1], tests)
        )
        + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    ready, unaffected, killed = map(json.loads, zygote.stdout.splitlines())
    assert ready == {"ready": True}
    assert (unaffected["status"], unaffected["killer"]) == ("survived", None)
    assert (killed["status"], killed["killer"]) == ("killed", tests[1])
