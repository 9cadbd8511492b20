"""Deterministic Lambda deployment packages built from the `functions/` package.

Each function's zip holds `functions/__init__.py`, its handler module and the `functions.*` modules that module
imports (found by reading its imports), with fixed timestamps and permissions. The same code always gives the
same bytes, so the content hash decides whether Lambda code is updated.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mlops_component.assets import asset_path

PACKAGE = "functions"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


@dataclass(frozen=True)
class Package:
    """A built deployment package."""

    path: Path
    sha256_base64: str  # the form Lambda's `source_code_hash` and CodeSha256 use
    modules: tuple[str, ...]


def module_closure(module: str, package_dir: Path) -> list[str]:
    """`module` and every `functions.*` module it imports, directly or not, sorted."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        source = package_dir / f"{name}.py"
        if not source.is_file():
            raise FileNotFoundError(f"{PACKAGE}/{name}.py does not exist")
        seen.add(name)
        pending += _local_imports(ast.parse(source.read_text(), str(source)))
    return sorted(seen)


def _local_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                found += [node.module] if node.module else [a.name for a in node.names]
            elif node.module == PACKAGE:  # from functions import x
                found += [a.name for a in node.names]
            elif node.module and node.module.startswith(f"{PACKAGE}."):  # from functions.x import y
                found.append(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found += [a.name.split(".")[1] for a in node.names if a.name.startswith(f"{PACKAGE}.")]
    return [name for name in found if name != "__init__"]


def zip_bytes(module: str, package_dir: Path | None = None) -> tuple[bytes, tuple[str, ...]]:
    """The deployment package for handler module `module`, as bytes, and the modules it holds."""
    package_dir = package_dir or asset_path(PACKAGE)
    modules = ("__init__", *module_closure(module, package_dir))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(set(modules)):
            info = zipfile.ZipInfo(f"{PACKAGE}/{name}.py", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (package_dir / f"{name}.py").read_bytes(), compresslevel=9)
    return buffer.getvalue(), tuple(m for m in modules if m != "__init__")


def build(module: str, package_dir: Path | None = None, out_dir: Path | None = None) -> Package:
    """Write the package for `module` to a file named by its content hash (reused when it already exists)."""
    data, modules = zip_bytes(module, package_dir)
    digest = hashlib.sha256(data).digest()
    out_dir = out_dir or Path(tempfile.gettempdir()) / "mlops-component" / "lambda"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{module}-{digest.hex()[:16]}.zip"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)  # atomic: a concurrent or interrupted build never leaves a torn zip behind
    return Package(path=path, sha256_base64=base64.b64encode(digest).decode(), modules=modules)
