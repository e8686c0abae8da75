"""What every published checkpoint must contain: a Lightning checkpoint that loads safely.

These need the real checkpoints: they skip, naming the fetch command, where those are missing and
cannot be fetched (as in CI without the token). Each file goes through ``load_checkpoint``, so it is
scanned for unsafe pickles and loaded with ``weights_only=True`` like any user would load it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ckpt.torch_load import load_checkpoint

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.baseline

VAES = ["mp_20_vae", "alex_mp_20_vae"]
LDMS = ["mp_20_ldm_base", "alex_mp_20_ldm_base", "mp_20_ldm_rl", "alex_mp_20_ldm_rl"]
# The original plan's names and the entries they stand for.
ALIASES = {"mp_20_ldm": "mp_20_ldm_rl", "alex_mp_20_ldm": "alex_mp_20_ldm_rl"}


def needs(*names: str):
    return pytest.param(*names, marks=pytest.mark.requires_checkpoints(*names), id="-".join(names))


@pytest.mark.parametrize("name", [needs(n) for n in VAES + LDMS])
def test_checkpoint_is_a_complete_lightning_checkpoint(name, checkpoint_paths):
    ckpt = load_checkpoint(checkpoint_paths[name])
    assert isinstance(ckpt, Mapping), f"{name}: top level is {type(ckpt).__name__}, not a dict"

    state_dict = ckpt.get("state_dict")
    assert isinstance(state_dict, Mapping) and state_dict, f"{name}: state_dict missing or empty"
    not_tensors = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    assert not not_tensors, f"{name}: state_dict entries that are not tensors: {not_tensors[:5]}"
    floats = {k: v for k, v in state_dict.items() if v.is_floating_point()}
    assert floats, f"{name}: state_dict holds no floating-point weights"
    not_finite = [k for k, v in floats.items() if not torch.isfinite(v).all()]
    assert not not_finite, f"{name}: weights with NaN or inf: {not_finite[:5]}"

    assert isinstance(ckpt.get("hyper_parameters"), Mapping), f"{name}: hyper_parameters missing"
    for key in ("epoch", "global_step"):
        value = ckpt.get(key)
        assert type(value) is int and value >= 0, f"{name}: {key} is {value!r}, not an int >= 0"
    assert isinstance(ckpt.get("pytorch-lightning_version"), str)


@pytest.mark.parametrize(("alias", "target"), [needs(a, t) for a, t in ALIASES.items()])
def test_original_names_are_the_rl_checkpoints(alias, target, checkpoint_paths):
    assert checkpoint_paths[alias] == checkpoint_paths[target]
