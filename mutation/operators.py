"""Which mutations `make mutation` makes: a chosen set of cosmic-ray's operators plus four of ours.

cosmic-ray mutates the whole module, module-level constants included (mutmut 3 only mutates inside functions,
so a list of retried errors or of IAM actions defined at module level would never be mutated). Its core
operators change operators, keywords and numbers; the mistakes that cost most in this library are in data: a
misspelt request key or IAM action, a missing list element or dict entry, a keyword argument left out. Ours:

- GarbleString: "Enabled" -> "XXEnabledXX" (every string that is not a docstring or an error message, an
  assert's included).
- RemoveElement: drops one element of a list, tuple or set display, or one entry of a dict display.
- RemoveKeywordArgument: drops one `name=value` argument of a call.
- SwapIn: `in` <-> `not in`.

Of cosmic-ray's operator replacements only the boundary and inverse swaps are used (`<` -> `<=`, `==` -> `!=`,
`+` -> `-`, `and` -> `or`, ...), not every permutation: the others rarely tell more and multiply the run time.
Nothing inside a type annotation is mutated (with `from __future__ import annotations` they are not evaluated),
nor inside a `Literal[...]` type alias (only the type checker reads its values).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cosmic_ray.plugins
import parso.python.tree
from cosmic_ray.operators.operator import Example, Operator

Position = tuple[tuple[int, int], tuple[int, int]]

_CORE = [
    *(
        f"ReplaceBinaryOperator_{pair}"
        for pair in (
            "Add_Sub",
            "Sub_Add",
            "Mul_Div",
            "Div_Mul",
            "FloorDiv_Div",
            "Mod_Div",
            "Pow_Mul",
            "BitOr_BitAnd",
            "BitAnd_BitOr",
            "LShift_RShift",
            "RShift_LShift",
        )
    ),
    *(
        f"ReplaceComparisonOperator_{pair}"
        for pair in ("Eq_NotEq", "NotEq_Eq", "Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Is_IsNot", "IsNot_Is")
    ),
    "ReplaceUnaryOperator_Delete_Not",
    "ReplaceUnaryOperator_USub_UAdd",
    "AddNot",
    "ReplaceTrueWithFalse",
    "ReplaceFalseWithTrue",
    "ReplaceAndWithOr",
    "ReplaceOrWithAnd",
    "ReplaceBreakWithContinue",
    "ReplaceContinueWithBreak",
    "NumberReplacer",
    "RemoveDecorator",
    "ZeroIterationForLoop",
    "ExceptionReplacer",
]


def _is_comma(node: Any) -> bool:
    return isinstance(node, parso.python.tree.Operator) and node.value == ","


def _groups(children: list[Any]) -> list[list[Any]]:
    """Children split at top-level commas (the commas are dropped)."""
    groups: list[list[Any]] = [[]]
    for child in children:
        if _is_comma(child):
            groups.append([])
        else:
            groups[-1].append(child)
    return [group for group in groups if group]


def _without(children: list[Any], index: int) -> list[Any]:
    """`children` without its `index`-th comma-separated group and one comma next to it."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for position, child in enumerate([*children, None]):
        if child is None or _is_comma(child):
            if position > start:
                bounds.append((start, position))
            start = position + 1
    first, end = bounds[index]
    if end < len(children):  # the comma after it
        return children[:first] + children[end + 1 :]
    if first > 0:  # the last one: the comma before it
        return children[: first - 1]
    return []


def _is_comprehension(node: Any) -> bool:
    return any(child.type in ("comp_for", "sync_comp_for") for child in getattr(node, "children", []))


class RemoveElement(Operator):
    """Drops one element of a list, tuple or set display, or one entry of a dict display."""

    def _inner(self, node: Any) -> Any:
        if node.type != "atom" or len(node.children) != 3:
            return None
        opening, inner, _closing = node.children
        if opening.value not in "([{" or _is_comprehension(inner):
            return None
        if opening.value == "(" and not (
            inner.type == "testlist_comp" and any(map(_is_comma, inner.children))
        ):
            return None  # a parenthesized expression, not a tuple
        return inner

    def _elements(self, inner: Any) -> list[list[Any]]:
        if inner.type in ("testlist_comp", "dictorsetmaker"):
            return _groups(inner.children)
        return [[inner]]

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        inner = self._inner(node)
        if inner is not None:
            for group in self._elements(inner):
                yield (group[0].start_pos, group[-1].end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        inner = self._inner(node)
        if inner.type in ("testlist_comp", "dictorsetmaker"):
            inner.children = _without(inner.children, index)
            if inner.children:
                if node.children[0].value == "(" and not any(map(_is_comma, inner.children)):
                    inner.children.append(parso.python.tree.Operator(",", inner.children[-1].end_pos))
                return node
        node.children = [node.children[0], node.children[2]]
        return node

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example("x = [a, b]", "x = [ b]"),
            Example("x = {'k': 1, 'j': 2}", "x = {'k': 1}", occurrence=1),
            Example("x = (a, b)", "x = ( b,)"),
        ]


