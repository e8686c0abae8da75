"""An unreachable Hub fails fast and says which remote and what to do: nothing listening on the
port (connection refused), and a server that accepts connections but never answers (blackhole).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest
from helpers.project import CKPT, DVC
from helpers.reliability import HubProject, write_remote_config

# No multi-minute hangs: each command must give up well within this (connect and read timeouts
# plus bounded retries), and tell the user why.
BOUND_S = 120


@pytest.fixture(params=["refused", "blackhole"])
def dead_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if request.param == "blackhole":
        sock.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    else:
        sock.close()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        sock.close()


def run_bounded(cmd: list[str], project: HubProject) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=project.root, env=project.env, capture_output=True, text=True, timeout=BOUND_S
    )


@pytest.mark.slow
def test_pull_and_push_to_a_dead_endpoint_fail_fast_and_say_what_to_do(
    hub_project: HubProject, dead_endpoint: str
):
    project = hub_project
    assert project.ckpt("-q", "pull", "mp_20_vae").returncode == 0
    # The default read timeout is 60 s; a short one keeps the blackhole case quick.
    write_remote_config(project.root, dead_endpoint, read_timeout="3")

    pulled = run_bounded([CKPT, "pull", "alex_mp_20_vae"], project)
    assert pulled.returncode == 1
    where = f"remote 'hf' (hf://chemeleon2/chemeleon2-checkpoints, endpoint {dead_endpoint})"
    assert where in pulled.stderr, pulled.stderr
    assert f"cannot reach the Hub at {dead_endpoint}" in pulled.stderr
    assert "ckpt pull alex_mp_20_vae" in pulled.stderr
    assert not (project.root / project.paths()["alex_mp_20_vae"]).exists()

    (project.root / "ckpts" / "extra.ckpt").write_bytes(b"extra\n" * 1000)
    project.dvc("add", "-q", "ckpts")
    pushed = run_bounded([DVC, "push"], project)
    assert pushed.returncode != 0
    assert f"cannot reach the Hub at {dead_endpoint}" in pushed.stderr, pushed.stderr
