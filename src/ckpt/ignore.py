"""The generated ``.dvcignore`` section that keeps unregistered files under ``ckpts/`` out of DVC.

Research code writes its own checkpoints under ``ckpts/`` too (user-trained runs). DVC tracks the
directory as a whole, so without this section any such file would change ``ckpts.dvc`` on the next
``dvc add``, make ``dvc status`` report ``ckpts`` as modified, and be uploaded by ``dvc push``.

The section ignores everything under ``ckpts/`` and re-includes the registered paths. The
directories are re-included too (``!/ckpts/**/``): in gitignore semantics, which DVC follows, a
file cannot be re-included once its parent directory is excluded. ``ckpt publish`` and
``ckpt adopt`` rewrite the section from ``dvc.yaml``; lines outside it are the user's.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ckpt.registry import TRACKED_DIR

IGNORE_FILE = ".dvcignore"
BEGIN = (
    "# >>> ckpt: registered checkpoints (generated from dvc.yaml by `ckpt publish`; do not edit)"
)
END = "# <<< ckpt"
# Characters with a meaning in gitignore patterns, escaped so a path matches only itself.
_SPECIAL = re.compile(r"([\\*?\[\]!#])")


def section(paths: Iterable[str]) -> str:
    """The marked block for these registered paths (POSIX, relative to the repository root)."""
    lines = [BEGIN, f"/{TRACKED_DIR}/**", f"!/{TRACKED_DIR}/**/"]
    lines += [f"!/{_escape(p)}" for p in sorted(set(paths))]
    lines.append(END)
    return "\n".join(lines) + "\n"


def _escape(path: str) -> str:
    escaped = _SPECIAL.sub(r"\\\1", path)
    # A trailing space is dropped by gitignore parsing unless escaped.
    return escaped[:-1] + "\\ " if escaped.endswith(" ") else escaped


def render(current: str, paths: Iterable[str]) -> str:
    """``current`` with its ckpt section replaced by (or appended with) the one for ``paths``."""
    block = section(paths)
    lines = current.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if ln.rstrip("\n") == BEGIN]
    if starts:
        start = starts[0]
        end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip("\n") == END), None)
        if end is None:
            raise ValueError(
                f"{IGNORE_FILE} has the line '{BEGIN}' but not its closing '{END}': restore it "
                "from git, or delete the partial section and run the command again."
            )
        return "".join(lines[:start]) + block + "".join(lines[end + 1 :])
    if current and not current.endswith("\n"):
        current += "\n"
    return current + ("\n" if current.strip() else "") + block


def sync(root: Path, paths: Iterable[str]) -> bool:
    """Write the section for ``paths`` into ``root/.dvcignore``; True when the file changed."""
    file = root / IGNORE_FILE
    try:
        current = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    try:
        wanted = render(current, paths)
    except ValueError as exc:
        from ckpt.errors import RegistryError

        raise RegistryError(str(exc)) from None
    if wanted == current:
        return False
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".dvcignore.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(wanted)
    os.replace(tmp, file)
    return True


def unregistered(root: Path, paths: Iterable[str]) -> list[str]:
    """Files under ``ckpts/`` (POSIX, from the root) that no registry entry names.

    Hidden files (temp files of an interrupted copy, editor files) are ignored too, just not listed.
    """
    base = root / TRACKED_DIR
    expected = set(paths)
    if not base.is_dir():
        return []
    return sorted(
        rel
        for p in base.rglob("*")
        if p.is_file()
        and (rel := p.relative_to(root).as_posix()) not in expected
        and not any(part.startswith(".") for part in p.relative_to(base).parts)
    )


def disagreements(
    root: Path, registered: Iterable[str], extra: Iterable[str], repo=None
) -> list[str]:  # type: ignore[no-untyped-def]
    """Paths DVC would get wrong: a registered file it ignores, or an unregistered one it keeps.

    Asked of DVC's own ignore filter (of ``repo``, a ``dvc.repo.Repo`` on ``root``, if given), so
    patterns the user wrote outside the section count too.
    """
    if repo is None:
        from dvc.repo import Repo

        with Repo(os.fspath(root)) as opened:
            return disagreements(root, registered, extra, opened)
    ignored = repo.dvcignore.is_ignored_file
    problems = []
    for path in registered:
        if ignored(os.fspath(root / path)):
            problems.append(f"  {path}: registered, but ignored by a pattern in {IGNORE_FILE}")
    for path in extra:
        if not ignored(os.fspath(root / path)):
            problems.append(
                f"  {path}: not registered, but a pattern in {IGNORE_FILE} re-includes it"
            )
    return problems
