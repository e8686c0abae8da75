"""Stand-in checkpoints: deterministic, Lightning-shaped files for where the real ones cannot go.

The real Chemeleon2 checkpoints cannot be fetched in CI or in the demo, so tests and the publish path
run on stand-ins that have the same structure (``state_dict``, ``hyper_parameters``, ``epoch``,
``global_step``, ...) at a chosen size. Every byte is a function of (seed, relative path), so DVC
records the same md5 on every run and machine:

- tensor values come from ``random.Random(f"{seed}:{relpath}")`` (Mersenne Twister, specified by
  Python and seeded from a string via SHA-512, so platform-independent), as int8 scaled to float32;
  torch's own RNG is avoided because its vectorised CPU kernels are not promised to agree across
  machines or versions;
- ``torch.save`` writes zip entries with a fixed 1980 timestamp and a content-derived
  serialization id, and names the archive ``archive/`` when given a file object (given a path it
  would use the file's stem, so the temporary name would leak into the bytes).

Two formats:

- ``fmt="torch"`` (the default) needs torch and writes what ``torch.save`` writes for a Lightning
  checkpoint, loadable with ``torch.load(weights_only=True)``.
- ``fmt="pickle"`` needs nothing: a plain pickle (protocol 4) of the same keys with ``bytes`` in
  place of tensors. It exists for tests of the storage path (DVC, remotes) on machines without
  torch; it is not a torch checkpoint and ``load_checkpoint`` will not open it.
"""

from __future__ import annotations

import filecmp
import math
import os
import pickle
import random
import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

Format = Literal["torch", "pickle"]

# Below this the zip and pickle framing (a few KB) would dominate and "about size" would be a lie.
MIN_SIZE = 16 * 1024
_LAYERS = 4
# Stand-ins claim a real Lightning version so code that inspects the key keeps working.
_LIGHTNING_VERSION = "2.5.0"
_FRAMING = {"torch": (230, 2000), "pickle": (33, 400)}
_DEFAULT_MODE = 0o666  # narrowed by the umask, as for any file the user creates

