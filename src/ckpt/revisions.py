"""The registry and pins as they were at a git revision, read from git without checking it out.

``git rev-parse`` turns the revision into a commit and ``git cat-file --batch`` reads ``dvc.yaml`` and
``ckpts.dvc`` from it. Both answers are remembered, in memory and in ``.dvc/tmp/ckpt/rev/index.json``
(so a fresh process need not spawn git either):

- a commit's files never change, so its registry and pin are kept per commit, for good;
- a full 40-hex sha always names the same commit; any other revision (tag, branch, short sha,
  ``HEAD~2``) is kept with the ``stat`` of every ref file git would consult to resolve it (loose
  refs, ``packed-refs``, the target of a symbolic ref such as ``HEAD``), so a moved branch or a
  re-created tag is noticed with a few ``stat`` calls instead of a git process. Revisions git
  resolves through anything else (reflogs, ``@{upstream}``, ``:/text``) are resolved every time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ckpt import dvcfiles
from ckpt.errors import CheckpointNotFound, RegistryError, RevisionNotFound
from ckpt.memo import FileMemo, joined
from ckpt.registry import REGISTRY_FILE, Artifact, parse_registry
from ckpt.stamps import STAMP_DIR

REV_DIR = STAMP_DIR / "rev"
_GIT_TIMEOUT = 120
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
# A ref name, optionally followed by ancestry steps (`~2`, `^`, `^2`): resolved from the ref alone.
_REF_EXPR = re.compile(r"(?P<base>[A-Za-z0-9][A-Za-z0-9._/@+-]*|@)(?:[~^][0-9]*)*")
# git's ref_rev_parse_rules: where `git rev-parse NAME` looks for a ref called NAME, in order.
_REF_RULES = (
    "{}",
    "refs/{}",
    "refs/tags/{}",
    "refs/heads/{}",
    "refs/remotes/{}",
    "refs/remotes/{}/HEAD",
)

Check = tuple[str, "tuple[int, int, int] | None"]


class Revision(NamedTuple):
    """What a revision pinned: its commit, the ``.dir`` md5 in ``ckpts.dvc``, the registry."""

    rev: str
    commit: str
    dir_md5: str | None  # None when ckpts.dvc does not exist at that commit
    registry: dict[str, Artifact]

    @property
    def label(self) -> str:
        """The revision as the user wrote it, with its commit when that is not the same thing."""
        return self.rev if self.rev == self.commit else f"{self.rev} ({self.commit[:10]})"

    def lookup(self, name: str) -> Artifact:
        """The entry called ``name`` at this revision, or CheckpointNotFound naming the revision."""
        try:
            return self.registry[name]
        except (KeyError, TypeError):
            pass
        import difflib

        close = difflib.get_close_matches(str(name), list(self.registry), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        if not self.registry:
            raise CheckpointNotFound(
                f"No checkpoint named '{name}' at revision {self.label}: {REGISTRY_FILE} there "
                "has no checkpoints (or does not exist). `ckpt log NAME` lists the revisions "
                "that have one."
            )
        raise CheckpointNotFound(
            f"No checkpoint named '{name}' in {REGISTRY_FILE} at revision {self.label}.{hint} "
            f"Available there: {', '.join(sorted(self.registry))}."
        )

    def require_pins(self) -> str:
        if self.dir_md5 is None:
            raise RegistryError(
                f"{dvcfiles.DVC_FILE} does not exist at revision {self.label}, so no checkpoint "
                "bytes were pinned there. Pick a later revision (`ckpt log NAME` lists them)."
            )
        return self.dir_md5


def read_revision(root: Path, rev: str) -> Revision:
    """The registry and pin at ``rev``: from memory when nothing git resolves it through moved."""
    key = (str(root), rev)
    hit = _memo.get(key)
    if hit is not None and _still_valid(hit[0]):
        return hit[1]
    if not isinstance(rev, str):
        raise TypeError(f"rev must be a git revision as a string, not {type(rev).__name__}")
    found = _from_index(root, rev)
    if found is None:
        checks, revision = _from_git(root, rev)
        if checks is None:
            return revision  # resolved through something a stat cannot watch: ask git every time
        found = (checks, revision)
    _memo[key] = found
    return found[1]


def resolve(root: Path, rev: str) -> str:
    """The full sha of the commit ``rev`` names; RevisionNotFound (clear about shallow clones)."""
    return read_revision(root, rev).commit


def read_at(root: Path, specs: Sequence[tuple[str, str]]) -> list[bytes | None]:
    """The contents of ``(commit, path relative to root)`` pairs, None where absent; one git process."""
    if not specs:
        return []
    prefix = git_prefix(root)
    lines = "".join(f"{commit}:{prefix}{path}\n" for commit, path in specs).encode()
    out = git(root, "cat-file", "--batch", input=lines).stdout
    result: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<spec> missing" (or ambiguous)
            result.append(None)
            continue
        size = int(header[2])
        result.append(out[pos : pos + size] if header[1] == b"blob" else None)
        pos += size + 1
    return result


def revision_of_commit(root: Path, rev: str, commit: str) -> Revision:
    """``read_revision`` for a commit already resolved (``ckpt log`` walks many): cached per commit."""
    record = _commit_record(root, commit)
    if record is None:
        record = _read_commits(root, [commit])[commit]
        _save(root, commits={commit: record})
    return _revision_from(rev, commit, record)


def revisions_of_commits(root: Path, commits: Sequence[str]) -> dict[str, Revision]:
    """``revision_of_commit`` for many commits, reading the missing ones with one git process."""
    records = {c: _commit_record(root, c) for c in commits}
    missing = [c for c, r in records.items() if r is None]
    if missing:
        fresh = _read_commits(root, missing)
        _save(root, commits=fresh)
        records.update(fresh)
    return {c: _revision_from(c, c, r) for c, r in records.items() if r is not None}


def git(
    root: Path, *args: str, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``root``; a missing git, or a failure when ``check``, is a RevisionNotFound."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=root,
            input=input,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise RevisionNotFound(
            "git is not installed (or not on PATH), and checkpoint versions are read from git "
            "history. Install git, or drop rev= to use the checked-out version."
        ) from None
    if check and proc.returncode != 0:
        raise RevisionNotFound(f"`git {' '.join(args)}` failed in {root}: {_stderr(proc)}")
    return proc


def _stderr(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stderr.decode(errors="replace").strip() or f"exit {proc.returncode}"


def git_prefix(root: Path) -> str:
    """``root`` relative to the top of its git work tree, with a trailing '/' ('' at the top)."""
    key = str(root)
    if key not in _prefixes:
        _prefixes[key] = _rev_parse_prefix(root)
    return _prefixes[key]


def is_shallow(root: Path) -> bool:
    try:
        proc = git(root, "rev-parse", "--is-shallow-repository")
    except RevisionNotFound:
        return False
    return proc.stdout.strip() == b"true"


# --- resolving ---------------------------------------------------------------------------------


def _from_git(root: Path, rev: str) -> tuple[tuple[Check, ...] | None, Revision]:
    if not rev or rev.startswith("-") or any(c.isspace() for c in rev):
        raise RevisionNotFound(
            f"{rev!r} is not a git revision: name a tag, branch or commit (e.g. 'v1.0', "
            "'main', 'a1b2c3d', or 'NAME@v1.0.0' for a checkpoint version)."
        )
    # The ref files' stat is taken before git reads them: a ref that moves in between makes the
    # remembered answer look stale, never the other way round.
    checks = _checks(root, rev)
    commit = _rev_parse(root, rev)
    record = _commit_record(root, commit)
    if record is None:
        record = _read_commits(root, [commit])[commit]
        _save(root, commits={commit: record})
    if checks is not None:
        _save(root, refs={rev: {"commit": commit, "checks": [list(c) for c in checks]}})
    return checks, _revision_from(rev, commit, record)


def _rev_parse(root: Path, rev: str) -> str:
    proc = git(
        root, "rev-parse", "--show-prefix", "--verify", "--quiet", "--end-of-options",
        f"{rev}^{{commit}}", check=False,
    )  # fmt: skip
    lines = proc.stdout.decode().splitlines()
    if proc.returncode == 0 and len(lines) == 2 and _FULL_SHA.fullmatch(lines[1]):
        _prefixes[str(root)] = lines[0]
        return lines[1]
    if not lines:  # --show-prefix prints even when the revision is unknown; nothing: no git repo
        raise RevisionNotFound(
            f"Cannot read git revision '{rev}': git cannot use {root} ({_stderr(proc)}). "
            "Checkpoint versions are read from git history: use a git clone of the project, "
            "or drop rev=."
        )
    if is_shallow(root):
        raise RevisionNotFound(
            f"Git revision '{rev}' is not in this clone of {root}, which is shallow (only the "
            "latest commits were fetched, as CI does by default with fetch-depth: 1). Fetch the "
            "history and tags with `git fetch --unshallow --tags` (GitHub Actions: "
            "actions/checkout with `fetch-depth: 0`), then retry."
        )
    hint = ""
    if re.fullmatch(r"v?\d+\.\d+\.\d+\S*", rev):
        hint = (
            f" A checkpoint version is a tag named NAME@{rev if rev.startswith('v') else 'v' + rev}"
            " (`git tag -l '*@v*'` lists them)."
        )
    raise RevisionNotFound(
        f"Unknown git revision '{rev}' in {root}: no tag, branch or commit of that name.{hint} "
        "If it exists on the remote, fetch it first (`git fetch --tags`)."
    )


def _rev_parse_prefix(root: Path) -> str:
    lines = git(root, "rev-parse", "--show-prefix").stdout.decode().splitlines()
    return lines[0] if lines else ""


def _checks(root: Path, rev: str) -> tuple[Check, ...] | None:
    """The files whose ``stat`` decides what ``rev`` resolves to; None when that is unknowable."""
    if _FULL_SHA.fullmatch(rev):
        return ()
    m = _REF_EXPR.fullmatch(rev)
    dirs = _git_dirs(root)
    if m is None or dirs is None or "@{" in rev or ".." in rev:
        return None
    base = "HEAD" if m["base"] == "@" else m["base"]
    gitdir, common = dirs
    files = [os.path.join(common, "packed-refs")]
    for name in [rule.format(base) for rule in _REF_RULES]:
        loose = _ref_files(gitdir, common, name)
        files += loose
        # git takes the first rule that names a ref: while this loose ref (watched) exists, later
        # rules cannot change the answer, and earlier ones only by a file watched here or by
        # packed-refs. Each rule not watched is a stat saved on every warm call with rev=.
        if any(os.path.isfile(f) for f in loose):
            break
    for file in list(files):
        target = _symref_target(file)
        if target is not None:
            files += _ref_files(gitdir, common, target)
    return tuple((f, _signature(f)) for f in dict.fromkeys(files))


def _ref_files(gitdir: str, common: str, name: str) -> list[str]:
    # Pseudo-refs (HEAD, FETCH_HEAD) live in the worktree's own git dir, the rest in the common one.
    return [os.path.join(gitdir, name)] + ([os.path.join(common, name)] if common != gitdir else [])


def _symref_target(file: str) -> str | None:
    try:
        with open(file, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if head.startswith(b"ref: "):
        return head[5:].strip().decode(errors="replace")
    return None


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _still_valid(checks: Sequence[Check]) -> bool:
    return all(_signature(path) == sig for path, sig in checks)


def _git_dirs(root: Path) -> tuple[str, str] | None:
    """(this worktree's git dir, the common git dir), found without running git; None if unsure."""
    key = str(root)
    if key in _dirs:
        return _dirs[key]
    found = None
    if not any(v in os.environ for v in ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE")):
        for d in (root, *root.parents):
            dotgit = d / ".git"
            if dotgit.is_dir():
                found = (str(dotgit), str(dotgit))
                break
            if dotgit.is_file():
                text = dotgit.read_text(errors="replace").strip()
                if text.startswith("gitdir:"):
                    gitdir = (d / text[len("gitdir:") :].strip()).resolve()
                    common = gitdir
                    if (gitdir / "commondir").is_file():
                        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
                    found = (str(gitdir), str(common))
                break
        # reftable (git >= 2.45, opt-in) keeps refs in binary tables: not worth parsing here.
        if found is not None and os.path.isdir(os.path.join(found[1], "reftable")):
            found = None
    _dirs[key] = found
    return found


# --- per-commit records and the on-disk index ---------------------------------------------------


def _read_commits(root: Path, commits: Sequence[str]) -> dict[str, dict[str, Any]]:
    specs = [(c, f) for c in commits for f in (REGISTRY_FILE, dvcfiles.DVC_FILE)]
    blobs = read_at(root, specs)
    records = {}
    for i, commit in enumerate(commits):
        dvc_yaml, dvc_file = blobs[2 * i], blobs[2 * i + 1]
        label = commit[:10]
        registry = (
            parse_registry(
                dvc_yaml.decode("utf-8", errors="replace"), f"{REGISTRY_FILE} at {label}"
            )
            if dvc_yaml is not None
            else {}
        )
        dir_md5 = (
            dvcfiles.parse_dvc_file(
                dvc_file.decode("utf-8", errors="replace"), f"{dvcfiles.DVC_FILE} at {label}"
            )
            if dvc_file is not None
            else None
        )
        record = {
            "dir_md5": dir_md5,
            "artifacts": {
                n: [a.path, a.desc, a.type, list(a.labels), a.meta] for n, a in registry.items()
            },
        }
        # Through JSON, so a record read back from the index is the same as a fresh one.
        records[commit] = json.loads(json.dumps(record, default=str))
    return records


def _revision_from(rev: str, commit: str, record: dict[str, Any]) -> Revision:
    registry = {
        name: Artifact(name, path, desc, type_, tuple(labels), meta)
        for name, (path, desc, type_, labels, meta) in record["artifacts"].items()
    }
    return Revision(rev, commit, record["dir_md5"], registry)


_INDEX = REV_DIR / "index.json"


def _index_file(root: Path) -> Path:
    return root / _INDEX


def _load_index(file: Path) -> dict[str, Any]:
    try:
        index = json.loads(file.read_bytes())
        if index.get("version") == 1:
            return index
    except (ValueError, AttributeError):
        pass  # a damaged index only costs a git call; never trust any part of it
    return {}


_index = FileMemo(_load_index)


def _read_index(root: Path) -> dict[str, Any]:
    try:
        return _index.get(joined(root, _INDEX))
    except FileNotFoundError:
        return {}


def _commit_record(root: Path, commit: str) -> dict[str, Any] | None:
    return _read_index(root).get("commits", {}).get(commit)


def _from_index(root: Path, rev: str) -> tuple[tuple[Check, ...], Revision] | None:
    index = _read_index(root)
    if _FULL_SHA.fullmatch(rev):
        checks: tuple[Check, ...] = ()
        commit = rev
    else:
        entry = index.get("refs", {}).get(rev)
        if entry is None:
            return None
        checks = tuple((path, tuple(sig) if sig else None) for path, sig in entry["checks"])
        if not _still_valid(checks):
            return None
        commit = entry["commit"]
    record = index.get("commits", {}).get(commit)
    if record is None:
        return None
    return checks, _revision_from(rev, commit, record)


def _save(
    root: Path, *, refs: dict[str, Any] | None = None, commits: dict[str, Any] | None = None
) -> None:
    """Merge into the index and replace it atomically; a lost race only costs a git call later."""
    file = _index_file(root)
    index = _read_index(root)
    merged = {
        "version": 1,
        "refs": {**index.get("refs", {}), **(refs or {})},
        "commits": {**index.get("commits", {}), **(commits or {})},
    }
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".index.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(merged, default=str))
        os.replace(tmp, file)
    except OSError:
        pass  # a read-only checkout still works: it just asks git every time


_memo: dict[tuple[str, str], tuple[tuple[Check, ...], Revision]] = {}
_dirs: dict[str, tuple[str, str] | None] = {}
_prefixes: dict[str, str] = {}
