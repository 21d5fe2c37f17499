"""The phases every engine shares: provision the job folder, and publish its results.

Provisioning fetches each dataset file and the algorithm with the same safe fetching as
downloads (URLs and publisher headers are decrypted here and never written anywhere the
algorithm or the consumer can read), and lays out the container contract
(`provider.compute.contract`) in the job's `data` folder.

Publishing lists what the algorithm wrote (regular files only; a symlink it planted is never
followed) and the logs, as `results` entries with their types.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from provider.access.files import parse_userdata, validate_file_object
from provider.access.assets import AssetCatalog
from provider.access.sources import FileSources
from provider.compute import contract
from provider.compute.scheduling import Cancelled, FailedPhase, PhaseFailed
from provider.errors import FileUnavailable, ProviderError


PROVISIONED = "provisioned.json"  # what the job was given, hashed (for its receipt); not a result


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def provider_logs(self) -> Path:
        """Logs written by the provider, outside anything the algorithm can reach."""
        return self.root / "provider"

    def create(self, sandbox_uid: int | None, sandbox_gid: int | None) -> None:
        """The job's folders, open to the provider and (for reading) to the sandbox's group only:
        a publisher's data is no other host user's to read."""
        for sub in contract.FOLDERS:
            (self.data / sub).mkdir(parents=True, exist_ok=True)
        self.provider_logs.mkdir(parents=True, exist_ok=True)
        os.chmod(self.provider_logs, 0o700)
        for folder, mode in ((self.root, 0o710), (self.data, 0o750)):
            _restrict(folder, sandbox_gid, mode)
        for writable in contract.WRITABLE:
            if sandbox_uid is not None:
                os.chown(self.data / writable, sandbox_uid, sandbox_gid)
            os.chmod(self.data / writable, 0o700)

    def seal_inputs(self, sandbox_gid: int | None) -> None:
        """Provisioned inputs, algorithm and DDOs: readable by the sandbox's group, nobody else
        (files 0640, the algorithm 0750, folders 0750; 0600/0700 without a sandbox user)."""
        algorithm = self.data / contract.ALGORITHM_PATH.removeprefix(contract.VOLUME + "/")
        for top in contract.READ_ONLY:
            for folder, _, files in os.walk(self.data / top):
                _restrict(Path(folder), sandbox_gid, 0o750)
                for name in files:
                    path = Path(folder) / name
                    if not path.is_symlink():
                        _restrict(path, sandbox_gid, 0o750 if path == algorithm else 0o640)

    def log(self, name: str, line: str) -> None:
        with open(self.provider_logs / name, "a") as handle:
            handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def _restrict(path: Path, group: int | None, mode: int) -> None:
    """`mode` for the owner and `group`; without a group, the owner's bits alone."""
    if group is None:
        os.chmod(path, mode & 0o700)
        return
    os.chown(path, -1, group)
    os.chmod(path, mode)


