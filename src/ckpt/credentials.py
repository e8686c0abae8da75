"""Credentials committed to ``.dvc/config`` are refused: warned about, and never used by ckpt.

``.dvc/config`` is committed with the code, so a token in it is leaked to everyone who can read
the repository; the place for one is the git-ignored ``.dvc/config.local`` (``dvc remote modify
--local``) or the environment (``HF_TOKEN``). ckpt reads DVC's config itself (plain ConfigObj, no
DVC import), names the remote and option in a warning (never the value), and hands DVC an
override so that the fetch uses the local value if there is one, else none: the Hub client then
falls back to ``HF_TOKEN`` or the stored login.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("ckpt")

# Remote options of DVC's remotes (hf, s3, azure, gdrive, ssh, http/webdav) that hold a secret.
SECRET_OPTIONS = frozenset(
    {
        "token",
        "password",
        "secret_access_key",
        "session_token",
        "account_key",
        "sas_token",
        "connection_string",
        "client_secret",
        "gdrive_client_secret",
    }
)


_warned: set[tuple[Path, str, str]] = set()


def committed_secrets(root: Path) -> list[tuple[str, str]]:
    """``(remote, option)`` for every secret option set in the committed ``.dvc/config``."""
    found = []
    for section, values in _read(root / ".dvc" / "config").items():
        if section.startswith('remote "') and section.endswith('"'):
            remote = section[len('remote "') : -1]
            found += [(remote, k) for k in values if k in SECRET_OPTIONS and values[k]]
    return found


def refuse_committed_secrets(root: Path) -> dict:
    """Warn about each committed secret; DVC config overrides that keep it out of use."""
    local = _read(root / ".dvc" / "config.local")
    overrides: dict[str, dict] = {}
    for remote, option in committed_secrets(root):
        if (root, remote, option) not in _warned:
            _warned.add((root, remote, option))
            log.warning(
                "The committed .dvc/config holds a secret (%(option)s of remote '%(remote)s'): "
                "anyone who can read the repository has it, so ckpt does not use it. Revoke it, "
                "store the new one with `dvc remote modify --local %(remote)s %(option)s ...` "
                "(the git-ignored .dvc/config.local) or in the environment (HF_TOKEN for the "
                "Hub), and remove it with `dvc remote modify %(remote)s --unset %(option)s`.",
                {"remote": remote, "option": option},
            )
        value = local.get(f'remote "{remote}"', {}).get(option, "")
        overrides.setdefault(remote, {})[option] = value
    return {"remote": overrides} if overrides else {}


def _read(file: Path) -> dict[str, dict[str, str]]:
    from ckpt.dvcfiles import read_config_file
    from ckpt.errors import RegistryError

    try:
        return read_config_file(file)
    except RegistryError:
        return {}  # reported by ckpt.dvcfiles.read_config, which the cold path calls too
