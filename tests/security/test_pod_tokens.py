"""Issue "compute guarantees", 2: the Kubernetes one-time phase token is consumed atomically.
Before: the token was checked, then marked used by a second call, so requests racing with the
same token could all get the inputs bundle."""
import threading
import uuid

from kubernetes import client

from provider.compute.k8s.cluster import ClusterApi


def test_a_claim_succeeds_once_however_many_race_for_it(emulator):
    api = ClusterApi(client.ApiClient(client.Configuration(host=emulator["url"])), f"c2d-{uuid.uuid4().hex[:8]}")
    results, start = [], threading.Barrier(6)

    def claim():
        start.wait()
        results.append(api.claim("c2d-job-fetch-token-used", {"app.kubernetes.io/managed-by": "ocean-provider"}))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert api.claim("c2d-job-fetch-token-used", {}) is False  # and never again
