"""Concurrency through the hf:// remote: many callers, one transfer; two clones pushing at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers.project import DVC, Project
from helpers.reliability import (
    READ_TOKEN,
    HubProject,
    dirs_missing_files,
    dvc_object_path,
    remote_files,
    write_local_token,
)

from ckpt import get_checkpoint
from ckpt.dvcfiles import tracked_dir_md5

NAME = "mp_20_ldm_rl"
PROCESSES = THREADS = 8

# Each process asks from THREADS threads at once; prints what every thread got.
CALLERS = f"""
import json, threading
from ckpt import get_checkpoint
from ckpt.dvcfiles import tracked_dir_md5
results = []
def ask():
    try:
        results.append(str(get_checkpoint({NAME!r})))
    except BaseException as exc:
        results.append(f"{{type(exc).__name__}}: {{exc}}")
threads = [threading.Thread(target=ask) for _ in range({THREADS})]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


def hub_traffic(project: HubProject, since: int = 0) -> Counter:
    return Counter(
        (r["kind"], r["method"], r["path"]) for r in project.local_hub.requests()[since:]
    )


@pytest.mark.slow
def test_8_processes_of_8_threads_fetch_each_object_once(hub_project: HubProject):
    project = hub_project
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CALLERS],
            cwd=project.root,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert [rc for _, _, rc in outputs] == [0] * PROCESSES, outputs
    answers = [a for out, _, _ in outputs for a in json.loads(out)]
    path = project.root / project.paths()[NAME]
    assert answers == [str(path)] * PROCESSES * THREADS
    assert path.read_bytes() == project.expected(NAME)

    concurrent = hub_traffic(project)
    md5 = project.manifest()[project.paths()[NAME].removeprefix("ckpts/")]
    assert len(project.object_downloads(md5)) == 1
    # 64 callers made exactly the requests one caller alone makes: all but one waited for the
    # lock, then found the checkpoint present and verified.
    project.delete_local()
    since = len(project.local_hub.requests())
    get_checkpoint(NAME)
    assert concurrent == hub_traffic(project, since)


def clone(project: HubProject, dest: Path) -> Project:
    shutil.copytree(project.root, dest, symlinks=True)
    return Project(dest, project.remote, project.env)


@pytest.mark.slow
def test_two_clones_pushing_at_once_leave_the_remote_consistent(
    hub_project: HubProject, tmp_path: Path
):
    project, hub = hub_project, hub_project.local_hub
    assert project.ckpt("-q", "pull").returncode == 0
    clones = {}
    for who in ("alice", "bob"):
        c = clones[who] = clone(project, tmp_path / who)
        new = c.root / "ckpts" / "contrib" / f"{who}.ckpt"
        new.parent.mkdir()
        new.write_bytes(f"{who}'s fine-tuned weights\n".encode() * 5000)
        c.dvc("add", "-q", "ckpts")
    # Slow commits so that the two pushes overlap on the Hub.
    hub.inject("commit", delay=1.5)
    pushes = [
        subprocess.Popen(
            [DVC, "push"],
            cwd=c.root,
            env=c.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for c in clones.values()
    ]
    results = [(p.communicate(timeout=300)[0], p.returncode) for p in pushes]
    assert [rc for _, rc in results] == [0, 0], results
    first, second = hub.requests(kind="commit", status=200)
    assert second["ts"] - second["ms"] / 1000 < first["ts"], "the commits did not overlap"
    assert dirs_missing_files(hub) == {}

    # Each clone's state is on the remote, complete: a third checkout of it pulls from scratch.
    for who, c in clones.items():
        assert "in sync" in c.dvc("status", "-c").stdout
        assert dvc_object_path(tracked_dir_md5(c.root)) in remote_files(hub)
        third = clone(project, tmp_path / f"third-{who}")
        shutil.copy(c.root / "ckpts.dvc", third.root / "ckpts.dvc")
        shutil.rmtree(third.root / "ckpts")
        shutil.rmtree(third.root / ".dvc" / "cache")
        write_local_token(third.root, READ_TOKEN)
        third.dvc("pull", "-q")
        theirs = Path("ckpts", "contrib", f"{who}.ckpt")
        assert (third.root / theirs).read_bytes() == (c.root / theirs).read_bytes()
