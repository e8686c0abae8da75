"""A published checkpoint project whose only remote is ``hf://`` on a local Hub, for the
reliability tests: ``hub_project`` (fixture) and ``HubProject``.

The checkpoints are pushed once per session (real ``dvc push`` through the hf:// remote) to a
private repo on a Hub that accepts two made-up tokens; each test gets copies of both the project
and the Hub's data, and a Hub process of its own, so its faults and its request log are its own.
The write token sits in ``.dvc/config.local``, where the docs tell users to put it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.hub import LocalHub
from helpers.project import Project, built_once, checkpoint_bytes, run

# Recognisable, made up: the secrets tests look for these strings everywhere.
WRITE_TOKEN = "hf_TESTSECRETwrite0c7a1d9e5b3f8a2c6e4d"
READ_TOKEN = "hf_TESTSECRETread5e2b8d4a7c1f9e3b6a0d"
TOKENS = {WRITE_TOKEN: "rw", READ_TOKEN: "ro"}
REPO_ID = "chemeleon2/chemeleon2-checkpoints"
REMOTE_URL = f"hf://{REPO_ID}"


def write_remote_config(root: Path, endpoint: str, url: str = REMOTE_URL, **extra: str) -> None:
    """``.dvc/config`` with one default remote ``hf`` (what `dvc remote add/modify` would write)."""
    options = {"url": url, "endpoint": endpoint, **extra}
    lines = ["[core]", "    analytics = false", "    remote = hf", "['remote \"hf\"']"]
    lines += [f"    {k} = {v}" for k, v in options.items()]
    (root / ".dvc" / "config").write_text("\n".join(lines) + "\n")


def write_local_token(root: Path, token: str | None) -> None:
    local = root / ".dvc" / "config.local"
    if token is None:
        local.unlink(missing_ok=True)
    else:
        local.write_text(f"['remote \"hf\"']\n    token = {token}\n")


@dataclass
class HubProject(Project):
    """A checkout whose checkpoints are on ``hub`` (repo ``REPO_ID``), with nothing local."""

    hub: LocalHub | None = None
    home: Path | None = None  # private HF_HOME and DVC site cache, per test

    @property
    def local_hub(self) -> LocalHub:
        assert self.hub is not None
        return self.hub

    def expected(self, name: str) -> bytes:
        return checkpoint_bytes(self.paths()[name])

    def object_downloads(self, md5: str) -> list[dict]:
        """Logged GETs of one DVC object (by md5) that sent the whole object."""
        suffix = f"/files/md5/{md5[:2]}/{md5[2:]}"
        return [
            r
            for r in self.local_hub.requests(kind="resolve", method="GET")
            if r["path"].endswith(suffix) and r["status"] in (200, 206) and not r.get("dropped")
        ]

    def manifest(self) -> dict[str, str]:
        """``relpath under ckpts/`` -> md5, read from the published ``.dir`` on the Hub."""
        from ckpt.dvcfiles import tracked_dir_md5

        data = hub_file(self.local_hub, dvc_object_path(tracked_dir_md5(self.root)))
        return {e["relpath"]: e["md5"] for e in json.loads(data)}


def dvc_object_path(md5: str) -> str:
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def hub_file(hub: LocalHub, path: str, revision: str = "main") -> bytes:
    """A file of the repo, straight from the Hub (write token, no retries, no cache)."""
    import urllib.request

    req = urllib.request.Request(
        f"{hub.url}/{REPO_ID}/resolve/{revision}/{path}",
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


def remote_files(hub: LocalHub) -> set[str]:
    from huggingface_hub import HfApi

    return set(HfApi(endpoint=hub.url, token=WRITE_TOKEN).list_repo_files(REPO_ID))


def dirs_missing_files(hub: LocalHub) -> dict[str, list[str]]:
    """Every ``.dir`` on the remote -> the objects it lists that the remote does not hold.

    DVC takes a ``.dir`` on a remote to mean "the whole directory is there", so this must be
    empty after any push, interrupted or not."""
    files = remote_files(hub)
    broken = {}
    for path in sorted(p for p in files if p.endswith(".dir")):
        entries = json.loads(hub_file(hub, path))
        missing = [e["relpath"] for e in entries if dvc_object_path(e["md5"]) not in files]
        if missing:
            broken[path] = missing
    return broken


def client_env(base: dict[str, str], home: Path, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("HF_")}
    env |= {
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HOME": str(home / "hf-home"),
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_NO_ANALYTICS": "1",
    }
    if token is not None:
        env["HF_TOKEN"] = token
    return env


@pytest.fixture(scope="session")
def _hub_template(_project_template: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Project + Hub data with every checkpoint pushed through hf:// (once per run, shared by
    the xdist workers)."""

    def build(base: Path) -> str:
        from huggingface_hub import HfApi

        root = base / "work"
        shutil.copytree(_project_template.root, root, symlinks=True)
        env = client_env(_project_template.env, base)
        with LocalHub(base / "hub", tokens=TOKENS) as hub:
            HfApi(endpoint=hub.url, token=WRITE_TOKEN).create_repo(REPO_ID, private=True)
            write_remote_config(root, hub.url)
            write_local_token(root, WRITE_TOKEN)
            run([str(Path(sys.executable).parent / "dvc"), "push", "-q"], cwd=root, env=env)
        run(["git", "commit", "-q", "-am", "checkpoints on the Hub"], cwd=root, env=env)
        (base / "hub" / "requests.jsonl").unlink()
        return ""

    return built_once(tmp_path_factory, "hub-template", build)[0]


@pytest.fixture
def hub_project(
    _hub_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HubProject]:
    """A fresh checkout with nothing local, its checkpoints on a Hub of its own (started).

    CKPT_REPO, HF_HOME and DVC's site cache point into the test's tmp dir, in this process (for
    in-process get_checkpoint) and in ``project.env`` (for subprocesses)."""
    base = tmp_path / "hp"
    shutil.copytree(_hub_template / "work", base / "work", symlinks=True)
    shutil.copytree(_hub_template / "hub", base / "hub")
    hub = LocalHub(base / "hub", tokens=TOKENS).start()
    root = base / "work"
    write_remote_config(root, hub.url)
    env = client_env(dict(os.environ), base) | {"CKPT_REPO": str(root)}
    env.pop("SKIP_CHECKPOINT_DOWNLOAD", None)
    for key in ("HF_HOME", "DVC_SITE_CACHE_DIR", "CKPT_REPO"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("SKIP_CHECKPOINT_DOWNLOAD", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    project = HubProject(root, base / "no-local-remote", env, hub=hub, home=base)
    project.delete_local()
    try:
        yield project
    finally:
        hub.stop()
