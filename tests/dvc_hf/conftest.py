"""Fixtures for the hf:// remote: DVC's own conformance fixtures, a local Hub per worker, and
``make_hf`` creating a fresh Hub dataset repo per test (as dvc-s3's ``make_s3`` makes buckets)."""

from __future__ import annotations

import itertools
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from dvc.testing.fixtures import *  # noqa: F403
from helpers.hub import LocalHub
from helpers.s3 import moto_server, s3_server  # noqa: F401
from hf_cloud import HfCloud
from huggingface_hub import HfApi


@pytest.fixture(scope="session")
def shared_hub(tmp_path_factory: pytest.TempPathFactory):
    """One local Hub per test worker; every test gets its own repo on it."""
    with LocalHub(tmp_path_factory.mktemp("shared-hub") / "data") as hub:
        yield hub


_names = itertools.count()


def new_repo(hub: LocalHub, prefix: str = "dvc") -> str:
    repo_id = f"tests/{prefix}-{uuid.uuid4().hex[:8]}-{next(_names)}"
    HfApi(endpoint=hub.url).create_repo(repo_id, repo_type="dataset")
    return repo_id


@pytest.fixture
def make_hf(shared_hub: LocalHub):
    def _make_hf() -> HfCloud:
        return HfCloud(f"hf://datasets/{new_repo(shared_hub)}", shared_hub.url)

    return _make_hf


@pytest.fixture
def hf(make_hf) -> HfCloud:
    return make_hf()


@pytest.fixture
def cloud(make_cloud):
    return make_cloud(typ="hf")


@pytest.fixture
def remote(make_remote):
    return make_remote(name="upstream", typ="hf")


@pytest.fixture
def workspace(tmp_dir, dvc, make_cloud):
    # dvc.testing's make_workspace also points `cache.hf` at the workspace, an external cache
    # (deprecated in DVC 3) that the config schema has no key for; the import suites use only
    # the remote.
    cloud = make_cloud(typ="hf")
    tmp_dir.add_remote(name="workspace", config=cloud.config, default=False)
    return cloud


# --- the plain `dvc` CLI in a temp git repo ------------------------------------------------


class DvcCli:
    """Runs ``dvc`` (the installed console script) in a fresh git + DVC repo."""

    def __init__(self, root: Path, hf_home: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        self.env |= {
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HOME": str(hf_home),
            "DVC_NO_ANALYTICS": "1",
        }
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        self.ok("init", "-q")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DVC_BIN, *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result


DVC_BIN = str(Path(__import__("sys").executable).with_name("dvc"))


@pytest.fixture
def dvc_cli(tmp_path: Path) -> DvcCli:
    work = tmp_path / "work"
    work.mkdir()
    return DvcCli(work, tmp_path / "hf-home")
