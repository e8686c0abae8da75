"""Fixtures for the hf:// remote: DVC's own conformance fixtures, a local Hub per worker, and
``make_hf`` creating a fresh Hub dataset repo per test (as dvc-s3's ``make_s3`` makes buckets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dvc.testing.fixtures import *  # noqa: F403
from helpers.dvc_cli import DvcCli, new_repo
from helpers.hf_cloud import HfCloud
from helpers.hub import LocalHub

if "M" not in globals():  # dvc.testing.fixtures: from dvc 3.65; TestAPI asks for it

    @pytest.fixture(name="M")
    def matchers():
        from helpers.matchers import M

        return M


@pytest.fixture(scope="session")
def shared_hub(tmp_path_factory: pytest.TempPathFactory):
    """One local Hub per test worker; every test gets its own repo on it."""
    with LocalHub(tmp_path_factory.mktemp("shared-hub") / "data") as hub:
        yield hub


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


@pytest.fixture
def dvc_cli(tmp_path: Path) -> DvcCli:
    work = tmp_path / "work"
    work.mkdir()
    return DvcCli(work, tmp_path / "hf-home")
