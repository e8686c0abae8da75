"""load_checkpoint: scan first, then torch.load(weights_only=True, mmap=True) with a narrow allowlist."""

from __future__ import annotations

import os
import pickle
import shlex
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from ckpt.errors import CheckpointNotFound, UnsafeCheckpoint
from ckpt.torch_load import load_checkpoint
from ckpt_devtools.standins import make_standins

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
LDM = "ckpts/mp_20/ldm/ldm_rl_dng_xxq3a0mn.ckpt"


class Touch:
    """Unpickles to ``os.system("touch MARKER")``: a checkpoint that runs code when loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_loads_a_standin_by_path(tmp_path, torch):
    (path,) = make_standins(tmp_path, [VAE], "128k")
    ckpt = load_checkpoint(path)
    assert ckpt.keys() >= {"state_dict", "hyper_parameters", "epoch", "global_step"}
    assert all(isinstance(t, torch.Tensor) for t in ckpt["state_dict"].values())
    assert all(t.device.type == "cpu" for t in ckpt["state_dict"].values())
    # a str that contains a '.' is a path too
    assert load_checkpoint(str(path))["epoch"] == ckpt["epoch"]


def test_loads_a_registry_name_through_get_checkpoint(tmp_path, torch, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "dvc.yaml").write_text(f"artifacts:\n  mp_20_vae:\n    path: {VAE}\n")
    make_standins(repo, [VAE], "64k")
    dvc = str(Path(sys.executable).with_name("dvc"))
    for args in (["init", "--no-scm", "-q"], ["add", "-q", "ckpts"]):
        subprocess.run([dvc, *args], cwd=repo, check=True, capture_output=True)
    monkeypatch.setenv("CKPT_REPO", str(repo))
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")  # present and verified: no fetch
    ckpt = load_checkpoint("mp_20_vae")
    assert ckpt["hyper_parameters"]["standin_source"] == VAE
    with pytest.raises(CheckpointNotFound, match="mp_20_vae"):
        load_checkpoint("mp_20_vea")


def test_a_checkpoint_that_runs_os_system_is_refused_before_torch_sees_it(tmp_path, torch):
    marker = tmp_path / "pwned"
    (path,) = make_standins(tmp_path, [VAE], "64k")
    legit = zipfile.ZipFile(path)
    evil = tmp_path / "evil.ckpt"
    with zipfile.ZipFile(evil, "w") as out:  # a real torch.save file with its data.pkl swapped
        for info in legit.infolist():
            data = legit.read(info)
            if info.filename.endswith("/data.pkl"):
                data = pickle.dumps(
                    {"state_dict": {}, "hyper_parameters": Touch(marker)}, protocol=2
                )
            out.writestr(info, data)
    with pytest.raises(UnsafeCheckpoint, match=rf"{os.system.__module__}\.system") as info:
        load_checkpoint(evil)
    assert str(evil) in str(info.value)
    assert not marker.exists()


def test_an_unknown_global_is_refused_by_torch_with_its_name(tmp_path, torch):
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": defaultdict(int, lr=1)}, path)
    with pytest.raises(UnsafeCheckpoint, match=r"collections\.defaultdict") as info:
        load_checkpoint(path)
    assert "weights_only=True" in str(info.value)


def test_omegaconf_hyper_parameters_load_through_the_allowlist(tmp_path, torch):
    # omegaconf comes with DVC (through hydra-core); Lightning stores Hydra configs like this.
    omegaconf = pytest.importorskip("omegaconf")
    config = omegaconf.OmegaConf.create(
        {"model": {"hidden_dim": 8, "layers": [64, 64]}, "lr": 1e-3, "name": "vae", "ema": None}
    )
    path = tmp_path / "hydra.ckpt"
    torch.save(
        {
            "state_dict": {"w": torch.ones(3)},
            "hyper_parameters": config,
            "hyper_parameters_type": omegaconf.DictConfig,
            "epoch": 3,
            "global_step": 30,
        },
        path,
    )
    # torch alone refuses the file: the allowlist is what makes it loadable.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    ckpt = load_checkpoint(path)
    assert isinstance(ckpt["hyper_parameters"], omegaconf.DictConfig)
    assert ckpt["hyper_parameters"] == config
    assert ckpt["hyper_parameters_type"] is omegaconf.DictConfig
    # the allowlist was scoped to that call, not left in torch's global state
    assert omegaconf.DictConfig not in torch.serialization.get_safe_globals()


def test_without_torch_the_error_says_what_to_install(tmp_path, monkeypatch):
    (path,) = make_standins(tmp_path, [VAE], "64k", fmt="pickle")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail as if absent
    with pytest.raises(ImportError, match=r"torch is needed to load .*pip install"):
        load_checkpoint(path)


def test_a_dangerous_file_is_refused_even_without_torch(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"hyper_parameters": Touch(marker)}))
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(UnsafeCheckpoint, match=rf"{os.system.__module__}\.system"):
        load_checkpoint(path)
    assert not marker.exists()
