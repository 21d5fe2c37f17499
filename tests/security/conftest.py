"""Fixtures shared by the attack tests."""
import pytest

from tests.integration.test_compute import Lab
from tests.integration.test_compute import compute_app, origin  # noqa: F401 (fixtures, used by `lab`)
from tests.security.hostile_origin import HostileOrigin


@pytest.fixture(scope="module")
def hostile():
    server = HostileOrigin()
    yield server
    server.stop()


@pytest.fixture
def lab(dev_chain, publisher, compute_app, origin):  # noqa: F811
    """A consumer and a publisher against a compute-enabled provider whose engine runs."""
    return Lab(dev_chain, publisher, compute_app.test_client(), origin)
