"""Faults through the hf:// remote, injected by the local Hub: 5xx, 429 with Retry-After, bodies
cut mid-way, slow answers. Pulls (``ckpt pull``) and pushes (``dvc push``) complete through bounded
retries with backoff, or fail within a bounded time with a clear message; the remote never holds a
``.dir`` whose files are missing.
"""

from __future__ import annotations

import hashlib
import subprocess
import time

import pytest
from helpers.project import CKPT, DVC
from helpers.reliability import HubProject, dirs_missing_files, dvc_object_path, remote_files

from ckpt.dvcfiles import tracked_dir_md5

NAMES = ("mp_20_vae", "alex_mp_20_ldm_rl")
# Generous: a run that retries its way through the faults takes seconds, a hang takes forever.
BOUND_S = 180
MiB = 1024 * 1024

FAULTS = {
    "5xx": [
        {"kind": "*", "rate": 0.1, "status": 500},
        {"kind": "*", "rate": 0.1, "status": 503},
    ],
    "429": [{"kind": "*", "rate": 0.2, "status": 429, "retry_after": 1}],
    "dropped": [
        {"kind": "resolve", "method": "GET", "rate": 0.3, "drop": 1000},
        {"kind": "commit", "rate": 0.3, "drop": 1000},
        {"kind": "lfs-upload", "rate": 0.3, "drop": MiB},
    ],
    "slow": [{"kind": "*", "delay": 0.2}],
}


def timed(cmd: list[str], project: HubProject) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        cmd, cwd=project.root, env=project.env, capture_output=True, text=True, timeout=BOUND_S
    )
    return result, time.monotonic() - started


def stage_new_checkpoints(project: HubProject) -> dict[str, bytes]:
    """Two new files: a small one (inline in the commit) and one the Hub takes through LFS."""
    new = {
        "ckpts/extra/small.ckpt": b"small\n" * 10_000,
        "ckpts/extra/large.ckpt": hashlib.sha256(b"large").digest() * (11 * MiB // 32),
    }
    for path, data in new.items():
        (project.root / path).parent.mkdir(parents=True, exist_ok=True)
        (project.root / path).write_bytes(data)
    project.dvc("add", "-q", "ckpts")
    return new


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_pull_and_push_complete_through_faults(hub_project: HubProject, fault: str):
    project, hub = hub_project, hub_project.local_hub
    hub.clear_faults(seed=11)
    for rule in FAULTS[fault]:
        hub.inject(**rule)

    pulled, _ = timed([CKPT, "pull", *NAMES], project)
    assert pulled.returncode == 0, pulled.stderr
    for name in NAMES:
        assert (project.root / project.paths()[name]).read_bytes() == project.expected(name)

    project.dvc("pull")  # the rest of the tree, so that `dvc add` records every file
    new = stage_new_checkpoints(project)
    pushed, _ = timed([DVC, "push"], project)
    assert pushed.returncode == 0, pushed.stderr
    assert sum(r.get("fault", False) for r in hub.requests()) > 0, "no fault was injected"
    assert hub.count(kind="lfs-upload", status=200) >= 1  # the large file went through LFS

    hub.clear_faults()
    assert dirs_missing_files(hub) == {}
    assert "in sync" in project.dvc("status", "-c").stdout
    files = remote_files(hub)
    assert dvc_object_path(tracked_dir_md5(project.root)) in files
    for data in new.values():
        assert dvc_object_path(hashlib.md5(data).hexdigest()) in files


@pytest.mark.slow
def test_a_hub_that_keeps_failing_gives_up_in_bounded_time_with_a_clear_message(
    hub_project: HubProject,
):
    project, hub = hub_project, hub_project.local_hub
    assert project.ckpt("-q", "pull").returncode == 0  # everything, for the push below
    before = remote_files(hub)
    hub.inject(status=503)

    pulled, _ = timed([CKPT, "pull", "--force", NAMES[0]], project)
    assert pulled.returncode == 1
    assert "remote 'hf'" in pulled.stderr and "503" in pulled.stderr
    assert f"ckpt pull {NAMES[0]}" in pulled.stderr
    assert (project.root / project.paths()[NAMES[0]]).read_bytes() == project.expected(NAMES[0])

    stage_new_checkpoints(project)
    pushed, _ = timed([DVC, "push"], project)
    assert pushed.returncode != 0
    assert "503" in pushed.stderr
    hub.clear_faults()
    assert remote_files(hub) == before
    assert dirs_missing_files(hub) == {}
