"""A published checkpoint project for tests: this repo's dvc.yaml, small checkpoints, a remote.

Built once per test run with the real ``git`` and ``dvc`` CLIs (``dvc add ckpts``, ``dvc push`` to
a local directory remote) and shared by every xdist worker (``built_once``), then copied for each
test, so a test can break its copy freely.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DVC = str(BIN / "dvc")
CKPT = str(BIN / "ckpt")
SIZE = 64 * 1024


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def use_hf_remote(project: Project, url: str, endpoint: str, token: str, **options: str) -> None:
    """Make hf:// ``url`` the only, default remote and commit that, writing what `dvc remote add
    -d hf URL`, `dvc remote modify hf endpoint|OPTION ...` and `--local hf token` write (each dvc
    process costs seconds on a loaded machine; tests/dvc_hf test the CLI itself)."""
    extra = "".join(f"    {name} = {value}\n" for name, value in options.items())
    (project.root / ".dvc" / "config").write_text(
        f"[core]\n    analytics = false\n    remote = hf\n['remote \"hf\"']\n"
        f"    url = {url}\n    endpoint = {endpoint}\n{extra}"
    )
    (project.root / ".dvc" / "config.local").write_text(f"['remote \"hf\"']\n    token = {token}\n")
    run(["git", "add", "-A"], cwd=project.root, env=project.env)
    run(["git", "commit", "-q", "-m", "hf remote"], cwd=project.root, env=project.env)


def checkpoint_bytes(relpath: str, size: int = SIZE) -> bytes:
    """Deterministic, distinct content per path (the loader does not care what is inside).

    Binary like a real checkpoint (a zip header with NULs), so the Hub stores it in LFS.
    """
    import hashlib

    block = b"PK\x03\x04\x00\x00" + hashlib.sha256(relpath.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


@dataclass
class Project:
    """A checkout (``root``) with every registry checkpoint pushed to ``remote``."""

    root: Path
    remote: Path
    env: dict[str, str] = field(default_factory=dict)

    def paths(self) -> dict[str, str]:
        from ckpt.registry import load_registry

        return {a.name: a.path for a in load_registry(self.root).values()}

    def delete_local(self) -> None:
        """Forget every local copy: workspace files, DVC cache, stamps."""
        shutil.rmtree(self.root / "ckpts", ignore_errors=True)
        shutil.rmtree(self.root / ".dvc" / "cache", ignore_errors=True)
        shutil.rmtree(self.root / ".dvc" / "tmp" / "ckpt", ignore_errors=True)

    def ckpt(self, *args: str, check: bool = False):
        return run([CKPT, *args], cwd=self.root, env=self.env, check=check)

    def dvc(self, *args: str, check: bool = True):
        return run([DVC, *args], cwd=self.root, env=self.env, check=check)

    def python(self, code: str, check: bool = False, cwd: Path | None = None):
        return run([sys.executable, "-c", code], cwd=cwd or self.root, env=self.env, check=check)


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], str]
) -> tuple[Path, str]:
    """``build(directory)`` once per test run, whichever xdist worker asks first; every worker
    gets the directory and the string ``build`` returned (pytest-xdist's documented pattern).

    Templates take tens of seconds of git and dvc subprocesses; on 2 cores, each worker building
    its own cost the whole run that much. The directory sits under the run's base temp dir, which
    every worker shares; it must not hold anything private to one worker (its environment is
    rebuilt by each, see ``project_env``)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    target, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)  # a build that failed half-way
            done.write_text(build(target))
    return target, done.read_text()


def project_env() -> dict[str, str]:
    """What the template's commands run with: this process's environment (its own HF_HOME and
    DVC config dirs), without the variables the tests set per project."""
    return {
        k: v for k, v in os.environ.items() if k not in ("CKPT_REPO", "SKIP_CHECKPOINT_DOWNLOAD")
    }


def build_project(base: Path, size: int = SIZE) -> Project:
    """git + dvc init, the real dvc.yaml, one file per registry path, dvc add, push."""
    root, remote = base / "work", base / "remote"
    root.mkdir(parents=True)
    env = project_env()
    run(["git", "init", "-q"], cwd=root, env=env)
    run([DVC, "init", "-q"], cwd=root, env=env)
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    # Not the repository's own .dvc/config: its remotes are the real Hub, never reached from tests.
    (root / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    project = Project(root, remote, env)
    for relpath in dict.fromkeys(project.paths().values()):
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(checkpoint_bytes(relpath, size))
    project.dvc("add", "-q", "ckpts")
    # Relative (DVC stores it relative to .dvc/), so copies of the project use their own copy of the remote.
    project.dvc("remote", "add", "-q", "-f", "-d", "local", "../remote")
    project.dvc("push", "-q")
    run(["git", "add", "-A"], cwd=root, env=env)
    run(["git", "commit", "-q", "-m", "published"], cwd=root, env=env)
    return project


@pytest.fixture(scope="session")
def _project_template(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base, _ = built_once(tmp_path_factory, "template", lambda b: str(build_project(b).root))
    return Project(base / "work", base / "remote", project_env())


@pytest.fixture
def project(_project_template: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fresh copy of the published project, with nothing local: ckpts/ and the cache are empty.

    CKPT_REPO points at it and SKIP_CHECKPOINT_DOWNLOAD is unset.
    """
    base = tmp_path / "p"
    shutil.copytree(_project_template.root.parent, base, symlinks=True)
    project = Project(base / "work", base / "remote", dict(_project_template.env))
    project.delete_local()
    monkeypatch.setenv("CKPT_REPO", str(project.root))
    monkeypatch.delenv("SKIP_CHECKPOINT_DOWNLOAD", raising=False)
    project.env["CKPT_REPO"] = str(project.root)
    return project
