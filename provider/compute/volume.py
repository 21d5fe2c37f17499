"""A filesystem of its own for what an algorithm writes: outputs and logs count against the
environment's disk, enforced by the kernel.

A sparse ext4 image of the environment's disk size, with a cap on its inodes, is mounted on a
loop device for the run; the sandbox's writable folders are bound from it. A write past it
fails (ENOSPC) however it is made: there is no size check for `fallocate` to outrun, and no
file count to exceed with empty files. After the run the regular files are copied out (no
link is followed) and the image is unmounted and deleted.

Needs root, `mkfs.ext4` (e2fsprogs) and loop devices. Where they are missing `QuotaVolume.create`
returns None, and the engine falls back to watching the outputs' size (and says so).
"""
from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

from provider.compute import contract

log = logging.getLogger(__name__)
MIN_BYTES = 4 * 1024 * 1024  # ext4's own metadata needs some room


class QuotaVolume:
    def __init__(self, image: Path, mountpoint: Path):
        self.image = image
        self.mountpoint = mountpoint

    @classmethod
    def create(cls, folder: Path, size_bytes: int, max_files: int, uid: int | None, gid: int | None) -> "QuotaVolume | None":
        mkfs = shutil.which("mkfs.ext4") or ("/usr/sbin/mkfs.ext4" if os.path.exists("/usr/sbin/mkfs.ext4") else None)
        if os.geteuid() != 0 or mkfs is None or not os.path.exists("/dev/loop-control"):
            return None
        image, mountpoint = folder / "volume.img", folder / "volume"
        try:
            mountpoint.mkdir(exist_ok=True)
            with open(image, "wb") as handle:
                handle.truncate(max(size_bytes, MIN_BYTES))
            owner = [] if uid is None else ["-E", f"root_owner={uid}:{gid}"]
            subprocess.run([mkfs, "-q", "-F", "-m", "0", "-N", str(max(max_files, 16)), "-O", "^has_journal",
                            *owner, str(image)], check=True, capture_output=True, timeout=60)
            subprocess.run(["mount", "-o", "loop,nodev,nosuid", str(image), str(mountpoint)], check=True,
                           capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("no quota volume for %s (%s); falling back to size checks", folder, type(exc).__name__)
            _unmount(mountpoint)
            image.unlink(missing_ok=True)
            return None
        volume = cls(image, mountpoint)
        for name in contract.WRITABLE:
            path = mountpoint / name
            path.mkdir(exist_ok=True)
            if uid is not None:
                os.chown(path, uid, gid)
            os.chmod(path, 0o700)
        shutil.rmtree(mountpoint / "lost+found", ignore_errors=True)
        return volume

    @classmethod
    def left_in(cls, folder: Path) -> "QuotaVolume | None":
        """The volume a job's supervisor left mounted when it died (found, never created)."""
        mountpoint = folder / "volume"
        return cls(folder / "volume.img", mountpoint) if os.path.ismount(mountpoint) else None

    def full(self) -> bool:
        """Did the algorithm reach the volume's size or its file cap? (A write that did not fit
        leaves less than its own size free, so "nearly no room left" counts as reached.)"""
        info = os.statvfs(self.mountpoint)
        size = info.f_blocks * info.f_frsize
        return info.f_bavail * info.f_frsize < max(1024 * 1024, size // 50) or info.f_favail == 0

    def copy_out(self, data_dir: Path) -> None:
        """Regular files and folders of the writable folders into `data_dir`; nothing else."""
        for name in contract.WRITABLE:
            _copy_tree(self.mountpoint / name, data_dir / name)

    def remove(self) -> None:
        _unmount(self.mountpoint)
        self.image.unlink(missing_ok=True)
        try:
            self.mountpoint.rmdir()
        except OSError:
            pass


def _unmount(mountpoint: Path) -> None:
    if os.path.ismount(mountpoint):
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=60)


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        entries = list(os.scandir(source))
    except OSError:
        return
    for entry in entries:
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            _copy_tree(Path(entry.path), target / entry.name)
        elif stat.S_ISREG(info.st_mode):
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as src, open(target / entry.name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
