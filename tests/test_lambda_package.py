"""Lambda deployment packages: deterministic, content-keyed, holding only what a handler imports."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mlops_component.builders import lambda_package
from mlops_component.components.training_workflow import ENDPOINT, RENAME_OUTPUT, RUN_METADATA

REPO_FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"


# What each handler imports besides `common`.
IMPORTS = {"trigger": ("model_packages",)}


def test_each_package_holds_its_handler_and_the_modules_it_imports() -> None:
    for module in ("trigger", RUN_METADATA.module, ENDPOINT.module, RENAME_OUTPUT.module):
        data, modules = lambda_package.zip_bytes(module)
        expected = {module, "common", *IMPORTS.get(module, ())}
        assert modules == tuple(sorted(expected))
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert sorted(archive.namelist()) == sorted(f"functions/{m}.py" for m in ("__init__", *expected))


def test_the_same_code_gives_the_same_bytes_and_file(tmp_path: Path) -> None:
    first = lambda_package.build("trigger", out_dir=tmp_path)
    second = lambda_package.build("trigger", out_dir=tmp_path)
    assert first == second
    assert first.path.read_bytes() == lambda_package.zip_bytes("trigger")[0]
    with zipfile.ZipFile(first.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_changed_code_changes_the_hash_and_imports_are_followed(tmp_path: Path) -> None:
    package = tmp_path / "functions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("VALUE = 1\n")
    (package / "other.py").write_text("UNUSED = 1\n")
    (package / "handler_module.py").write_text(
        "from functions.helpers import VALUE\n\ndef handler(e, c):\n    return VALUE\n"
    )
    before = lambda_package.build("handler_module", package, tmp_path / "out")
    assert before.modules == ("handler_module", "helpers")
    (package / "helpers.py").write_text("VALUE = 2\n")
    after = lambda_package.build("handler_module", package, tmp_path / "out")
    assert after.sha256_base64 != before.sha256_base64
    (package / "other.py").write_text("UNUSED = 2\n")  # not imported: not packaged, hash unchanged
    assert lambda_package.build("handler_module", package, tmp_path / "out") == after


def test_a_missing_module_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"functions/nope\.py does not exist"):
        lambda_package.zip_bytes("nope")
