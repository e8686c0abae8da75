"""Start-up hook, imported by the ``dvc_hf.pth`` file that the package installs.

DVC has no plugin entry point for filesystems (treeverse/dvc#10835): schemes live in
``dvc_objects.fs.known_implementations`` and ``dvc.config_schema.REMOTE_SCHEMAS`` (before dvc 3.64,
in the closure of ``SCHEMA["remote"]``). This module puts a finder on ``sys.meta_path`` that
patches those two modules (and wraps two dvc-data functions, see ``dvc_hf.seams``) right after
they are first imported, then removes itself. It imports nothing but ``sys`` so that every Python
start stays cheap; the patching code (``dvc_hf.registry``), which first checks the installed
versions (``dvc_hf.compat``), is imported only when dvc itself is being imported.
"""

import sys

# The scheme registries, and the dvc-data functions that bracket a push / gc (see seams.py).
_TARGETS = (
    "dvc_objects.fs",
    "dvc.config_schema",
    "dvc_data.hashfile.transfer",
    "dvc_data.hashfile.gc",
)


class _PatchAfterImport:
    """Meta-path finder: lets the real finders locate the targets, then patches them once loaded."""

    def __init__(self) -> None:
        self.pending = set(_TARGETS)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.pending:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None
        exec_module = spec.loader.exec_module

        def exec_then_patch(module):
            exec_module(module)
            self.patched(fullname, module)

        # Each spec carries its own loader instance, so this touches nothing else.
        spec.loader.exec_module = exec_then_patch
        return spec

    def patched(self, fullname, module) -> None:
        self.pending.discard(fullname)
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)
        _patch(fullname, module)


def _patch(fullname, module) -> None:
    try:
        from dvc_hf import registry

        registry.patch(fullname, module)
    except Exception as exc:  # never break the interpreter or dvc itself
        sys.stderr.write(
            f"dvc-hf: could not register the hf:// remote: {type(exc).__name__}: {exc}\n"
        )


def install() -> None:
    already = [name for name in _TARGETS if name in sys.modules]
    for name in already:
        _patch(name, sys.modules[name])
    if len(already) < len(_TARGETS) and not any(
        isinstance(f, _PatchAfterImport) for f in sys.meta_path
    ):
        finder = _PatchAfterImport()
        finder.pending.difference_update(already)
        sys.meta_path.insert(0, finder)


install()
