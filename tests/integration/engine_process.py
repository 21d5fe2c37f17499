"""A provider process that only runs the compute engine (for crash tests): settings from env."""
import sys
import time

from provider.compute.engine import LocalSandboxEngine
from provider.config import load_settings
from provider.services import build_services

services = build_services(load_settings())
engine = LocalSandboxEngine(services.settings.compute, services.engine.store, services.engine.leases,
                     services.engine.provisioner, lease_seconds=float(sys.argv[1]))
engine.start()
print("engine up", flush=True)
while True:
    time.sleep(1)