_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i?))?b?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Bytes in ``text``: ``"300k"`` and ``"2MB"`` are decimal (SI), ``"1.5GiB"`` is binary (IEC).

    >>> parse_size("2MB"), parse_size("1.5GiB"), parse_size("300k"), parse_size("512")
    (2000000, 1610612736, 300000, 512)
    """
    if isinstance(text, int):
        return text
    m = _SIZE_RE.match(text)
    if m is None:
        raise ValueError(
            f"Cannot read {text!r} as a size. Use a number of bytes with an optional unit: "
            "k/M/G/T (powers of 1000, e.g. '300k', '2MB') or KiB/MiB/GiB/TiB (powers of 1024)."
        )
    number, unit, binary = m.groups()
    unit = (unit or "").lower()
    scale = 1024 ** "kmgt".index(unit) * 1024 if binary else _UNITS[unit]
    return round(float(number) * scale)


def make_standins(
    root: Path,
    relpaths: Iterable[str],
    size: int | str,
    *,
    seed: int = 0,
    fmt: Format = "torch",
    overwrite: bool = False,
) -> list[Path]:
    """Write one stand-in checkpoint of about ``size`` bytes per distinct path under ``root``.

    Returns the paths written, in input order. A file that already holds exactly the bytes this call
    would write is left alone (re-runs are no-ops); one holding anything else, perhaps a real
    checkpoint, is kept and FileExistsError raised unless ``overwrite`` is true. Each file is written
    to a temporary name beside it and moved into place, so a crash never leaves half a checkpoint.
    """
    size = parse_size(size)
    if size < MIN_SIZE:
        raise ValueError(
            f"size {size} is too small for a stand-in checkpoint; use at least {MIN_SIZE}."
        )
    if fmt not in ("torch", "pickle"):
        raise ValueError(f"fmt must be 'torch' or 'pickle', not {fmt!r}.")
    save = _torch_saver() if fmt == "torch" else _save_pickle
    written = []
    for relpath in dict.fromkeys(relpaths):
        parts = PurePosixPath(relpath).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise ValueError(f"{relpath!r} must be a relative path that stays inside {root}.")
        target = Path(root, *parts)
        _write_atomically(
            target, lambda f, r=relpath: save(_contents(r, size, seed, fmt), f), overwrite
        )
        written.append(target)
    return written


def _torch_saver() -> Callable[[dict[str, Any], IO[bytes]], None]:
    try:
        from torch import save
    except ImportError:
        raise ImportError(
            "torch is needed to produce real (torch.save) stand-in checkpoints and is not "
            "installed. Install it (pip install 'chemeleon2-ckpt[torch]'), or ask for "
            "fmt='pickle' (--format pickle) to get plain-pickle stand-ins that only tests of the "
            "storage path can use."
        ) from None
    return save


def _save_pickle(contents: dict[str, Any], f: IO[bytes]) -> None:
    pickle.dump(contents, f, protocol=4)


def _contents(relpath: str, size: int, seed: int, fmt: Format) -> dict[str, Any]:
    """The Lightning-style dict for one file; tensors (or bytes) sum to about ``size`` bytes."""
    rng = random.Random(f"{seed}:{relpath}")
    kind = "ldm" if "ldm" in PurePosixPath(relpath).parts else "vae"
    shapes = _layout(kind, size, fmt)
    if fmt == "torch":
        import torch

        def tensor(shape: tuple[int, ...]) -> Any:
            raw = bytearray(rng.randbytes(math.prod(shape)))
            return (torch.frombuffer(raw, dtype=torch.int8).float() / 64).reshape(shape)

    else:

        def tensor(shape: tuple[int, ...]) -> Any:
            return rng.randbytes(4 * math.prod(shape))

    state_dict = {key: tensor(shape) for key, shape in shapes.items()}
    width = shapes[next(iter(shapes))][1]
    epochs = rng.randrange(50, 500)
    return {
        "epoch": epochs,
        "global_step": epochs * rng.randrange(100, 1000),
        "pytorch-lightning_version": _LIGHTNING_VERSION,
        "state_dict": state_dict,
        "loops": {},
        "callbacks": {},
        "optimizer_states": [],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": {
            "model": kind,
            "hidden_dim": width,
            "num_layers": _LAYERS,
            "standin": True,
            "standin_seed": seed,
            "standin_source": relpath,
        },
    }


def _layout(kind: str, size: int, fmt: Format) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape: stacks of width-``h`` linear layers, plus a projection that takes
    up the remainder so the float32 total lands within a row of ``size`` minus framing."""
    blocks = ("denoiser",) if kind == "ldm" else ("encoder", "decoder")
    n_tensors = len(blocks) * (2 * _LAYERS + 2) + 1
    # Framing measured on torch 2.13 and pickle protocol 4: zip headers, 64-byte alignment and the
    # pickled key/shape per tensor, plus a fixed part; only "about size" is promised.
    per_tensor, fixed = _FRAMING[fmt]
    elements = (size - per_tensor * n_tensors - fixed) // 4
    h = max(1, math.isqrt(elements // (len(blocks) * _LAYERS)) - 1)
    shapes: dict[str, tuple[int, ...]] = {}
    for block in blocks:
        for i in range(_LAYERS):
            shapes[f"model.{block}.layers.{i}.weight"] = (h, h)
            shapes[f"model.{block}.layers.{i}.bias"] = (h,)
        shapes[f"model.{block}.norm.weight"] = (h,)
        shapes[f"model.{block}.norm.bias"] = (h,)
    rest = elements - sum(math.prod(s) for s in shapes.values())
    shapes[f"model.{blocks[-1]}.proj.weight"] = (max(1, rest // h), h)
    return shapes


def _write_atomically(target: Path, write: Callable[[IO[bytes]], None], overwrite: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _DEFAULT_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if target.exists() and not overwrite:
            if filecmp.cmp(tmp, target, shallow=False):
                return  # already this stand-in; leave the file (and its mtime) as it is
            raise FileExistsError(
                f"{target} exists and differs from the stand-in that would replace it (it may be "
                "a real checkpoint, or a stand-in of another size or seed). It was left untouched; "
                "delete it or pass overwrite=True (--force) to replace it."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