class Provisioner:
    def __init__(self, assets: AssetCatalog, sources: FileSources, chunk: int = 256 * 1024,
                 file_deadline: float = 300.0):
        self.assets = assets
        self.sources = sources
        self.chunk = chunk
        self.file_deadline = file_deadline  # seconds one input may take to fetch, whatever its server does

    def _write_file(self, obj: dict, userdata: dict, target: Path, budget: list[int], check: Callable[[], None]) -> str:
        """Fetch one file into `target`; returns the sha256 of the bytes written."""
        upstream = self.sources.open(obj, userdata, deadline=self.file_deadline)
        digest = hashlib.sha256()
        try:
            if upstream.status != 200:
                raise FileUnavailable(f"file server answered {upstream.status}")
            with open(target, "wb") as out:
                for part in upstream.decoded(self.chunk):
                    budget[0] -= len(part)
                    if budget[0] < 0:
                        raise PhaseFailed("inputs are larger than the environment's disk")
                    out.write(part)
                    digest.update(part)
                    check()
        finally:
            upstream.close()
        return digest.hexdigest()

    def provision(self, spec: dict[str, Any], paths: JobPaths, disk_bytes: int, check: Callable[[], None]) -> None:
        """Write inputs, DDOs, algorithm and custom data; raises PhaseFailed with a code hint."""
        budget = [disk_bytes]
        provisioned: dict[str, Any] = {"inputs": [], "algorithm": []}  # sha256 of every byte given to the job
        for item in spec["inputs"]:
            did = item["documentId"]
            try:
                asset = self.assets.asset(did)
                _, service = self.assets.service(asset, item["serviceId"])
                files = self.assets.service_files(asset, service)
                folder = paths.data / "inputs" / contract.did_folder(did)
                folder.mkdir(exist_ok=True)
                userdata = parse_userdata(item.get("userdata"))
                hashes = []
                for index, obj in enumerate(files):
                    hashes.append(self._write_file(validate_file_object(obj), userdata, folder / str(index), budget,
                                                   check))
                    paths.log("configuration.log", f"dataset {did} file {index}: fetched")
                provisioned["inputs"].append({"did": did, "serviceId": str(item["serviceId"]), "sha256": hashes})
                (paths.data / "ddos" / contract.did_folder(did)).write_text(json.dumps(asset.ddo))
            except Cancelled:
                raise
            except (ProviderError, OSError) as exc:
                paths.log("configuration.log", f"dataset {did}: failed")
                raise PhaseFailed(f"dataset {did}: {_safe(exc)}", FailedPhase.DATA) from exc

        algorithm = spec["algorithm"]
        target = paths.data / contract.ALGORITHM_PATH.removeprefix(contract.VOLUME + "/")
        try:
            if algorithm.get("documentId"):
                # What runs is what was checked at start: the algorithm's document as it was then
                # (a later update changes nothing), and its bytes must hash to what was reviewed.
                pinned = algorithm.get("pinned")
                asset = (self.assets.asset_from_document(pinned["ddo"]) if pinned
                         else self.assets.asset(algorithm["documentId"]))
                _, service = self.assets.service(asset, algorithm["serviceId"])
                files = self.assets.service_files(asset, service)
                if not files:
                    raise PhaseFailed("the algorithm has no file")
                digest = self._write_file(validate_file_object(files[0]), parse_userdata(algorithm.get("userdata")),
                                          target, budget, check)
                if pinned and pinned.get("sha256") and digest != pinned["sha256"][0]:
                    target.unlink(missing_ok=True)
                    raise PhaseFailed("the algorithm's file is not the one checked when the job started; nothing ran")
                provisioned["algorithm"].append(digest)
                (paths.data / "ddos" / contract.did_folder(algorithm["documentId"])).write_text(json.dumps(asset.ddo))
            else:
                meta = algorithm["meta"]
                if meta.get("rawcode"):
                    target.write_text(meta["rawcode"])
                    provisioned["algorithm"].append(hashlib.sha256(meta["rawcode"].encode()).hexdigest())
                else:
                    provisioned["algorithm"].append(self._write_file(
                        validate_file_object({"type": "url", "url": meta["url"], "method": "GET"}), {}, target,
                        budget, check))
            os.chmod(target, 0o755)
            paths.log("configuration.log", "algorithm: fetched")
        except Cancelled:
            raise
        except (ProviderError, OSError, KeyError) as exc:
            paths.log("configuration.log", "algorithm: failed")
            raise PhaseFailed(f"algorithm: {_safe(exc)}", FailedPhase.ALGORITHM) from exc
        custom = algorithm.get("algocustomdata")
        (paths.data / "inputs" / contract.CUSTOM_DATA).write_text(json.dumps(custom if custom is not None else {}))
        (paths.provider_logs / PROVISIONED).write_text(json.dumps(provisioned))


def _safe(exc: Exception) -> str:
    if isinstance(exc, ProviderError) and isinstance(exc.user_message, str):
        return exc.user_message
    if isinstance(exc, PhaseFailed):
        return str(exc)
    return "could not be fetched"


def _regular_files(root: Path, limit: int = 256) -> list[tuple[str, Path, int]]:
    """(relative name, path, size) of regular files under root; symlinks and devices skipped."""
    found = []
    stack = [root]
    while stack and len(found) < limit:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))
            elif stat.S_ISREG(info.st_mode):
                found.append((str(Path(entry.path).relative_to(root)), Path(entry.path), info.st_size))
    return found[:limit]


def publish(paths: JobPaths) -> list[dict[str, Any]]:
    """The results list, in the order clients index it."""
    results: list[dict[str, Any]] = []

    def add(filename: str, path: Path, kind: str, size: int) -> None:
        results.append({"filename": filename, "filesize": size, "type": kind, "index": len(results),
                        "path": str(path.relative_to(paths.root))})

    for name, kind in (("configuration.log", "configurationLog"), ("algorithm.log", "algorithmLog")):
        path = paths.provider_logs / name
        if path.exists():
            add(name, path, kind, path.stat().st_size)
    for name, path, size in _regular_files(paths.data / "outputs"):
        add(name, path, "output", size)
    paths.log("publish.log", f"{sum(1 for r in results if r['type'] == 'output')} output file(s) published")
    publish_log = paths.provider_logs / "publish.log"
    add("publish.log", publish_log, "publishLog", publish_log.stat().st_size)
    return results


def open_result(paths: JobPaths, entry: dict[str, Any]):
    """Open a result file for reading without following a symlink at the last component."""
    full = (paths.root / entry["path"]).resolve(strict=False)
    if not str(full).startswith(str(paths.root.resolve()) + os.sep):
        raise PhaseFailed("result outside the job folder")
    fd = os.open(paths.root / entry["path"], os.O_RDONLY | os.O_NOFOLLOW)
    return os.fdopen(fd, "rb")
