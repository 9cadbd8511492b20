"""Every mutant of a module: what changed, where, under which stable key, and the lines of its statement."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cosmic_ray.plugins
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.ast.ast_query import ASTQuery
from cosmic_ray.mutating import mutate_code

from mutation import operators
from mutation.operators import in_annotation, not_an_expression, register

# A mutated node's statement ends where one of these begins: the condition of an `if` is its own statement
# for coverage, not the whole `if` block.
_COMPOUND = {
    "if_stmt",
    "while_stmt",
    "for_stmt",
    "try_stmt",
    "with_stmt",
    "funcdef",
    "classdef",
    "decorated",
    "decorators",
    "async_stmt",
    "file_input",
    "suite",
}


@dataclass(frozen=True)
class Mutant:
    module: str  # path relative to the repository root
    operator: str
    occurrence: int
    lines: tuple[int, int]  # the mutated lines
    statement: tuple[int, int]  # the lines of the statement that holds them
    where: str  # the enclosing function or class, or "<module>"
    before: str
    after: str
    source: str  # the whole mutated module

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Stable under edits elsewhere in the module: no line numbers, no occurrence counts."""
        return (self.module, self.where, self.before, self.after)

    @property
    def label(self) -> str:
        return f"{self.module}:{self.lines[0]} [{self.where}] {self.before!r} -> {self.after!r}"


def _statement(node: Any) -> tuple[int, int]:
    while node.parent is not None and node.type != "simple_stmt" and node.parent.type not in _COMPOUND:
        node = node.parent
    return node.start_pos[0], node.get_last_leaf().end_pos[0]


def _change(original: str, mutated: str) -> tuple[str, str]:
    """The changed lines before and after, whitespace-trimmed: what the key and the report show."""
    before: list[str] = []
    after: list[str] = []
    old, new = original.splitlines(), mutated.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            before += [line.strip() for line in old[i1:i2]]
            after += [line.strip() for line in new[j1:j2]]
    return " / ".join(before), " / ".join(after)


def mutants_of(root: Path, module: str) -> list[Mutant]:
    """Every mutant of `module`, cached in .mutation/mutants/ by the module's source and the code that makes
    mutants (parsing the module once per mutant takes minutes for the largest)."""
    source = (root / module).read_text()
    digest = hashlib.sha256(source.encode())
    for code in (Path(__file__), Path(operators.__file__)):
        digest.update(code.read_bytes())
    cache = root / ".mutation" / "mutants" / f"{digest.hexdigest()}.json"
    if cache.exists():
        return [
            Mutant(**{**m, "lines": tuple(m["lines"]), "statement": tuple(m["statement"])})
            for m in json.loads(cache.read_text())
        ]
    found = _generate(module, source)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([dataclasses.asdict(m) for m in found]))
    return found


def _generate(module: str, source: str) -> list[Mutant]:
    found: list[Mutant] = []
    for operator_name in register():
        operator = cosmic_ray.plugins.get_operator(operator_name)()
        occurrence = -1
        for node in ast_nodes(get_ast(source)):
            for start, end in operator.mutation_positions(node):
                occurrence += 1
                if in_annotation(node) or not_an_expression(node):
                    continue
                mutated = mutate_code(source, operator, occurrence)
                if mutated is None or mutated == source:
                    continue
                before, after = _change(source, mutated)
                found.append(
                    Mutant(
                        module=module,
                        operator=operator_name,
                        occurrence=occurrence,
                        lines=(start[0], end[0]),
                        statement=_statement(node),
                        where=ASTQuery(node).get_definition_name() or "<module>",
                        before=before,
                        after=after,
                        source=mutated,
                    )
                )
    return found
