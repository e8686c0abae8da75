"""tests/baseline, run as CI runs it, against a published project of real (torch) stand-ins."""

import os
import shutil
import subprocess
import sys

import pytest
from helpers.project import REPO, Project, run

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


@pytest.fixture
def standin_project(tmp_path):
    from ckpt.registry import load_registry, unique_paths
    from ckpt_devtools.standins import make_standins

    root = tmp_path / "work"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SKIP_CHECKPOINT_DOWNLOAD"}
    project = Project(root, tmp_path / "remote", env)
    run(["git", "init", "-q"], cwd=root, env=env)
    project.dvc("init", "-q")
    (root / "dvc.yaml").write_bytes((REPO / "dvc.yaml").read_bytes())
    make_standins(root, unique_paths(load_registry(root)), "64k")
    project.dvc("add", "-q", "ckpts")
    project.dvc("remote", "add", "-q", "-d", "local", "../remote")
    project.dvc("push", "-q")
    project.delete_local()
    project.env["CKPT_REPO"] = str(root)
    return project


def pytest_baseline(project):
    # A copy, so that this suite's own conftest (which clears CKPT_REPO) stays out of it.
    suite = project.root.parent / "baseline"
    shutil.copytree(REPO / "tests" / "baseline", suite, dirs_exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", str(suite)],
        cwd=suite, env=project.env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_baseline_passes_on_published_checkpoints(standin_project):
    out = pytest_baseline(standin_project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "skipped" not in out.stdout and "failed" not in out.stdout


def test_baseline_skips_with_the_reason_when_downloads_are_off(standin_project):
    standin_project.env["SKIP_CHECKPOINT_DOWNLOAD"] = "true"
    out = pytest_baseline(standin_project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" not in out.stdout
    assert "checkpoints missing: mp_20_vae. Fetch them with `ckpt pull mp_20_vae`" in out.stdout
