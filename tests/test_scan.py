"""The pickle scan: crafted code-executing checkpoints are refused, real checkpoints pass."""

from __future__ import annotations

import builtins
import os
import pickle
import shlex
import subprocess
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest

from ckpt.errors import UnsafeCheckpoint
from ckpt.scan import LIGHTNING_GLOBALS, _is_allowed, scan_checkpoint
from ckpt_devtools.standins import make_standins

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


class Payload:
    """Unpickles to ``func(*args)``: how a malicious checkpoint runs code on load."""

    def __init__(self, func, *args):
        self.reduced = (func, args)

    def __reduce__(self):
        return self.reduced


def touch(marker: Path) -> Payload:
    return Payload(os.system, f"touch {shlex.quote(str(marker))}")


def lightning_like(payload: object) -> dict:
    return {"state_dict": {}, "epoch": 1, "global_step": 10, "hyper_parameters": payload}


def torch_zip(path: Path, data_pkl: bytes) -> Path:
    """A file laid out as torch.save writes it (stored zip under archive/), with this data.pkl."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/.format_version", "1")
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return path


def global_pickle(*dotted: str) -> bytes:
    """A protocol-2 pickle of a list of instances of the classes ``dotted`` (never unpickled)."""
    items = b"".join(b"c%s\n%s\n)\x81" % tuple(n.encode().rsplit(b".", 1)) for n in dotted)
    return b"\x80\x02](" + items + b"e."


def test_the_crafted_payload_really_runs_code_when_unpickled(tmp_path):
    # Guards the tests below: if this payload were inert, refusing it would prove nothing.
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(lightning_like(touch(marker)), protocol=2))
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4], ids=["GLOBAL", "STACK_GLOBAL"])
@pytest.mark.parametrize("container", ["torch-zip", "plain-pickle"])
def test_os_system_is_refused_naming_the_global(tmp_path, protocol, container):
    marker = tmp_path / "pwned"
    data = pickle.dumps(lightning_like(touch(marker)), protocol=protocol)
    path = tmp_path / "model.ckpt"
    if container == "torch-zip":
        torch_zip(path, data)
    else:
        path.write_bytes(data)
    with pytest.raises(UnsafeCheckpoint) as info:
        scan_checkpoint(path)
    message = str(info.value)
    assert f"{os.system.__module__}.system" in message  # posix.system on Linux
    assert str(path) in message
    assert "Nothing was loaded" in message
    assert isinstance(info.value, ValueError)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (Payload(builtins.eval, "1 + 1"), "builtins.eval"),
        (Payload(subprocess.call, ["true"]), "subprocess.call"),
        (Payload(getattr, "text", "upper"), "builtins.getattr"),
    ],
    ids=["eval", "subprocess", "getattr"],
)
def test_other_dangerous_globals_are_refused(tmp_path, payload, named):
    path = torch_zip(tmp_path / "model.ckpt", pickle.dumps(lightning_like(payload), protocol=4))
    with pytest.raises(UnsafeCheckpoint, match=named.replace(".", r"\.")):
        scan_checkpoint(path)


def python2_alias_pickle(module: str, name: str, arg: bytes) -> bytes:
    """A protocol-2 pickle calling ``module.name(arg)`` under its Python 2 name."""
    call = b"c%s\n%s\nB%s%s\x85R." % (
        module.encode(),
        name.encode(),
        len(arg).to_bytes(4, "little"),
        arg,
    )
    return b"\x80\x02" + call


def test_a_python2_alias_of_a_dangerous_global_is_refused(tmp_path):
    # pickle (and torch) map cPickle -> pickle in protocol 0-2 files, so this unpickles a nested
    # pickle that the scan never sees; picklescan alone judges "cPickle.loads" merely unknown.
    marker = tmp_path / "pwned"
    data = python2_alias_pickle("cPickle", "loads", pickle.dumps(touch(marker), protocol=2))
    pickle.loads(data)
    assert marker.exists(), "the crafted alias payload must be live for this test to mean anything"
    marker.unlink()
    path = torch_zip(tmp_path / "model.ckpt", data)
    with pytest.raises(UnsafeCheckpoint, match=r"references pickle\.loads"):
        scan_checkpoint(path)
    assert not marker.exists()


def test_python2_builtin_names_are_reported_as_imported(tmp_path):
    data = b"\x80\x02c__builtin__\nlong\n)\x81."
    report = scan_checkpoint(torch_zip(tmp_path / "model.ckpt", data))
    assert report.allowed == {"builtins.int"}


def test_dangerous_is_refused_even_beside_allowed_globals(tmp_path):
    payload = {"state_dict": OrderedDict(), "hyper_parameters": touch(tmp_path / "pwned")}
    path = torch_zip(tmp_path / "model.ckpt", pickle.dumps(payload, protocol=2))
    with pytest.raises(UnsafeCheckpoint, match=r"posix\.system|nt\.system") as info:
        scan_checkpoint(path)
    assert "OrderedDict" not in str(info.value)


def test_plain_pickle_standin_passes_with_no_globals(tmp_path):
    (path,) = make_standins(tmp_path, [VAE], "64k", fmt="pickle")
    report = scan_checkpoint(path)
    assert report.path == path
    assert report.allowed == report.unknown == frozenset()


def test_torch_standin_passes_with_only_torch_globals(tmp_path):
    pytest.importorskip("torch")
    (path,) = make_standins(tmp_path, [VAE], "64k")
    report = scan_checkpoint(path)
    assert "torch._utils._rebuild_tensor_v2" in report.allowed
    assert "torch.FloatStorage" in report.allowed
    assert report.unknown == frozenset()


@pytest.mark.parametrize("container", ["torch-zip", "plain-pickle"])
def test_lightning_and_omegaconf_globals_are_allowed(tmp_path, container):
    # Lightning and omegaconf are not installed: the pickle only names their classes, which is
    # all the scan reads.
    names = [n for n in LIGHTNING_GLOBALS if not n.startswith("builtins.")]
    data = global_pickle(*names)
    path = tmp_path / "model.ckpt"
    if container == "torch-zip":
        torch_zip(path, data)
    else:
        path.write_bytes(data)
    report = scan_checkpoint(path, strict=True)
    assert report.allowed == frozenset(names)
    assert report.unknown == frozenset()


def test_unknown_globals_are_reported_and_refused_when_strict(tmp_path):
    path = torch_zip(tmp_path / "model.ckpt", global_pickle("mylab.configs.TrainConfig"))
    report = scan_checkpoint(path)
    assert report.unknown == {"mylab.configs.TrainConfig"}
    with pytest.raises(UnsafeCheckpoint, match=r"strict.*mylab\.configs\.TrainConfig"):
        scan_checkpoint(path, strict=True)


def test_malformed_pickle_after_a_global_is_refused(tmp_path):
    # (picklescan reports parse errors for pickles inside a zip; a bare pickle that breaks off
    # is simply scanned up to the break, which is as far as pickle itself would get.)
    broken = global_pickle("mylab.configs.TrainConfig")[:-2] + b"\xff\xfe"
    path = torch_zip(tmp_path / "model.ckpt", broken)
    with pytest.raises(UnsafeCheckpoint, match="malformed"):
        scan_checkpoint(path)


def test_missing_file_is_not_reported_as_unsafe(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_checkpoint(tmp_path / "absent.ckpt")


def test_every_global_torch_allows_by_default_is_classed_allowed():
    # The scan names torch's weights_only allowlist without importing torch; catch drift.
    torch_unpickler = pytest.importorskip("torch._weights_only_unpickler")
    allowed = getattr(torch_unpickler, "_get_allowed_globals", None)
    if allowed is None:
        pytest.skip("this torch has no _get_allowed_globals to compare with")
    assert sorted(n for n in allowed() if not _is_allowed(n)) == []
