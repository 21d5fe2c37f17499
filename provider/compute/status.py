"""Compute job status codes and texts (c2d-engine.md §4), and the phase rules (pure).

Texts are exact, including the trailing space of "Running algorithm ". A job moves
queued -> provisioning -> running -> publishing -> finished; any phase can end in its
failure code. Every code below 70 that is not a failure is "live": such a job has an owner
process and a deadline.
"""
from __future__ import annotations

QUEUED = 1
EXPIRED_IN_QUEUE = 2      # waited longer than the job's queueMaxWaitTime (Ocean Node code)
CONFIGURING = 20
PROVISIONED = 30
DATA_PROVISIONING_FAILED = 31
ALGORITHM_PROVISIONING_FAILED = 32
RUNNING = 40
RUN_FAILED = 41
DISK_QUOTA_EXCEEDED = 42
RESULTS_HELD = 51        # finished; its outputs wait for the publisher's review
PUBLISHING = 60
PUBLISH_FAILED = 62
OUTPUTS_WITHHELD = 63    # outputs outside the publisher's output policy, or rejected at review
FINISHED = 70

TEXTS = {
    QUEUED: "Warming up",
    EXPIRED_IN_QUEUE: "Job expired in queue",
    CONFIGURING: "Configuring volumes",
    PROVISIONED: "Provisioning success",
    DATA_PROVISIONING_FAILED: "Data provisioning failed",
    ALGORITHM_PROVISIONING_FAILED: "Algorithm provisioning failed",
    RUNNING: "Running algorithm ",
    RUN_FAILED: "Failed to run algorithm",
    DISK_QUOTA_EXCEEDED: "Error: disk quota exceeded",
    RESULTS_HELD: "Results held for review",
    PUBLISHING: "Publishing results",
    PUBLISH_FAILED: "Failed to upload results to storage",
    OUTPUTS_WITHHELD: "Results withheld by the output policy",
    FINISHED: "Job finished",
}

# Ocean Node's texts for the same numbers (ocean-node.md §5), shown to ocean.js 8 for jobs it
# started; 71 is what a finished resource-priced job shows until its payment is settled.
SETTLING = 71
NODE_TEXTS = {**TEXTS, QUEUED: "Job queued", PROVISIONED: "Provisioning data", SETTLING: "Job settling"}

TERMINAL = {EXPIRED_IN_QUEUE, DATA_PROVISIONING_FAILED, ALGORITHM_PROVISIONING_FAILED, RUN_FAILED, DISK_QUOTA_EXCEEDED,
            PUBLISH_FAILED, OUTPUTS_WITHHELD, FINISHED}
ACTIVE = {CONFIGURING, PROVISIONED, RUNNING, PUBLISHING}  # a process is working on the job


def text(status: int) -> str:
    return TEXTS[status]


def is_terminal(status: int) -> bool:
    return status in TERMINAL


def with_finish_time(changes: dict, now: float) -> dict:
    """A job moving to a terminal status records when it finished (unless the change says)."""
    if "status" in changes and is_terminal(changes["status"]) and "date_finished" not in changes:
        return {**changes, "date_finished": now}
    return changes


def after_restart(status: int) -> tuple[int, str | None]:
    """What a job found in `status` becomes when its runner died (provider killed or restarted).

    Queued and provisioning jobs are resumed from the start of provisioning (nothing has run
    yet); a job whose outputs were being collected is resumed at publishing (the outputs are on
    disk); a running algorithm cannot be resumed, so the job fails with the reason recorded.
    """
    if status in (QUEUED, CONFIGURING, PROVISIONED):
        return QUEUED, None
    if status == RUNNING:
        return RUN_FAILED, "the provider restarted while the algorithm was running"
    if status == PUBLISHING:
        return PUBLISHING, None
    return status, None
