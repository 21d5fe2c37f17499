"""Both engines implement the one engine interface, with the same signatures."""
import inspect

import pytest

from provider.compute.engine import LocalSandboxEngine
from provider.compute.interfaces import ComputeEngine
from provider.compute.k8s.orchestrator import KubernetesJobEngine


@pytest.mark.parametrize("engine", [LocalSandboxEngine, KubernetesJobEngine])
def test_engine_implements_the_interface(engine):
    for name, member in inspect.getmembers(ComputeEngine, inspect.isfunction):
        if name.startswith("_"):
            continue
        implementation = getattr(engine, name, None)
        assert implementation is not None, f"{engine.__name__} lacks {name}"
        expected = [p for p in inspect.signature(member).parameters if p != "self"]
        actual = [p for p in inspect.signature(implementation).parameters if p != "self"]
        assert actual[:len(expected)] == expected, (engine.__name__, name, actual)
