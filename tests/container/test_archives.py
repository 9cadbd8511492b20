"""Model archives are unpacked safely without `extractall(filter=...)`, which Python 3.11.2 does not have."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from xgb_model.archives import UnsafeArchiveError, extract_archive

from mlops_component.tools.local_run.errors import LocalRunError
from mlops_component.tools.local_run.scoring import unpack_model
from mlops_component.tools.local_run.shipped import load_archives


def _archive(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"{}") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = 0o6755  # set-user-id and set-group-id must not survive
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def test_a_model_archive_is_unpacked_with_plain_modes(tmp_path: Path) -> None:
    archive = _archive(
        tmp_path / "model.tar.gz",
        _special("sub", tarfile.DIRTYPE),
        _file("model.json", b'{"m": 1}'),
        _file("sub/schema.json", b"[]"),
        _special("alias.json", tarfile.SYMTYPE, "model.json"),
        _special("copy.json", tarfile.LNKTYPE, "model.json"),
    )
    names = extract_archive(archive, tmp_path / "out")
    assert names == ["sub", "model.json", "sub/schema.json", "alias.json", "copy.json"]
    assert (tmp_path / "out" / "model.json").read_bytes() == b'{"m": 1}'
    assert (tmp_path / "out" / "sub" / "schema.json").read_bytes() == b"[]"
    assert (tmp_path / "out" / "alias.json").read_bytes() == b'{"m": 1}'
    assert (tmp_path / "out" / "copy.json").read_bytes() == b'{"m": 1}'
    assert (tmp_path / "out" / "model.json").stat().st_mode & 0o7777 == 0o755


HOSTILE: dict[str, Callable[[], tuple[tarfile.TarInfo, bytes | None]]] = {
    "absolute path": lambda: _file("/tmp/owned.json"),
    "parent folder": lambda: _file("../owned.json"),
    "parent inside the name": lambda: _file("sub/../../owned.json"),
    "backslash name": lambda: _file("..\\owned.json"),
    "absolute symlink": lambda: _special("link", tarfile.SYMTYPE, "/etc/passwd"),
    "symlink climbing out": lambda: _special("sub/link", tarfile.SYMTYPE, "../../outside"),
    "hard link out": lambda: _special("link", tarfile.LNKTYPE, "../outside"),
    "character device": lambda: _special("dev", tarfile.CHRTYPE),
    "block device": lambda: _special("dev", tarfile.BLKTYPE),
    "fifo": lambda: _special("fifo", tarfile.FIFOTYPE),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_before_anything_is_written(tmp_path: Path, case: str) -> None:
    archive = _archive(tmp_path / "model.tar.gz", _file("model.json"), HOSTILE[case]())
    target = tmp_path / "jail" / "out"
    with pytest.raises(UnsafeArchiveError):
        extract_archive(archive, target)
    assert list(target.iterdir()) == []  # not even the harmless member before it
    assert not (tmp_path / "jail" / "owned.json").exists()
    assert not (tmp_path / "owned.json").exists()


def test_a_file_written_through_an_earlier_link_is_refused(tmp_path: Path) -> None:
    # The link stays inside, so it passes the check; writing through it must still not follow it anywhere.
    (tmp_path / "out").mkdir()
    archive = _archive(
        tmp_path / "model.tar.gz",
        _special("dir", tarfile.SYMTYPE, "."),
        _file("dir/model.json"),
    )
    with pytest.raises(UnsafeArchiveError, match="through the link"):
        extract_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_the_local_run_unpacks_with_the_containers_code(tmp_path: Path) -> None:
    assert load_archives().extract_archive.__code__.co_code == extract_archive.__code__.co_code
    archive = _archive(tmp_path / "model.tar.gz", _file("../model.json"))
    with pytest.raises(LocalRunError, match=re.escape("unsafe: member '../model.json'")):
        unpack_model(archive, tmp_path / "model")
    assert not (tmp_path / "model.json").exists()
