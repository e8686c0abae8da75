"""Scan a checkpoint's pickles before anything unpickles it.

The scanning is picklescan's (a maintained scanner that reads the opcodes without executing them,
understands torch's zip format and plain pickles, and keeps a list of dangerous globals); this
module only sorts what it finds into three groups:

- dangerous (picklescan's list: ``os.system``, ``builtins.eval``, ``subprocess.*``, ...) or not
  parseable: always refused with UnsafeCheckpoint, whatever the caller asks;
- allowed: the globals ``torch.load(weights_only=True)`` accepts by itself plus
  ``LIGHTNING_GLOBALS``, the Lightning/omegaconf classes a Lightning checkpoint legitimately holds
  (and which ``ckpt.torch_load`` adds to torch's allowlist);
- unknown: everything else. Reported, and refused only with ``strict=True``: an unknown global is
  not known to be harmful, and ``load_checkpoint`` will not unpickle it anyway, because
  ``weights_only=True`` refuses any global outside its allowlist.

torch is not imported here: ``ckpt verify --scan`` works without it.
"""

from __future__ import annotations

import os
import re
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from dataclasses import dataclass
from pathlib import Path

from ckpt.errors import UnsafeCheckpoint

# Non-torch globals that real Lightning checkpoints contain: omegaconf containers (Hydra configs
# saved by save_hyperparameters; checked against omegaconf 2.3), the types their metadata refers
# to, and AttributeDict. Kept explicit: each entry widens what load_checkpoint will unpickle.
# (AttributeDict is a dict subclass, which torch 2.13's weights-only unpickler cannot fill in;
# Lightning saves hyper_parameters as a plain dict, so it only matters for nested copies.)
LIGHTNING_GLOBALS: tuple[str, ...] = (
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning.pytorch.utilities.parsing.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "lightning.fabric.utilities.data.AttributeDict",
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.base.UnionNode",
    "omegaconf.nodes.AnyNode",
    "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode",
    "omegaconf.nodes.BooleanNode",
    "omegaconf.nodes.BytesNode",
    "omegaconf.nodes.PathNode",
    "collections.defaultdict",
    "typing.Any",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.frozenset",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "builtins.bool",
    "builtins.bytes",
    "builtins.object",
)

# What torch.load(weights_only=True) allows with no help (torch._weights_only_unpickler's
# _get_allowed_globals), as names so that torch need not be imported; tests check it against torch.
_TORCH_EXACT = frozenset(
    {
        "_codecs.encode",
        "builtins.bytearray",
        "builtins.complex",
        "builtins.set",
        "collections.Counter",
        "collections.OrderedDict",
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch._tensor._rebuild_from_type_v2",
        "torch.storage.TypedStorage",
        "torch.storage.UntypedStorage",
    }
)
_TORCH_PATTERN = re.compile(
    r"torch\._utils\._rebuild_\w+"
    r"|torch\.(cuda\.)?(sparse\.)?[A-Z]\w*(Storage|Tensor)"
    r"|torch\.(u?int\d+|float\w+|bfloat16|complex\d+|bool|bits\w+|qu?int\w+|per_\w+)"
)
_ALLOWED = _TORCH_EXACT | frozenset(LIGHTNING_GLOBALS)


@dataclass(frozen=True)
class ScanReport:
    """What a scan that passed found: globals by dotted name (``module.name``)."""

    path: Path
    allowed: frozenset[str]
    unknown: frozenset[str]


def scan_checkpoint(path: str | os.PathLike[str], *, strict: bool = False) -> ScanReport:
    """Scan ``path`` (torch zip, legacy torch or plain pickle) without unpickling it.

    Raises UnsafeCheckpoint, naming the globals, when it references a dangerous one, cannot be
    fully parsed, or (with ``strict``) references any global outside the allowed set. Returns the
    report otherwise. FileNotFoundError and other OSErrors from opening the file pass through.
    """
    from picklescan.scanner import SafetyLevel, scan_bytes

    path = Path(path)
    with open(path, "rb") as f:
        try:
            # Always the torch route: it handles zip and legacy torch files, and falls back to a
            # plain-pickle scan when the torch magic number is absent.
            result = scan_bytes(f, str(path), ".pt")
        except Exception as exc:  # the scanner's failure must not let the file through
            raise UnsafeCheckpoint(
                f"{path} could not be scanned for unsafe pickle content ({exc}). It was not "
                "loaded. If it should be a checkpoint, fetch it again; otherwise delete it."
            ) from exc

    dangerous: set[str] = set()
    found: set[str] = set()
    for g in result.globals:
        module, attr = _as_imported(g.module, g.name)
        name = f"{module}.{attr}"
        found.add(name)
        if g.safety is SafetyLevel.Dangerous or _dangerous(module, attr):
            dangerous.add(name)
    if dangerous:
        raise UnsafeCheckpoint(
            f"Refusing {path}: its pickle references {_listing(dangerous)}, which can run "
            "arbitrary code when the file is unpickled. Nothing was loaded. Do not open it with "
            "torch.load(weights_only=False); delete it and fetch the checkpoint again "
            "(ckpt pull NAME), or ask whoever published it."
        )
    if result.scan_err:
        raise UnsafeCheckpoint(
            f"Refusing {path}: its pickle data is malformed, so it cannot be checked (globals "
            f"seen before the error: {_listing(found) or 'none'}). Nothing was loaded; delete it "
            "and fetch the checkpoint again (ckpt pull NAME)."
        )
    unknown = {name for name in found if not _is_allowed(name)}
    if strict and unknown:
        raise UnsafeCheckpoint(
            f"Refusing {path} (strict scan): its pickle references {_listing(unknown)}, which "
            "is neither in torch's weights_only allowlist nor in ckpt.scan.LIGHTNING_GLOBALS. "
            "Nothing was loaded. If the publisher is trusted and the class is harmless, save the "
            "checkpoint without it (e.g. plain dicts in hyper_parameters)."
        )
    return ScanReport(path, frozenset(found - unknown), frozenset(unknown))


def _as_imported(module: str, name: str) -> tuple[str, str]:
    """The global that unpickling actually imports. Protocol 0-2 pickles (torch.save writes 2) use
    Python 2 names, which pickle and torch map the same way: ``__builtin__.long`` is
    ``builtins.int`` and ``cPickle.loads`` is ``pickle.loads``."""
    if (module, name) in NAME_MAPPING:
        return NAME_MAPPING[(module, name)]
    return IMPORT_MAPPING.get(module, module), name


def _dangerous(module: str, name: str) -> bool:
    """picklescan's verdict on the mapped name too: it judges names as written, so a Python 2
    alias such as ``cPickle.loads`` would otherwise pass as merely unknown."""
    from picklescan.scanner import SafetyLevel, _build_scan_result_from_raw_globals

    verdict = _build_scan_result_from_raw_globals({(module, name)}, "")
    return any(g.safety is SafetyLevel.Dangerous for g in verdict.globals)


def _is_allowed(name: str) -> bool:
    return name in _ALLOWED or _TORCH_PATTERN.fullmatch(name) is not None


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names))
