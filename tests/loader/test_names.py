"""checkpoint_path and resolve_checkpoint_path, and finding the checkout from outside it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers.project import run

from ckpt import (
    CheckpointNotFound,
    CkptError,
    UnknownCheckpoint,
    checkpoint_path,
    get_checkpoint,
    resolve_checkpoint_path,
)

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


def test_checkpoint_path_is_absolute_and_fetches_nothing(project, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    path = checkpoint_path("mp_20_vae")
    assert path == project.root / VAE
    assert path.is_absolute()
    assert not path.exists()
    assert not (project.root / ".dvc" / "tmp" / "ckpt").exists()  # no lock, no stamp


def test_checkpoint_path_of_an_unknown_name(project):
    with pytest.raises(CheckpointNotFound, match="Did you mean 'mp_20_vae'"):
        checkpoint_path("mp_20_vea")


def test_checkpoint_path_imports_neither_dvc_nor_the_hub_client(project):
    code = (
        "import sys, ckpt\n"
        "print(ckpt.checkpoint_path('mp_20_vae'))\n"
        "print(sorted(m for m in ('dvc', 'huggingface_hub', 'torch') if m in sys.modules))\n"
    )
    result = project.python(code, check=True)
    assert result.stdout.splitlines() == [str(project.root / VAE), "[]"]


def test_existing_file_is_returned_as_given(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("last.ckpt").write_bytes(b"weights")
    assert resolve_checkpoint_path("last.ckpt") == Path("last.ckpt")
    assert resolve_checkpoint_path(Path("last.ckpt")) == Path("last.ckpt")
    assert not (project.root / "ckpts").exists()


def test_a_file_wins_over_a_name(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mp_20_vae").write_bytes(b"mine")
    assert resolve_checkpoint_path("mp_20_vae") == Path("mp_20_vae")


def test_a_name_is_fetched_and_verified(project):
    path = resolve_checkpoint_path("mp_20_vae")
    assert path == project.root / VAE
    assert path.is_file()
    assert get_checkpoint("mp_20_vae") == path


def test_a_name_as_path_like_works_too(project):
    class Named(os.PathLike):
        def __fspath__(self) -> str:
            return "mp_20_vae"

    assert resolve_checkpoint_path(Named()) == project.root / VAE


def test_part_of_a_name_is_not_a_name(project):
    with pytest.raises(UnknownCheckpoint) as info:
        resolve_checkpoint_path("mp_20")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, CkptError)
    message = str(info.value)
    assert message.startswith("'mp_20' is neither a checkpoint file (no file at ")
    assert "Did you mean 'mp_20_" in message
    assert "Available: alex_mp_20_ldm, alex_mp_20_ldm_base," in message
    assert not (project.root / "ckpts").exists()


def test_a_directory_is_not_a_checkpoint(project):
    (project.root / "ckpts" / "mp_20").mkdir(parents=True)
    with pytest.raises(UnknownCheckpoint, match=r"ckpts/mp_20 is a directory"):
        resolve_checkpoint_path(project.root / "ckpts" / "mp_20")


def test_no_registry_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CKPT_REPO", str(tmp_path))
    with pytest.raises(UnknownCheckpoint, match=r"'x.ckpt' is not a checkpoint file .*CKPT_REPO="):
        resolve_checkpoint_path("x.ckpt")


# Discovery: CKPT_REPO, then the working directory, then the calling code's location.
SCRIPT = """\
from omegaconf import OmegaConf
from ckpt import checkpoint_path, get_checkpoint, resolve_checkpoint_path
print(get_checkpoint("mp_20_vae"))
print(resolve_checkpoint_path("mp_20_vae"))
# Called by an installed library (omegaconf, as a resolver): the script calling it counts.
OmegaConf.register_new_resolver("hub", checkpoint_path)
print(OmegaConf.create({"vae": "${hub:alex_mp_20_vae}"}).vae)
"""


@pytest.fixture
def script(project):
    path = project.root / "scripts" / "x.py"
    path.parent.mkdir()
    path.write_text(SCRIPT)
    project.env.pop("CKPT_REPO")
    return path


def test_a_script_of_the_checkout_finds_it_from_any_working_directory(project, script, tmp_path):
    result = run([sys.executable, str(script)], cwd=Path("/"), env=project.env)
    assert result.stdout.splitlines() == [
        str(project.root / VAE),
        str(project.root / VAE),
        str(project.root / "ckpts/alex_mp_20/vae/dng_j1jgz9t0_v1.ckpt"),
    ]
    assert (project.root / VAE).is_file()


def test_the_working_directory_comes_before_the_code_location(project, script, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(project.root, other, symlinks=True, ignore=shutil.ignore_patterns("scripts"))
    code = "from ckpt import checkpoint_path; print(checkpoint_path('mp_20_vae'))"
    script.write_text(code)
    result = run([sys.executable, str(script)], cwd=other, env=project.env)
    assert result.stdout.strip() == str(other / VAE)
    env = project.env | {"CKPT_REPO": str(other)}
    result = run([sys.executable, str(script)], cwd=project.root, env=env)
    assert result.stdout.strip() == str(other / VAE)


def test_code_outside_every_checkout_is_told_where_it_looked(project, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("from ckpt import get_checkpoint\nget_checkpoint('mp_20_vae')\n")
    env = {k: v for k, v in project.env.items() if k != "CKPT_REPO"}
    result = run([sys.executable, str(outside)], cwd=tmp_path, env=env, check=False)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message == (
        "ckpt.errors.RegistryError: No checkpoint registry found: CKPT_REPO is not set, and "
        f"neither {tmp_path} nor the calling code's location ({tmp_path}) nor their parents hold "
        "dvc.yaml beside a .dvc/ directory. Run from inside the checkout, call from code that "
        "lives in it, or set CKPT_REPO to the checkout's root."
    )
