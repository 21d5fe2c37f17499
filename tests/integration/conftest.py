"""Fixtures shared by the integration tests."""
import asyncio
import threading
import time

import kmock
import pytest


@pytest.fixture
def emulator():
    """A fresh API server per test: the emulator's calls slow down as stored objects pile up."""
    state = {}

    def serve():
        async def main():
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu) as srv:
                state.update(emu=emu, url=str(srv.url).rstrip("/"), loop=asyncio.get_running_loop())
                await asyncio.Event().wait()
        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    deadline = time.monotonic() + 10
    while "url" not in state:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return state
