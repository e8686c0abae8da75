"""Stand-in checkpoints: reproducible bytes, Lightning-shaped contents, safe writes."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from ckpt_devtools.standins import MIN_SIZE, make_standins, parse_size

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
LDM = "ckpts/mp_20/ldm/ldm_rl_dng_xxq3a0mn.ckpt"
LIGHTNING_KEYS = {"state_dict", "hyper_parameters", "epoch", "global_step"}
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_checkpoints.py"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512", 512),
        ("300k", 300_000),
        ("2MB", 2_000_000),
        ("2 mb", 2_000_000),
        ("1.5GiB", 1_610_612_736),
        ("64KiB", 65_536),
        ("3Mi", 3 * 2**20),
        (" 10B ", 10),
        (4096, 4096),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MB", "2XB", "-5", "1.2.3", "5i", "2 GB extra"])
def test_parse_size_rejects_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"KiB/MiB"):
        parse_size(text)


def test_pickle_format_is_reproducible_and_distinct_per_path(tmp_path):
    a = make_standins(tmp_path / "a", [VAE, LDM, VAE], "64KiB", fmt="pickle")
    b = make_standins(tmp_path / "b", [VAE, LDM], "64KiB", fmt="pickle")
    assert len(a) == 2, "duplicate paths are written once"
    assert [md5(p) for p in a] == [md5(p) for p in b]
    assert md5(a[0]) != md5(a[1])
    other_seed = make_standins(tmp_path / "c", [VAE], "64KiB", seed=1, fmt="pickle")
    assert md5(other_seed[0]) != md5(a[0])


def test_pickle_format_has_the_lightning_keys_and_size(tmp_path):
    (path,) = make_standins(tmp_path, [LDM], "200k", fmt="pickle")
    assert path == tmp_path / "ckpts" / "mp_20" / "ldm" / "ldm_rl_dng_xxq3a0mn.ckpt"
    assert abs(path.stat().st_size - 200_000) < 0.05 * 200_000
    contents = pickle.loads(path.read_bytes())
    assert contents.keys() >= LIGHTNING_KEYS
    assert contents["state_dict"] and all(
        isinstance(v, bytes) for v in contents["state_dict"].values()
    )
    assert contents["hyper_parameters"]["model"] == "ldm"
    assert isinstance(contents["epoch"], int) and isinstance(contents["global_step"], int)


def test_rerun_is_a_no_op_and_leaves_no_temporary_files(tmp_path):
    (path,) = make_standins(tmp_path, [VAE], MIN_SIZE, fmt="pickle")
    before = path.stat()
    make_standins(tmp_path, [VAE], MIN_SIZE, fmt="pickle")
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_different_existing_file_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / VAE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"a real checkpoint")
    with pytest.raises(FileExistsError, match="left untouched"):
        make_standins(tmp_path, [VAE], MIN_SIZE, fmt="pickle")
    assert target.read_bytes() == b"a real checkpoint"
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    make_standins(tmp_path, [VAE], MIN_SIZE, fmt="pickle", overwrite=True)
    assert pickle.loads(target.read_bytes())["hyper_parameters"]["standin"] is True


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        make_standins(tmp_path, [VAE], MIN_SIZE - 1, fmt="pickle")
    with pytest.raises(ValueError, match="fmt"):
        make_standins(tmp_path, [VAE], MIN_SIZE, fmt="safetensors")  # type: ignore[arg-type]
    for escaping in ("../outside.ckpt", "/etc/outside.ckpt", ""):
        with pytest.raises(ValueError, match="relative path"):
            make_standins(tmp_path / "root", [escaping], MIN_SIZE, fmt="pickle")
    assert not (tmp_path / "ckpts").exists()


def test_without_torch_the_default_format_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail as if absent
    with pytest.raises(ImportError, match=r"torch is needed.*fmt='pickle'"):
        make_standins(tmp_path, [VAE], MIN_SIZE)
    assert not (tmp_path / "ckpts").exists()


def test_torch_format_is_a_weights_only_loadable_lightning_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    vae, ldm = make_standins(tmp_path, [VAE, LDM], "1MB")
    for path, kind in ((vae, "vae"), (ldm, "ldm")):
        assert abs(path.stat().st_size - 1_000_000) < 50_000
        ckpt = torch.load(path, weights_only=True, mmap=True)
        assert ckpt.keys() >= LIGHTNING_KEYS
        assert ckpt["hyper_parameters"]["model"] == kind
        tensors = ckpt["state_dict"].values()
        assert all(t.dtype == torch.float32 for t in tensors)
        assert sum(t.numel() for t in tensors) * 4 > 0.95 * 1_000_000
    vae_keys = torch.load(vae, weights_only=True)["state_dict"].keys()
    assert any(".encoder." in k for k in vae_keys) and any(".decoder." in k for k in vae_keys)


def test_torch_format_bytes_are_the_same_in_another_process(tmp_path):
    pytest.importorskip("torch")
    (here,) = make_standins(tmp_path / "here", [VAE], "256k", seed=7)
    # A fresh interpreter (new hash seed, new allocator state) through the script must agree.
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / "dvc.yaml").write_text(f"artifacts:\n  mp_20_vae:\n    path: {VAE}\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--size", "256k", "--seed", "7"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert VAE in done.stdout
    assert md5(repo / VAE) == md5(here)


def test_script_reports_an_unknown_name_with_the_closest_match(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / "dvc.yaml").write_text(f"artifacts:\n  mp_20_vae:\n    path: {VAE}\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--format", "pickle", "mp_20_vea"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "mp_20_vae" in done.stderr
    assert not (repo / "ckpts").exists()