class RemoveKeywordArgument(Operator):
    """Drops one `name=value` argument of a call."""

    def _arguments(self, node: Any) -> list[list[Any]]:
        if node.type != "trailer" or node.children[0].value != "(" or len(node.children) != 3:
            return []
        inner = node.children[1]
        groups = _groups(inner.children) if inner.type == "arglist" else [[inner]]
        return groups

    @staticmethod
    def _is_keyword(group: list[Any]) -> bool:
        argument = group[0]
        return (
            len(group) == 1
            and argument.type == "argument"
            and len(argument.children) == 3
            and getattr(argument.children[1], "value", None) == "="
            and not _is_prose_argument(argument)
        )

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        for group in self._arguments(node):
            if self._is_keyword(group):
                yield (group[0].start_pos, group[-1].end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        groups = self._arguments(node)
        position = [i for i, group in enumerate(groups) if self._is_keyword(group)][index]
        inner = node.children[1]
        if inner.type == "arglist":
            inner.children = _without(inner.children, position)
            if inner.children:
                return node
        node.children = [node.children[0], node.children[2]]
        return node

    @classmethod
    def examples(cls) -> list[Example]:
        return [Example("f(a, b=1, c=2)", "f(a, c=2)"), Example("f(b=1)", "f()")]


# Documentation text (the docs' drift test guards it) and IAM statement ids (labels: AWS only requires them to be
# unique, and evaluates a policy the same without them): mutating them would lengthen the run for no behaviour.
_PROSE_ARGUMENTS = {"description", "help", "sid"}


def _is_prose_argument(node: Any) -> bool:
    return (
        node.type == "argument"
        and len(node.children) == 3
        and getattr(node.children[0], "value", None) in _PROSE_ARGUMENTS
    )


def _is_sid_value(node: Any) -> bool:
    siblings = node.parent.children
    index = siblings.index(node)
    return index >= 2 and getattr(siblings[index - 2], "value", None) in ('"Sid"', "'Sid'")


def _is_skipped_string(leaf: Any) -> bool:
    """Docstrings, error messages and documentation text; and whole elements of a list, tuple or set, whose
    absence RemoveElement already tests."""
    node = leaf.parent if leaf.parent.type == "strings" else leaf
    parent = node.parent
    if parent.type == "simple_stmt" or (parent.type == "testlist_comp" and parent.parent.type == "atom"):
        return True
    if parent.type == "dictorsetmaker" and _is_sid_value(node):
        return True
    if parent.type == "atom" and parent.children[0].value == "[":
        return True
    child = node
    while parent is not None:
        if parent.type == "raise_stmt" or _is_prose_argument(parent):
            return True
        if parent.type == "assert_stmt" and len(parent.children) == 4 and child is parent.children[3]:
            return True  # an assert's message
        child, parent = parent, parent.parent
    return False


class GarbleString(Operator):
    """ "Enabled" -> "XXEnabledXX": a misspelt key, action, mode or name."""

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        if node.type == "string" and not _is_skipped_string(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        value: str = node.value
        body = value.lstrip("rRbBuU")
        quote = body[:3] if body[:3] in ('"""', "'''") else body[0]
        opening = len(value) - len(body) + len(quote)
        node.value = value[:opening] + "XX" + value[opening : -len(quote)] + "XX" + quote
        return node

    @classmethod
    def examples(cls) -> list[Example]:
        return [Example("x = 'Enabled'", "x = 'XXEnabledXX'")]


class SwapIn(Operator):
    """`in` <-> `not in`."""

    def mutation_positions(self, node: Any) -> Iterator[Position]:
        if node.type == "comparison":
            for operator in node.children[1::2]:
                if operator.get_code().strip() in ("in", "not in"):
                    yield (operator.start_pos, operator.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        operators = [
            i
            for i, operator in enumerate(node.children)
            if i % 2 and operator.get_code().strip() in ("in", "not in")
        ]
        position = operators[index]
        replacement = "in" if node.children[position].get_code().strip() == "not in" else "not in"
        node.children[position] = parso.parse(" " + replacement)
        return node

    @classmethod
    def examples(cls) -> list[Example]:
        return [Example("a in b", "a not in b"), Example("a not in b", "a in b")]


_OURS: dict[str, type[Operator]] = {
    op.__name__: op for op in (GarbleString, RemoveElement, RemoveKeywordArgument, SwapIn)
}


def register() -> list[str]:
    """Makes our operators known to cosmic-ray (as provider `mlops`); returns every operator name we use."""
    cosmic_ray.plugins.OPERATOR_PROVIDERS["mlops"] = _OURS
    core = set(cosmic_ray.plugins.OPERATOR_PROVIDERS["core"])
    missing = [name for name in _CORE if name not in core]
    if missing:
        raise SystemExit(f"cosmic-ray no longer has the operators {missing}: update mutation/operators.py")
    return [f"core/{name}" for name in _CORE] + [f"mlops/{name}" for name in _OURS]


def not_an_expression(node: Any) -> bool:
    """A `*` or `/` that marks keyword-only or positional-only parameters, not an operator."""
    return node.type == "operator" and node.parent.type in ("parameters", "lambdef", "typedargslist")


def in_annotation(node: Any) -> bool:
    """Whether `node` is part of a type annotation (never evaluated here: postponed annotations) or of a
    `Literal[...]` type (its values are read by the type checker, never at run time)."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type in ("atom_expr", "power") and getattr(parent.children[0], "value", None) == "Literal":
            return True
        if parent.type == "annassign" and parent.children[1] is child:
            return True
        if parent.type == "param" and getattr(parent, "annotation", None) is child:
            return True
        if parent.type == "tfpdef" and len(parent.children) == 3 and parent.children[2] is child:
            return True
        if parent.type == "funcdef":
            kids = parent.children
            return any(getattr(k, "value", None) == "->" and kids[i + 1] is child for i, k in enumerate(kids))
        child, parent = parent, parent.parent
    return False
