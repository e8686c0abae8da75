"""A project with several publishes, built with the real git, dvc and ckpt CLIs (tests/versions/).

C1 published            every name tagged NAME@v1.0.0 (`ckpt publish --version 1.0.0`)
C2 mp_20_vae v1         mp_20_vae@v1.1.0; lightweight tag `release-2`; branch `vae-v1`
C3 mp_20_ldm_base v1    mp_20_ldm_base@v1.2.0
C4 new checkpoint extra_vae (dvc.yaml edited, mp_20_vae untouched), `ckpt publish`
C5 mp_20_vae v2         `ckpt publish`, committed by hand; the working tree (HEAD)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.project import Project, build_project, built_once, checkpoint_bytes, project_env, run

from ckpt import ignore
from ckpt.registry import load_registry, unique_paths

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
LDM_BASE = "ckpts/mp_20/ldm/ldm_null_4tfw67aq.ckpt"
EXTRA = "ckpts/extra/vae.ckpt"
EXTRA_ENTRY = """  extra_vae:
    path: ckpts/extra/vae.ckpt
    type: model
    desc: A checkpoint added after the first publish
"""


def content(relpath: str, version: int) -> bytes:
    return checkpoint_bytes(relpath if version == 0 else f"{relpath}#v{version}")


@dataclass
class History:
    project: Project
    commits: dict[str, str]  # "C1".."C5" -> full sha

    def git(self, *args: str) -> str:
        return run(["git", *args], cwd=self.project.root, env=self.project.env).stdout.strip()


def _publish(project: Project, *args: str) -> None:
    project.ckpt("publish", "--no-mirror", *args, check=True)


def build_history(base: Path) -> History:
    project = build_project(base)
    root, env = project.root, project.env

    def git(*args: str) -> str:
        return run(["git", *args], cwd=root, env=env).stdout.strip()

    # The registry's .dvcignore section, as a checkout published with ckpt has it from the start
    # (else the first publish below would commit it and tag that commit instead of C1).
    ignore.sync(root, unique_paths(load_registry(root)))
    git("commit", "-q", "--amend", "--no-edit", "-a")
    commits = {"C1": git("rev-parse", "HEAD")}
    _publish(project, "--version", "1.0.0")  # nothing to commit: tags C1

    (root / VAE).write_bytes(content(VAE, 1))
    _publish(project, "--version", "1.1.0")  # commits the pins as C2, tags mp_20_vae only
    commits["C2"] = git("rev-parse", "HEAD")
    git("tag", "release-2")
    git("branch", "vae-v1")

    (root / LDM_BASE).write_bytes(content(LDM_BASE, 1))
    _publish(project, "--version", "v1.2.0")
    commits["C3"] = git("rev-parse", "HEAD")

    with open(root / "dvc.yaml", "a") as f:
        f.write(EXTRA_ENTRY)
    (root / EXTRA).parent.mkdir(parents=True)
    (root / EXTRA).write_bytes(content(EXTRA, 0))
    # The by-hand way (what `ckpt publish` runs, without its checks): cheaper for the fixture.
    ignore.sync(root, unique_paths(load_registry(root)))  # or DVC ignores the new file
    project.dvc("add", "-q", "ckpts")
    project.dvc("push", "-q")
    git("commit", "-q", "-am", "Add extra_vae")
    commits["C4"] = git("rev-parse", "HEAD")

    (root / VAE).write_bytes(content(VAE, 2))
    project.dvc("add", "-q", "ckpts")
    project.dvc("push", "-q")
    git("commit", "-q", "-am", "VAE v2")
    commits["C5"] = git("rev-parse", "HEAD")
    return History(project, commits)


@pytest.fixture(scope="session")
def _history_template(tmp_path_factory: pytest.TempPathFactory) -> History:
    base, commits = built_once(
        tmp_path_factory, "history", lambda b: json.dumps(build_history(b).commits)
    )
    return History(Project(base / "work", base / "remote", project_env()), json.loads(commits))


@pytest.fixture
def history(_history_template: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    """A fresh copy of the project with several publishes; nothing local (no ckpts/, no cache)."""
    base = tmp_path / "h"
    shutil.copytree(_history_template.project.root.parent, base, symlinks=True)
    project = Project(base / "work", base / "remote", dict(_history_template.project.env))
    project.delete_local()
    monkeypatch.setenv("CKPT_REPO", str(project.root))
    monkeypatch.delenv("SKIP_CHECKPOINT_DOWNLOAD", raising=False)
    project.env["CKPT_REPO"] = str(project.root)
    return History(project, dict(_history_template.commits))
