"""Reading Python source for what it imports, to check scripts that run where only some libraries exist."""

from __future__ import annotations

import ast


def top_level_imports(tree: ast.AST) -> set[str]:
    """The top-level package of every module a parsed file imports (relative imports excluded)."""
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    return imported
