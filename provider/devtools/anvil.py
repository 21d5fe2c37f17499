"""Start and stop a local anvil node (the npm package @foundry-rs/anvil-linux-amd64)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from provider.config import PROJECT_ROOT

ANVIL_NPM_PACKAGE = "@foundry-rs/anvil-linux-amd64@1.7.1"
_LOCAL_ANVIL = PROJECT_ROOT / ".tools" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def anvil_binary() -> str:
    """The anvil executable: ANVIL_BIN, the project's npm install, or PATH."""
    candidates = [os.environ.get("ANVIL_BIN"), str(_LOCAL_ANVIL), shutil.which("anvil")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(
        f"anvil not found: run `make tools` (npm install {ANVIL_NPM_PACKAGE}) or set ANVIL_BIN"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Anvil:
    """A running anvil process; use as a context manager or call stop()."""

    def __init__(self, port: int, chain_id: int, mnemonic: str, log_path: Path | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        args = [
            anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
            "--mnemonic", mnemonic, "--accounts", "10", "--balance", "10000",
            "--gas-limit", "30000000",
        ]
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port):
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("anvil did not open its port within 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Anvil":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
