"""The data and servers the benchmarks share: random checkpoints, the local Hub, DVC projects.

Everything lives under one work directory (``benchmarks/.work/run-PID`` by default) that is removed
at the end. Projects are built the way a maintainer builds one (git, ``dvc add ckpts``, an ``hf://``
remote pointing at the local Hub, ``dvc push``); users' checkouts are ``git clone``s of it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import CKPT, DVC, PYTHON, REPO, MiB, Scale, run
from hubsim.process import LocalHub  # a subprocess running `hubsim serve` on loopback

# The client environment the tests use against it.
sys.path.insert(0, str(REPO / "tests"))
from helpers.hub import hub_client_env

ORG = "bench"
_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def write_random(path: Path, size: int) -> None:
    """``size`` random bytes (nothing compresses or dedupes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


@dataclass
class Project:
    """A git + DVC checkout whose default remote is an hf:// repo on the local Hub."""

    root: Path
    env: dict[str, str]
    repo_id: str

    def dvc(self, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return run([DVC, *args], cwd=self.root, env=self.env, check=check)

    def ckpt(self, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return run([CKPT, *args], cwd=self.root, env=self.env, check=check)

    def python(self, code: str, check: bool = True):  # type: ignore[no-untyped-def]
        return run([PYTHON, "-c", code], cwd=self.root, env=self.env, check=check)

    def use_repo(self, repo_id: str) -> None:
        """Point the default remote at another Hub repo (created by the first push)."""
        self.dvc("remote", "modify", "hf", "url", f"hf://datasets/{repo_id}")
        self.repo_id = repo_id


class Bench:
    """The run's work directory, its local Hub and client environments."""

    def __init__(self, work: Path, scale: Scale) -> None:
        self.work = work
        self.scale = scale
        self.hub = LocalHub(work / "hub")
        self._ids = itertools.count()
        self._cache: dict[str, Any] = {}

    def __enter__(self) -> Bench:
        self.work.mkdir(parents=True, exist_ok=True)
        self.hub.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hub.stop()

    def path(self, name: str) -> Path:
        """A fresh directory under the work directory."""
        path = self.work / f"{name}-{next(self._ids)}"
        path.mkdir(parents=True)
        return path

    def repo_id(self, name: str) -> str:
        return f"{ORG}/{name}-{next(self._ids)}"

    def env(self, hf_home: Path | None = None, hub: LocalHub | None = None) -> dict[str, str]:
        """A client environment: the local Hub, no Xet, no telemetry, private HF and DVC dirs."""
        env = hub_client_env(hub or self.hub, hf_home or self.path("hf-home"))
        for name in ("CKPT_REPO", "SKIP_CHECKPOINT_DOWNLOAD", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        env |= {
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(self.work / "dvc-site-cache"),
            "DVC_GLOBAL_CONFIG_DIR": str(self.work / "dvc-global"),
            "DVC_SYSTEM_CONFIG_DIR": str(self.work / "dvc-system"),
        }
        return env

    # --- the request log ------------------------------------------------------------------

    def log_mark(self, hub: LocalHub | None = None) -> int:
        return len(_log_lines(hub or self.hub))

    def requests_since(self, mark: int, hub: LocalHub | None = None) -> list[dict[str, Any]]:
        """Requests the hub logged after ``mark`` (its admin calls excluded)."""
        import json

        records = [json.loads(line) for line in _log_lines(hub or self.hub)[mark:] if line]
        return [r for r in records if r["kind"] != "admin"]

    # --- projects -------------------------------------------------------------------------

    def project(
        self, name: str, files: Mapping[str, int], names: Mapping[str, str], push: bool = True
    ) -> Project:
        """A maintainer's checkout: ``files`` (path under ckpts/ -> size) of random bytes,
        registry ``names`` (name -> path), ``dvc add ckpts``, hf:// remote, pushed, committed."""
        root = self.path(name)
        repo_id = self.repo_id(name)
        project = Project(root, self.env(), repo_id)
        run([*_GIT, "init", "-q"], cwd=root)
        project.dvc("init", "-q")
        # What `dvc remote add -d hf URL` and `dvc remote modify hf endpoint|create_repo` write.
        (root / ".dvc" / "config").write_text(
            "[core]\n    analytics = false\n    remote = hf\n"
            f"['remote \"hf\"']\n    url = hf://datasets/{repo_id}\n"
            f"    endpoint = {self.hub.url}\n    create_repo = true\n"
        )
        (root / "dvc.yaml").write_text(registry_yaml(names))
        for rel, size in files.items():
            write_random(root / "ckpts" / rel, size)
        project.dvc("add", "-q", "ckpts")
        if push:
            project.dvc("push", "-q")
        run([*_GIT, "add", "-A"], cwd=root)
        run([*_GIT, "commit", "-q", "-m", "published"], cwd=root)
        return project

    def clone(self, project: Project, name: str = "clone") -> Project:
        """A user's fresh checkout: nothing in ckpts/, an empty DVC cache, a fresh HF_HOME."""
        dest = self.path(name)
        run(["git", "clone", "-q", str(project.root), str(dest / "work")])
        return Project(dest / "work", self.env(), project.repo_id)

    def shared(self, key: str, factory: Callable[[], Any]) -> Any:
        """Built once per run, for every benchmark that needs it."""
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    def published(self) -> Project:
        """The published project: ``ckpt_count`` checkpoints, registry names ckpt_0, ckpt_1, ..."""
        s = self.scale
        files = {f"bench/ckpt_{i}.ckpt": s.ckpt_size for i in range(s.ckpt_count)}
        names = {f"ckpt_{i}": f"ckpts/{rel}" for i, rel in enumerate(files)}
        return self.shared("published", lambda: self.project("published", files, names))

    @contextmanager
    def fresh_hub(self, name: str) -> Iterator[LocalHub]:
        """A hub of its own, removed afterwards: its blob store starts empty, so an upload cannot
        be skipped because an earlier round already stored the same bytes."""
        with self.scratch(name) as path, LocalHub(path / "data") as hub:
            yield hub

    @contextmanager
    def scratch(self, name: str) -> Iterator[Path]:
        """A directory removed afterwards (keeps the disk footprint of a full run small)."""
        path = self.path(name)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _log_lines(hub: LocalHub) -> list[str]:
    try:
        return hub.log_path.read_text().splitlines()
    except FileNotFoundError:
        return []


def registry_yaml(names: Mapping[str, str]) -> str:
    lines = ["artifacts:"]
    for name, path in names.items():
        lines += [f"  {name}:", f"    path: {path}", "    type: model"]
    return "\n".join(lines) + "\n"


def hf_api(bench: Bench):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=bench.hub.url, token=False)
