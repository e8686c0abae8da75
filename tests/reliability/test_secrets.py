"""Secrets: a recognisable token never shows up in output, logs, exception text or git; tokens set
through the CLI go to the git-ignored config.local; a token committed in .dvc/config is refused."""

from __future__ import annotations

import subprocess
import traceback
from pathlib import Path

import pytest
from helpers.project import run
from helpers.reliability import (
    READ_TOKEN,
    WRITE_TOKEN,
    HubProject,
    write_local_token,
    write_remote_config,
)

from ckpt import CheckpointUnavailable, get_checkpoint

BAD_TOKEN = "hf_TESTSECRETunknown9f8e7d6c5b4a39281706"
SECRETS = (WRITE_TOKEN, READ_TOKEN, BAD_TOKEN)


def files_holding(secret: str, *roots: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path not in skip and secret.encode() in path.read_bytes():
                hits.append(path)
    return hits


def test_token_set_through_the_cli_goes_to_config_local(hub_project: HubProject):
    project = hub_project
    write_local_token(project.root, None)
    project.dvc("remote", "modify", "--local", "hf", "token", WRITE_TOKEN)
    assert WRITE_TOKEN in (project.root / ".dvc" / "config.local").read_text()
    assert WRITE_TOKEN not in (project.root / ".dvc" / "config").read_text()
    ignored = run(["git", "check-ignore", ".dvc/config.local"], cwd=project.root, check=False)
    assert ignored.returncode == 0, "config.local is not git-ignored"
    # and the token works from there
    assert project.ckpt("pull", "mp_20_vae").returncode == 0


@pytest.mark.slow
def test_tokens_appear_in_no_output_log_exception_or_commit(hub_project: HubProject):
    project, hub = hub_project, hub_project.local_hub
    outputs: list[str] = []

    def keep(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        outputs.extend([result.stdout, result.stderr])
        return result

    write_local_token(project.root, None)
    keep(project.dvc("remote", "modify", "--local", "hf", "token", WRITE_TOKEN))
    # Successful runs, verbose: the CLI, plain dvc pull and push.
    assert keep(project.ckpt("pull", "mp_20_vae")).returncode == 0
    keep(project.dvc("-v", "pull"))
    new = project.root / "ckpts" / "extra.ckpt"
    new.write_bytes(b"new weights" * 1000)
    keep(project.dvc("add", "ckpts"))
    keep(project.dvc("-v", "push"))
    keep(project.dvc("-v", "status", "-c"))
    # Failing runs: every request refused (403: not retried, so quick), then a token the Hub
    # does not know.
    hub.inject(status=403)
    new.write_bytes(b"newer weights" * 1000)
    keep(project.dvc("add", "ckpts"))
    assert keep(project.dvc("-v", "push", check=False)).returncode != 0
    new.write_bytes(b"new weights" * 1000)
    keep(project.dvc("add", "ckpts"))  # back to what the remote holds
    project.delete_local()
    assert keep(project.ckpt("pull", "alex_mp_20_vae")).returncode == 1
    with pytest.raises(CheckpointUnavailable) as info:
        get_checkpoint("alex_mp_20_vae")
    outputs.append("".join(traceback.format_exception(info.value)))
    hub.clear_faults()
    write_local_token(project.root, BAD_TOKEN)
    bad = keep(project.ckpt("pull", "alex_mp_20_vae"))
    assert bad.returncode == 1 and "401" in bad.stderr
    assert keep(project.dvc("-v", "pull", check=False)).returncode != 0
    with pytest.raises(CheckpointUnavailable) as info:
        get_checkpoint("alex_mp_20_vae")
    outputs.append("".join(traceback.format_exception(info.value)))
    run(["git", "add", "-A"], cwd=project.root)
    run(["git", "commit", "-q", "-m", "work"], cwd=project.root)

    history = run(["git", "log", "-p", "--all"], cwd=project.root).stdout
    for secret in SECRETS:
        assert not [o for o in outputs if secret in o]
        assert secret not in history
        # Everything on disk except the one file meant to hold it: DVC's logs and state under
        # .dvc/tmp, the cache, the site cache, HF_HOME, the Hub's request log and stderr.
        local = project.root / ".dvc" / "config.local"
        assert files_holding(secret, project.home, skip=(local,)) == []


def test_token_in_the_committed_config_is_refused_with_a_warning(hub_project: HubProject):
    project = hub_project
    write_local_token(project.root, None)
    write_remote_config(project.root, project.local_hub.url, token=WRITE_TOKEN)
    run(["git", "commit", "-q", "-am", "oops: token committed"], cwd=project.root)

    refused = project.ckpt("pull", "mp_20_vae")
    # The repo is private: without the committed token there is nothing to read it with.
    assert refused.returncode == 1
    assert "The committed .dvc/config holds a secret (token of remote 'hf')" in refused.stderr
    assert "dvc remote modify --local hf token" in refused.stderr
    assert not (project.root / project.paths()["mp_20_vae"]).exists()

    # A token from the environment (or config.local) is used instead; the warning stays.
    project.env["HF_TOKEN"] = READ_TOKEN
    allowed = project.ckpt("pull", "mp_20_vae")
    assert allowed.returncode == 0, allowed.stderr
    assert "holds a secret" in allowed.stderr
    for result in (refused, allowed):
        assert WRITE_TOKEN not in result.stdout + result.stderr
