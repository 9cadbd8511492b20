"""Where the code this library deploys lives: `functions/`, `etl/`, `container/` and `processing/`.

In a source checkout they sit next to the `mlops_component` package; an installed wheel carries copies under
`mlops_component/_bundled/` (see `pyproject.toml`). Relative paths in the config resolve against the program's
folder first, so a user's own files always win over the bundled ones.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_bundled"
# The folders the library ships; only paths inside them fall back to the shipped copy.
SHIPPED = ("functions", "etl", "container", "processing")


def asset_root() -> Path:
    """The folder holding `functions/`, `etl/`, `container/` and `processing/`."""
    return _BUNDLED if _BUNDLED.is_dir() else _PACKAGE.parent


def asset_path(*parts: str) -> Path:
    """A path inside the shipped code, e.g. `asset_path("functions")`."""
    return asset_root().joinpath(*parts)


def resolve_local_path(value: str, base_dir: Path) -> Path | None:
    """The existing file or folder that `value` names, or None.

    A value that cannot be a path here at all (too long for the file system, a NUL byte) raises ValueError
    with a one-line reason, so config validation reports it like any other bad value.

    Absolute paths are taken as they are. A relative path is looked up in `base_dir` (the Pulumi program's
    folder), then, for paths inside the shipped folders, in the shipped code, so defaults such as
    `etl/transform.py` work from any program while the user's own data is never looked for elsewhere.
    """
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # "~someone" for a user this machine does not know
        return None
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [base_dir / path]
        if path.parts and path.parts[0] in SHIPPED:
            candidates.append(asset_root() / path)
    return next((p.resolve() for p in candidates if _exists(p, value)), None)


def _exists(path: Path, value: str) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError) as error:  # ENAMETOOLONG, "embedded null byte", ...
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        shown = value if len(value) <= 60 else f"{value[:40]}...({len(value)} characters)"
        raise ValueError(f"{shown!r} cannot be a path on this file system: {reason}") from None
