"""The pytest plugin turns a checkpoint that a test module needs at import time, and that cannot be
fetched, into a skip of that module; in a real pytest subprocess, under --strict-markers."""

from __future__ import annotations

import shutil

import pytest

# Application code with an import-time lookup (Chemeleon2's src/paths.py).
APP = """\
from ckpt import get_checkpoint

DEFAULT_VAE = get_checkpoint("mp_20_vae")
"""
NEEDS_IT = """\
import pytest

from app_paths import DEFAULT_VAE


@pytest.mark.smoke
def test_vae():
    assert DEFAULT_VAE.stat().st_size > 0
"""
INDEPENDENT = "def test_plain():\n    pass\n"


@pytest.fixture
def run(project, pytester):
    pytester.makepyfile(app_paths=APP, test_needs_it=NEEDS_IT, test_independent=INDEPENDENT)
    # The project declares its own markers, as Chemeleon2 does in its pyproject.toml.
    pytester.makeini("[pytest]\nmarkers =\n    smoke: quick checks\n")

    def run(*args):
        return pytester.runpytest_subprocess(
            "-rs", "-p", "no:cacheprovider", "--strict-markers", *args
        )

    return run


@pytest.mark.parametrize(
    "xdist", [[], pytest.param(["-n", "2"], marks=pytest.mark.slow)], ids=["serial", "xdist"]
)
def test_skip_download_skips_the_module_with_the_fetch_command(run, monkeypatch, xdist):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    result = run(*xdist)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [1] test_needs_it.py:3: checkpoints missing (needed at import time by "
            "app_paths.py:3): Checkpoint(s) mp_20_vae not present and SKIP_CHECKPOINT_DOWNLOAD is "
            "set, so nothing was fetched. Unset it and run `ckpt pull mp_20_vae`."
        ]
    )


def test_unreachable_remote_skips_the_module_too(run, project):
    shutil.rmtree(project.remote)
    result = run()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*test_needs_it.py:3: checkpoints missing*Could not fetch*"]
    )


def test_fetchable_checkpoint_is_fetched_at_import(run, project):
    run().assert_outcomes(passed=2)
    assert (project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").is_file()


def test_unknown_name_at_import_stays_a_collection_error(run, pytester, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    pytester.makepyfile(app_paths=APP.replace("mp_20_vae", "mp_20_vea"))
    result = run()
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*CheckpointNotFound*Did you mean 'mp_20_vae'?*"])


def test_other_import_errors_are_untouched(run, pytester):
    pytester.makepyfile(test_broken="import not_a_module_anywhere\n")
    pytester.makepyfile(test_skips="import pytest\npytest.importorskip('not_a_module_either')\n")
    result = run("--continue-on-collection-errors")
    result.assert_outcomes(passed=2, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*ModuleNotFoundError*not_a_module_anywhere*"])
