"""Tar bundles between the provider and its fetch/publish pods, packed and unpacked safely.

Unpacking accepts regular files and directories only (no links, devices or FIFOs), refuses
absolute paths and `..`, stays under the target folder, and stops past a size budget: an
upload from a pod that ran next to an untrusted algorithm is treated as untrusted.
"""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from provider.errors import InvalidRequest


class BundleError(InvalidRequest):
    """A bundle from a compute pod that is not a safe tar of the folders expected."""


def pack(root: Path, members: list[str], out: BinaryIO) -> None:
    """Write a gzip tar of `root/<member>` folders (regular files only, no symlinks)."""
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member in members:
            base = root / member
            if not base.is_dir():
                continue
            for folder, dirs, files in os.walk(base, followlinks=False):
                for name in sorted(files):
                    path = Path(folder) / name
                    if path.is_symlink() or not path.is_file():
                        continue
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)


def pack_bytes(root: Path, members: list[str]) -> bytes:
    buffer = io.BytesIO()
    pack(root, members, buffer)
    return buffer.getvalue()


def unpack(source: BinaryIO, target: Path, allowed_tops: set[str], max_bytes: int, max_files: int = 10000) -> int:
    """Extract into `target`; returns the bytes written. Raises BundleError on anything unsafe."""
    target = target.resolve()
    written = files = 0
    try:
        with tarfile.open(fileobj=source, mode="r|gz") as tar:
            for member in tar:
                path = PurePosixPath(member.name)
                if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] not in allowed_tops:
                    raise BundleError(f"refused path {member.name!r}")
                destination = (target / Path(*path.parts)).resolve()
                if not str(destination).startswith(str(target) + os.sep):
                    raise BundleError(f"refused path {member.name!r}")
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise BundleError(f"refused non-regular member {member.name!r}")
                files += 1
                written += member.size
                if files > max_files or written > max_bytes:
                    raise BundleError("bundle larger than allowed")
                destination.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member)
                with open(destination, "wb") as out:
                    while chunk := data.read(1024 * 1024):
                        out.write(chunk)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError("not a valid bundle") from exc
    return written
