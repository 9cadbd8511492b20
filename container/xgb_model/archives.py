"""Unpacking a `model.tar.gz` safely, on every Python the project supports.

`TarFile.extractall(filter="data")` would do this, but the `filter` argument exists only from Python 3.11.4
(Debian 12's own Python is 3.11.2). This module checks every member itself before anything is written: a
member whose name is absolute or climbs out with `..`, a link whose target leaves the folder, a device, FIFO or
other special file, is refused with the archive's name and the member's, and then nothing is extracted.

`mlops local-run` loads this same file (it cannot import the container's package), so the container and the
local run unpack models the same way.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
from pathlib import Path


class UnsafeArchiveError(ValueError):
    """A member of the archive would write outside the folder, or is not a plain file, folder or safe link."""


def _inside(name: str) -> bool:
    """True when the archive-relative `name` stays inside the folder it is extracted into."""
    if not name or name.startswith("/") or posixpath.isabs(name) or "\\" in name:
        return False
    normal = posixpath.normpath(name)
    return normal != ".." and not normal.startswith("../")


def check_member(member: tarfile.TarInfo) -> None:
    """Raise UnsafeArchiveError unless `member` is a plain file, a folder or a link that stays inside."""
    name = member.name
    if not _inside(name):
        raise UnsafeArchiveError(f"member {name!r} would be written outside the folder")
    if member.isdir() or member.isreg():
        return
    if member.issym():
        # A symbolic link's target is relative to the folder holding the link.
        target = posixpath.join(posixpath.dirname(name), member.linkname)
        if member.linkname.startswith("/") or not _inside(target):
            raise UnsafeArchiveError(f"link {name!r} points outside the folder ({member.linkname})")
        return
    if member.islnk():
        # A hard link's target is a member name, relative to the folder itself.
        if not _inside(member.linkname):
            raise UnsafeArchiveError(f"link {name!r} points outside the folder ({member.linkname})")
        return
    raise UnsafeArchiveError(f"member {name!r} is a device, FIFO or other special file")


def extract_archive(archive: Path, folder: Path) -> list[str]:
    """Extract the tar file `archive` into `folder`; return the member names.

    Every member is checked before the first is written, so a hostile archive leaves the folder as it was.
    Files get the archive's permission bits without set-user/group-id bits, as the "data" filter does.
    Raises UnsafeArchiveError, tarfile.TarError or OSError.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        links: set[str] = set()
        for member in members:
            check_member(member)
            _check_not_through_link(member, links)
            if member.issym():
                links.add(posixpath.normpath(member.name))
        for member in members:
            _extract(tar, member, folder)
    return [member.name for member in members]


def _check_not_through_link(member: tarfile.TarInfo, links: set[str]) -> None:
    """Refuse a member written through a symbolic link an earlier member made (it could point anywhere later)."""
    parts = posixpath.normpath(member.name).split("/")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if parent in links:
            raise UnsafeArchiveError(f"member {member.name!r} is written through the link {parent}")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, folder: Path) -> None:
    target = folder / posixpath.normpath(member.name)
    # A symbolic link written by an earlier member could redirect this one outside: refuse to follow any.
    for parent in reversed(target.relative_to(folder).parents):
        if (folder / parent).is_symlink():
            raise UnsafeArchiveError(f"member {member.name!r} is written through the link {parent}")
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        if target.is_dir() and not target.is_symlink():
            raise UnsafeArchiveError(f"member {member.name!r} would replace a folder")
        target.unlink()
    if member.issym():
        os.symlink(member.linkname, target)
        return
    if member.islnk():
        source = folder / posixpath.normpath(member.linkname)
        if source.is_symlink() or not source.is_file():
            raise UnsafeArchiveError(f"link {member.name!r} names no file extracted before it")
        shutil.copyfile(source, target)
        return
    reader = tar.extractfile(member)
    if reader is None:  # pragma: no cover - check_member admits only regular files here
        raise UnsafeArchiveError(f"member {member.name!r} has no content")
    with reader, target.open("wb") as writer:
        shutil.copyfileobj(reader, writer)
    target.chmod((member.mode & 0o755) | 0o600)
