"""The first run, as a newcomer has it: `make run` (provider.devtools.run) in one process, then
`make demo` (ocean-provider demo) against it, then the operator console in headless Chromium.

Everything is real: the stack starts its own anvil, file server, gunicorn and compute engine on
free ports and in its own folder, and the demo orders, downloads and computes with real
transactions and a real sandbox.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest
import requests

from provider.config import PROJECT_ROOT
from provider.devtools.anvil import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def stack():
    # not pytest's tmp_path (0700): the sandbox user traverses the job folders beneath
    folder = Path(tempfile.mkdtemp(prefix="first-run-", dir="/tmp"))
    os.chmod(folder, 0o711)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PROVIDER_MODE="development", PROVIDER_RUN_DIR=str(folder),
               DEMO_FILE_SERVER_PORT=str(free_port()), PROVIDER_BIND=f"127.0.0.1:{port}", PROVIDER_URL=url,
               NETWORK_URL=f"http://127.0.0.1:{free_port()}", ADDRESS_FILE=str(folder / "address.json"),
               STORAGE_PATH=str(folder / "provider.db"), COMPUTE_JOBS_PATH=str(folder / "jobs"),
               LOG_FORMAT="json", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.pop("CONSOLE_TOKEN", None)
    log = open(folder / "run.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "provider.devtools.run"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    printed = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line)
        if "stop:" in line:
            break
    try:
        if not any("stop:" in line for line in printed):
            log.flush()
            pytest.fail("make run did not come up:\n" + "".join(printed) + (folder / "run.log").read_text()[-3000:])
        yield {"url": url, "env": env, "folder": folder, "printed": "".join(printed)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        for line in Path("/proc/mounts").read_text().splitlines():  # a job's quota volume, if left
            if line.split()[1].startswith(str(folder) + "/"):
                subprocess.run(["umount", "-l", line.split()[1]], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def demo(stack):
    result = subprocess.run([sys.executable, "-m", "provider.cli", "demo"], cwd=PROJECT_ROOT, env=stack["env"],
                            capture_output=True, text=True, timeout=300)
    return result


def test_make_run_prints_the_three_assets_the_console_and_what_to_try(stack):
    printed = stack["printed"]
    for label in ("download:", "compute:", "algorithm:", "console:", "make demo"):
        assert label in printed, printed
    assert len(set(re.findall(r"did:op:[0-9a-f]{64}", printed))) == 3


def test_the_demo_plays_every_step_and_exits_zero(demo):
    out = demo.stdout
    assert demo.returncode == 0, out + demo.stderr
    assert "FAIL" not in out
    steps = re.findall(r"^  ok    (.+?) \(", out, re.M)
    assert steps == ["provider is up", "assets are indexed", "sign in: an auth token for polling",
                     "order the access dataset", "download it", "order the compute dataset and the algorithm",
                     "start the algorithm on the data", "follow it to the end", "fetch the result",
                     "verify the job's receipt", "download the compute dataset itself: refused"], out
    assert re.search(r"startOrder tx 0x[0-9a-f]{64}", out)
    assert "log |   y: mean 3283.50" in out  # a live log line from the sandboxed algorithm
    assert "y: count 100, min 0, max 9801, mean 3283.50" in out  # the result: derived, not the data
    assert re.search(r"refused \(.*\): 4\d\d ", out)


def test_the_demo_fails_loudly_when_a_step_fails(stack, tmp_path):
    """Exit code 1 and a FAIL line when the provider is not where the demo looks (a smoke test
    that cannot fail would prove nothing)."""
    result = subprocess.run([sys.executable, "-m", "provider.cli", "demo", "--provider",
                             f"http://127.0.0.1:{free_port()}"], cwd=PROJECT_ROOT, env=stack["env"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "FAIL  provider is up" in result.stdout


def _job_id(demo) -> str:
    return re.search(r"job ([0-9a-f]{32,64}) ", demo.stdout).group(1)


def test_the_console_shows_the_demo_job_behind_its_token(stack, demo):
    url = stack["url"]
    token = (stack["folder"] / "console-token").read_text().strip()
    assert requests.get(f"{url}/console", timeout=10).status_code == 401
    session = requests.Session()
    opened = session.get(f"{url}/console", params={"token": token}, timeout=10, allow_redirects=False)
    assert opened.status_code == 303 and opened.headers["Location"] == "/console"
    page = session.get(f"{url}/console", timeout=30)
    assert page.status_code == 200
    assert _job_id(demo) in page.text
    assert "ocean-compute" in page.text and "Chain index" in page.text
    assert token not in page.text


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines) of an 8-bit RGB(A) PNG, without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, width = 8, b"", 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make system installs it)")
def test_the_console_renders_in_headless_chromium(stack, demo, tmp_path):
    """Chromium follows the token link (303 + session cookie) as a browser does. The page is the
    server's HTML alone (no script in it, and its CSP would refuse one). The DOM names the demo's
    job; the screenshot is a real page (sized, many colours), not an empty or an error page."""
    token = (stack["folder"] / "console-token").read_text().strip()
    link = f"{stack['url']}/console?token={token}"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", link], capture_output=True, text=True, timeout=120)
    assert _job_id(demo) in dom.stdout, dom.stdout[-2000:] + dom.stderr[-2000:]
    assert "Recent jobs" in dom.stdout and "Operator token" not in dom.stdout
    assert "<script" not in dom.stdout.lower()
    shot = tmp_path / "console.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars", link],
                   capture_output=True, timeout=120)
    width, height, raw = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 900)
    stride = len(raw) // height
    rows = [raw[i * stride + 1:(i + 1) * stride] for i in range(0, height, 9)]
    assert len({row for row in rows}) > 30, "the screenshot is mostly blank"
    colours = {row[x:x + 3] for row in rows for x in range(0, len(row) - 3, 3 * 7)}
    assert len(colours) > 20
    shutil.copy(shot, stack["folder"] / "console.png")
