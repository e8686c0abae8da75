"""``ckpt push``: send the objects ``ckpts.dvc`` pins to a remote, as ``dvc push`` would.

An hf:// remote gets them straight through dvc_hf's filesystem, the same object ``dvc push``
drives for that remote: one batched existence query, then every missing object staged (a large
one starts uploading as it is staged) and committed in as few commits as the Hub allows, ``.dir``
last. What lands on the Hub is exactly what ``dvc push`` puts there (``files/md5/ab/cdef...``),
so DVC and ckpt read it alike. Not starting DVC saves its start-up and shutdown, about a second
per push, which is most of what a push of a few GiB costs beyond the transfer (BENCHMARKS.md #4).
DVC's remote index (its local note of which ``.dir`` trees a remote holds in full) is not
written: DVC's next status of that remote asks the Hub instead.

Other remotes are DVC's own: ``dvc push -r NAME``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckpt import dvcfiles
from ckpt.errors import CkptError, RegistryError
from ckpt.registry import TRACKED_DIR

if TYPE_CHECKING:
    from dvc_hf.remote import HubRemote

log = logging.getLogger("ckpt")


class PushError(CkptError, RuntimeError):
    """A push did not complete; the message says what reached the remote and what to do."""


@dataclass
class Pushed:
    remote: str
    url: str
    # Objects sent and objects the remote already had; None when DVC pushed (non-hf remotes).
    sent: int | None = None
    present: int | None = None
    size: int = 0  # bytes sent


def push(root: Path, remote: str | None = None) -> Pushed:
    """Push every object ``ckpts.dvc`` pins to ``remote`` (default: DVC's default remote)."""
    config = dvcfiles.read_config(root)
    chosen = pick_remote(root, config, remote)
    if not chosen.url.startswith("hf://"):
        dvc(root, "push", "-r", chosen.name, hint="Objects already pushed stay; re-run to finish.")
        return Pushed(chosen.name, chosen.url)
    return _push_to_hub(root, chosen)


def pick_remote(root: Path, config: dict, name: str | None) -> dvcfiles.Remote:
    configured = dvcfiles.remotes(root, config)
    if not configured:
        raise PushError(
            "No DVC remote is configured: add one with `dvc remote add -d hf hf://ORG/REPO`."
        )
    if name is None:
        default = config.get("core", {}).get("remote")
        if not default:
            raise PushError(
                "No default DVC remote: name one with `-r NAME` (configured: "
                f"{', '.join(r.name for r in configured)}), or set a default with "
                "`dvc remote default NAME`."
            )
        name = default
    for found in configured:
        if found.name == name:
            return found
    raise PushError(
        f"Unknown remote '{name}'; configured: {', '.join(r.name for r in configured)}."
    )


def dvc(root: Path, *args: str, hint: str = "") -> None:
    """The real DVC CLI, so its own progress bars and messages reach the user."""
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=False)
    if proc.returncode != 0:
        raise PushError(
            f"`dvc {' '.join(args)}` failed (exit {proc.returncode}); see its message above. {hint}"
        )


def _push_to_hub(root: Path, remote: dvcfiles.Remote) -> Pushed:
    from ckpt import snapshot
    from dvc_hf.paths import strip_protocol

    snap = snapshot.take(root)
    if snap.manifest is None:
        raise PushError(
            f"The manifest that {dvcfiles.DVC_FILE} pins ({snap.dir_md5}) is not in the local DVC "
            f"cache ({snap.cache}), so there is nothing here to push: after changing "
            f"{TRACKED_DIR}/, run `dvc add {TRACKED_DIR}` (or `ckpt publish`) first."
        )
    hub = _hub_remote(remote, snap.remote_config(remote.name))
    # The .dir goes with the files: dvc_hf commits it last, once they have all landed.
    md5s = [*sorted(set(snap.manifest.values())), snap.dir_md5]
    base = strip_protocol(remote.url)
    paths = [f"{base}/files/md5/{md5[:2]}/{md5[2:]}" for md5 in md5s]
    where = f"remote '{remote.name}' ({remote.url} on {hub.endpoint})"
    try:
        there = hub.present(paths)
    except Exception as exc:
        raise PushError(f"Cannot push to {where}: {_reason(exc, remote, hub)}") from exc
    wanted = [(md5, path) for md5, path, found in zip(md5s, paths, there, strict=True) if not found]
    result = Pushed(remote.name, remote.url, sent=0, present=len(md5s) - len(wanted))
    if not wanted:
        return result
    local = {md5: snap.object_path(md5) for md5, _ in wanted}
    if absent := [md5 for md5, file in local.items() if not file.is_file()]:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        raise PushError(
            f"{len(absent)} object(s) that {dvcfiles.DVC_FILE} pins are neither in the local DVC "
            f"cache nor on {where} ({shown}); nothing was pushed. Fetch them from another remote "
            f"(`ckpt pull`), or re-add the files (`dvc add {TRACKED_DIR}`)."
        )
    result.size = sum(file.stat().st_size for file in local.values())
    log.info("Pushing %d object(s) to %s ...", len(wanted), where)
    if not log.isEnabledFor(logging.INFO):  # `ckpt -q push`: no upload bars, as `dvc push -q`
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    messages = _Collected()
    dvc_hf_log = logging.getLogger("dvc").getChild("dvc_hf")
    dvc_hf_log.addHandler(messages)
    try:
        # Everything is staged at once here, so early uploads (which overlap DVC's transfer loop)
        # have nothing to overlap: the commit hashes every large object, then uploads them all in
        # parallel with one preupload question, upload_folder's own pattern.
        with hub.staging("ckpt push", early=False) as staging:
            if not any(there):  # likely a repo to create: once, before the uploads find it missing
                staging.create(hub.locate(paths[0])[0])
            for md5, path in wanted:
                staging.add(os.fspath(local[md5]), path)
        failed = staging.commit_all()
    except Exception as exc:
        raise PushError(f"Cannot push to {where}: {_reason(exc, remote, hub)}") from exc
    finally:
        dvc_hf_log.removeHandler(messages)
    if failed:
        raise PushError(
            f"{len(failed)} of {len(wanted)} object(s) did not reach {where}: "
            f"{'; '.join(messages.errors) or 'see the messages above'}. Whatever landed stays, "
            "and the remote is consistent (no .dir without its files): run the push again."
        )
    result.sent = len(wanted)
    return result


def _hub_remote(remote: dvcfiles.Remote, options: dict[str, str]) -> HubRemote:
    """The Hub side of the hf:// filesystem ``dvc push`` would build from these options."""
    from dvc_hf.remote import HubRemote

    try:
        return HubRemote.from_config(options)
    except ValueError as exc:  # also HfConfigError
        raise RegistryError(
            f"Remote '{remote.name}' ({remote.url}) has an option that cannot work: {exc}. Fix "
            f"it with `dvc remote modify {remote.name} OPTION VALUE`."
        ) from None


def _reason(exc: BaseException, remote: dvcfiles.Remote, hub: HubRemote) -> str:
    from ckpt.remote_errors import RemoteInfo, explain

    return explain(exc, RemoteInfo(remote.name, remote.url, hub.endpoint))


class _Collected(logging.Handler):
    """What dvc_hf logs to DVC's logger during the push: its errors go into our message, the
    rest (a rate-limit wait) to ours as it happens."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
        elif not logging.getLogger("dvc").handlers:  # `ckpt -v` prints DVC's log itself
            log.log(record.levelno, "%s", record.getMessage())
