"""S3 as the second remote (dvc-s3 against a real S3 server on loopback), and the loader's fallback."""

import logging
import shutil

import pytest
from helpers.project import checkpoint_bytes

from ckpt import get_checkpoint

# Slow tier: by default S3 is pushed to and pulled from in tests/dvc_hf/test_hf_buckets_s3.py, and
# its failures and the fallback past it are in the remote matrix.
pytestmark = pytest.mark.slow

TOKEN = "hf_test_rw_token_s3_fallback"
VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


@pytest.fixture
def s3_project(project, s3_server, monkeypatch):
    """The published project, with an `s3` remote on the loopback S3 server."""
    project.env |= s3_server.env
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    project.dvc("remote", "add", "s3", f"{s3_server.url}/dvc")
    project.dvc("remote", "modify", "s3", "endpointurl", s3_server.endpoint_url)
    return project


def test_push_and_pull_through_s3(s3_project, s3_server, tmp_path):
    project = s3_project
    project.dvc("pull", "-q")  # from the directory remote
    project.dvc("push", "-q", "-r", "s3")
    keys = s3_server.keys("dvc/")
    assert any(k.endswith(".dir") for k in keys)
    assert len(keys) == 1 + len(set(project.paths().values()))

    project.delete_local()
    project.dvc("pull", "-q", "-r", "s3")
    for relpath in set(project.paths().values()):
        assert (project.root / relpath).read_bytes() == checkpoint_bytes(relpath)
    assert "are in sync" in project.dvc("status", "-c", "-r", "s3").stdout


def test_loader_falls_back_to_s3_and_says_which_remote_served(
    s3_project, s3_server, hub_factory, caplog
):
    project = s3_project
    project.dvc("pull", "-q")
    project.dvc("push", "-q", "-r", "s3")
    # The default remote becomes a Hub that then goes away.
    hub = hub_factory(tokens={TOKEN: "rw"})
    project.dvc("remote", "add", "-d", "hf", "hf://chemeleon2/checkpoints")
    project.dvc("remote", "modify", "hf", "endpoint", hub.url)
    project.dvc("remote", "remove", "local")
    hub.stop()
    project.delete_local()

    caplog.set_level(logging.INFO, logger="ckpt")
    path = get_checkpoint("mp_20_vae")
    assert path.read_bytes() == checkpoint_bytes(VAE)
    assert "Remote 'hf' could not supply mp_20_vae" in caplog.text
    assert "Fetched mp_20_vae from remote 's3'" in caplog.text


def test_publish_checks_s3_credentials_before_any_work(s3_project, s3_server):
    project = s3_project
    project.dvc("pull", "-q")
    project.dvc("remote", "modify", "s3", "endpointurl", "http://127.0.0.1:9")  # nothing listens
    out = project.ckpt("publish", "-r", "s3")
    assert out.returncode == 1
    assert "Cannot access remote 's3'" in out.stderr
    assert s3_server.keys() == []


def test_publish_to_every_remote_including_s3(s3_project, s3_server):
    project = s3_project
    project.dvc("pull", "-q")
    shutil.rmtree(project.remote)  # the directory remote starts empty: publish fills it again
    out = project.ckpt("publish", check=True)
    assert "Pushed to: local, s3" in out.stdout
    assert any(k.endswith(".dir") for k in s3_server.keys("dvc/"))
    assert any(project.remote.rglob("*.dir"))
