"""Chemeleon2 on ckpt: ``chemeleon_mini/`` (its shape: import-time lookups in ``src/paths.py`` and
``src/utils/featurizer.py``, a ``src/utils/checkpoint.py`` that re-exports ckpt, markers under
``--strict-markers``, a training script taking ``ckpt_path=NAME_OR_PATH``) laid over a published
checkout and tested with the real pytest in a subprocess, from the checkout, as its users run it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from helpers.project import BIN, Project, run

MINI = Path(__file__).parent / "chemeleon_mini"
# 4 tests need no checkpoint. 3 modules need one at import time (test_ldm_module, test_rl_module:
# src/paths.py; test_featurizer, 2 tests: src/utils/featurizer.py) and 1 test through the marker.
PASS_WITHOUT_CHECKPOINTS = 4
SKIPPED_WITHOUT_CHECKPOINTS = 4  # a skipped module counts once
ALL = 9


def consumer(project: Project) -> dict[str, str]:
    """Lay the mini project over the checkout; its environment, without CKPT_REPO."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(MINI, project.root, dirs_exist_ok=True, ignore=ignore)
    return {k: v for k, v in project.env.items() if k != "CKPT_REPO"}


def pytest_in(root: Path, env: dict[str, str], *args: str) -> pytest.RunResult:
    cmd = [str(BIN / "pytest"), "-p", "no:cacheprovider", "-rs", *args]
    proc = run(cmd, cwd=root, env=env, check=False)
    print(proc.stdout, proc.stderr)  # shown when the test fails
    return pytest.RunResult(proc.returncode, proc.stdout.splitlines(), proc.stderr.splitlines(), 0)


@pytest.mark.slow  # skipping is tested by default in tests/loader/test_import_skip.py and tests/baseline
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_skip_download_skips_every_checkpoint_test_and_nothing_errors(project, xdist):
    env = consumer(project) | {"SKIP_CHECKPOINT_DOWNLOAD": "true"}
    result = pytest_in(project.root, env, *xdist)
    result.assert_outcomes(passed=PASS_WITHOUT_CHECKPOINTS, skipped=SKIPPED_WITHOUT_CHECKPOINTS)
    assert result.ret == 0
    result.stdout.fnmatch_lines_random(
        [
            "SKIPPED * tests/baseline/test_ldm_module.py:4: checkpoints missing (needed at "
            "import time by src/paths.py:9): Checkpoint(s) alex_mp_20_vae not present and "
            "SKIP_CHECKPOINT_DOWNLOAD is set*`ckpt pull alex_mp_20_vae`.",
            "SKIPPED * tests/baseline/test_rl_module.py:4: *src/paths.py:9*",
            "SKIPPED * tests/unit/test_featurizer.py:4: checkpoints missing (needed at import "
            "time by src/utils/featurizer.py:8)*`ckpt pull mp_20_vae`.",
            "SKIPPED *checkpoints missing: mp_20_ldm_base*`ckpt pull mp_20_ldm_base`*",
        ]
    )
    assert "error" not in result.stdout.str().lower()
    assert not (project.root / "ckpts").exists()


def test_with_a_directory_remote_every_test_passes(project):
    env = consumer(project)
    result = pytest_in(project.root, env)
    result.assert_outcomes(passed=ALL)
    # Warm now: a second run fetches nothing, even with downloads off.
    env["SKIP_CHECKPOINT_DOWNLOAD"] = "true"
    pytest_in(project.root, env).assert_outcomes(passed=ALL)


@pytest.mark.slow  # the directory remote case runs by default
def test_with_the_checkpoints_on_the_hub_every_test_passes(hub_project):
    env = consumer(hub_project)
    pytest_in(hub_project.root, env, "-n", "2").assert_outcomes(passed=ALL)
    assert hub_project.local_hub.requests(kind="resolve", method="GET")


def test_training_script_run_from_elsewhere_resolves_names_and_paths(project, tmp_path):
    env = consumer(project) | {"PYTHONPATH": str(project.root)}
    train = [sys.executable, str(project.root / "src" / "train_vae.py")]
    mine = tmp_path / "runs" / "last.ckpt"
    mine.parent.mkdir()
    mine.write_bytes(b"weights")

    result = run(
        [*train, "ckpt_path=mp_20_vae", "vae=${hub:alex_mp_20_vae}"], cwd=Path("/"), env=env
    )
    assert result.stdout.splitlines() == [
        f"ckpt_path={project.root}/ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt",
        f"vae={project.root}/ckpts/alex_mp_20/vae/dng_j1jgz9t0_v1.ckpt",
    ]
    assert (project.root / "ckpts/alex_mp_20/vae/dng_j1jgz9t0_v1.ckpt").is_file()

    result = run([*train, "ckpt_path=runs/last.ckpt"], cwd=tmp_path, env=env)
    assert result.stdout.splitlines() == ["ckpt_path=runs/last.ckpt"]

    result = run([*train, "ckpt_path=alex_mp_20"], cwd=tmp_path, env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        "ckpt.errors.UnknownCheckpoint: 'alex_mp_20' is neither a checkpoint file (no file at "
        f"{tmp_path}/alex_mp_20) nor a checkpoint name in {project.root}/dvc.yaml. Did you mean "
        "'alex_mp_20_"
    )
