"""Issue "compute guarantees", 2: input files and job folders on the host are readable by the
provider (and, for reading, the sandbox's group) only. Before, a publisher's data sat in 0644
files under a listable 0755 folder, readable by every user of the host."""
import os
import stat
import subprocess

import pytest

from provider.compute import status as st
from tests.integration.test_compute import raw_algorithm

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to look as another user")


def as_nobody(*command) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command],
                          capture_output=True, text=True, timeout=30)


def test_another_host_user_cannot_read_a_running_jobs_inputs(lab):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("import time\ntime.sleep(30)")).get_json()[0]["jobId"]
    lab.wait(job_id, until=lambda s: s["status"] == st.RUNNING)
    paths = lab.client.application.extensions["provider"].engine.paths(job_id)
    data_file = paths.data / "inputs" / dataset["id"].removeprefix("did:op:") / "0"
    try:
        assert data_file.read_bytes() == lab.origin.files["data.csv"][0]
        for path in [paths.root, paths.data, data_file.parent, data_file, paths.provider_logs]:
            assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path  # nothing for other users
        assert as_nobody("cat", str(data_file)).returncode != 0
        assert as_nobody("ls", str(paths.root.parent)).returncode != 0  # the jobs folder is not listable
    finally:
        lab.signed("PUT", job_id)
        lab.wait(job_id)
