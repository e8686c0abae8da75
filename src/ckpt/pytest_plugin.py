"""pytest plugin (entry point ``pytest11``): markers, skip-when-missing, and checkpoint fixtures.

    @pytest.mark.requires_checkpoints("mp_20_vae")
    def test_vae(checkpoint_paths):
        vae = checkpoint_paths["mp_20_vae"]

A test whose checkpoints are missing and cannot be fetched (SKIP_CHECKPOINT_DOWNLOAD=true, no
remote, no token) is skipped with a reason naming them and the command that fetches them. So is a
test module whose import needs one (application code calling ``get_checkpoint`` at import time, as
in ``DEFAULT_VAE_CKPT_PATH = get_checkpoint(...)``): the whole module is skipped, like
``pytest.importorskip``, rather than reported as a collection error. A name that is not in the
registry, or a checkpoint whose bytes are wrong, is an error, never a skip.
Loading this plugin imports neither dvc nor huggingface_hub.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pytest

# Only the plugin's own marker: a plugin loaded into every consumer's test suite must not define
# generic names (smoke, slow, ...) there. This project's markers live in its pyproject.toml.
MARKERS = {
    "requires_checkpoints(*names, rev=None)": "needs these checkpoints (all in the registry if "
    "no names), as of git revision rev if given; skipped with the reason when they are missing "
    "and cannot be fetched",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):  # type: ignore[no-untyped-def]
    collector = yield
    if isinstance(collector, pytest.Module):
        # Module.collect() is where pytest imports the test module; a skip raised from it skips
        # the module (what pytest.skip(allow_module_level=True) does), anything else stays an error.
        collect = collector.collect
        rootpath = parent.config.rootpath

        def collect_or_skip():  # type: ignore[no-untyped-def]
            try:
                return collect()
            except Exception as exc:
                # Imported here: loading the plugin must stay cheap for every pytest run.
                from ckpt.errors import CheckpointSkipped, CheckpointUnavailable

                if not isinstance(exc, (CheckpointSkipped, CheckpointUnavailable)):
                    raise
                skip = pytest.skip.Exception(
                    _import_skip_reason(exc, rootpath), allow_module_level=True
                )
                raise skip.with_traceback(_up_to(exc.__traceback__, module_path)) from None

        collector.collect = collect_or_skip  # type: ignore[method-assign]
    return collector


def _up_to(tb: TracebackType | None, module_path: Path) -> TracebackType | None:
    """``tb`` cut after the test module's own frame, so pytest reports the skip at the module's
    import line (as for importorskip), and pytest-xdist, which merges skips reported at the same
    place, keeps one per module."""
    import types

    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    own = [i for i, e in enumerate(entries) if e.tb_frame.f_code.co_filename == str(module_path)]
    if not own:
        return None
    cut: TracebackType | None = None
    for entry in reversed(entries[: own[-1] + 1]):
        cut = types.TracebackType(cut, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return cut


def _import_skip_reason(exc: BaseException, rootpath: Path) -> str:
    """The loader's message (names, why, the fetch command) and the line that asked for them."""
    import os
    import traceback

    ckpt_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(("<", ckpt_dir))
    ]
    where = ""
    if frames:
        file = Path(frames[-1].filename)
        if file.is_relative_to(rootpath):
            file = file.relative_to(rootpath)
        where = f" (needed at import time by {file}:{frames[-1].lineno})"
    return f"checkpoints missing{where}: {' '.join(str(exc).split())}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("requires_checkpoints")
    if marker is None:
        return
    item.stash[_PATHS] = _resolve(marker.args, marker.kwargs.get("rev"))


def _resolve(names: tuple[str, ...], rev: str | None = None) -> dict[str, Path]:
    from ckpt.errors import CheckpointSkipped, CheckpointUnavailable
    from ckpt.loader import ensure, warm_path
    from ckpt.registry import find_repo_root, load_registry, lookup

    root = find_repo_root()
    if rev is not None:
        return _resolve_at(root, names, rev)
    registry = load_registry(root)
    artifacts = [lookup(registry, n) for n in names] if names else list(registry.values())
    paths = {a.name: warm_path(root, a) for a in artifacts}
    cold = [a for a in artifacts if paths[a.name] is None]
    if cold:
        try:
            fetched = ensure(root, cold)
        except (CheckpointSkipped, CheckpointUnavailable) as exc:
            missing = " ".join(a.name for a in cold)
            # Every remote's reason: the skip line is all a CI log shows of why.
            why = " ".join(line.strip() for line in str(exc).splitlines())
            raise _skip(
                f"checkpoints missing: {missing}. Fetch them with `ckpt pull {missing}` "
                f"(or `dvc pull ckpts`). [{why}]"
            ) from None
        paths.update({a.name: fetched[a.path] for a in cold})
    return paths  # type: ignore[return-value]


def _resolve_at(root: Path, names: tuple[str, ...], rev: str) -> dict[str, Path]:
    from ckpt import versions
    from ckpt.errors import CheckpointSkipped, CheckpointUnavailable
    from ckpt.revisions import read_revision

    revision = read_revision(root, rev)
    artifacts = [revision.lookup(n) for n in names] if names else list(revision.registry.values())
    paths = {a.name: versions.warm_copy(root, revision, a) for a in artifacts}
    cold = [a for a in artifacts if paths[a.name] is None]
    if cold:
        try:
            paths.update(versions.ensure(root, revision, cold))
        except (CheckpointSkipped, CheckpointUnavailable) as exc:
            missing = " ".join(a.name for a in cold)
            why = str(exc).splitlines()[0]
            raise _skip(
                f"checkpoints missing as of {revision.label}: {missing}. Fetch them with "
                f"`ckpt pull {missing} --rev {rev}`. [{why}]"
            ) from None
    return paths  # type: ignore[return-value]


def _skip(reason: str) -> BaseException:
    """A skip reported at the test, as for a ``skipif`` mark, not at this plugin's line: `-rs`
    then says which tests skipped, and pytest-xdist does not merge them into one line."""
    return pytest.skip.Exception(reason, _use_item_location=True)


_PATHS = pytest.StashKey[dict[str, Path]]()


@pytest.fixture
def checkpoint_paths(request: pytest.FixtureRequest) -> dict[str, Path]:
    """Name -> verified local path for the checkpoints named by the test's requires_checkpoints."""
    if request.node.get_closest_marker("requires_checkpoints") is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses checkpoint_paths without "
            "@pytest.mark.requires_checkpoints(...): name the checkpoints it needs."
        )
    return request.node.stash[_PATHS]
