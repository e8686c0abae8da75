"""The ckpt command line, run as a real subprocess against a published project."""

import json
import os

from helpers.project import checkpoint_bytes

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


def test_help_explains_every_command(project):
    out = project.ckpt("--help", check=True).stdout
    for command in ("list", "status", "pull", "verify", "publish", "exit status"):
        assert command in out
    assert "--scan" in project.ckpt("verify", "--help", check=True).stdout


def test_list_pull_status_verify_round_trip(project):
    listing = json.loads(project.ckpt("list", "--json", check=True).stdout)
    assert {e["name"]: e["state"] for e in listing}["mp_20_vae"] == "missing"
    assert len(listing) == 8

    status = project.ckpt("status")
    assert status.returncode == 1 and "ckpt pull" in status.stdout

    pulled = project.ckpt("pull", "mp_20_vae", "mp_20_ldm", check=True)
    assert f"mp_20_vae\t{project.root / VAE}" in pulled.stdout
    assert (project.root / VAE).read_bytes() == checkpoint_bytes(VAE)

    table = project.ckpt("list", check=True).stdout
    assert any(line.startswith("mp_20_vae") and "verified" in line for line in table.splitlines())

    assert project.ckpt("pull", check=True).returncode == 0  # everything else
    status = json.loads(project.ckpt("status", "--json", check=True).stdout)
    assert status["ok"] and {e["state"] for e in status["checkpoints"]} == {"verified"}
    assert status["remotes"] == [{"name": "local", "url": "../../remote"}]

    verify = project.ckpt("verify", check=True)
    assert verify.stdout.count("ok ") == 8


def test_verify_catches_a_flipped_byte_with_mtime_restored(project):
    project.ckpt("pull", "mp_20_vae", check=True)
    path = project.root / VAE
    st = os.stat(path)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    # The stamp (inode, size, mtime) cannot see it; a full verify does, and revokes the stamp.
    assert project.ckpt("status", "mp_20_vae").returncode == 0
    verify = project.ckpt("verify", "mp_20_vae")
    assert verify.returncode == 1
    assert "MODIFIED" in verify.stdout and "ckpt pull --force mp_20_vae" in verify.stdout
    assert path.read_bytes() == bytes(data)  # reported, not deleted
    assert project.ckpt("status", "mp_20_vae").returncode == 1

    # The next get repairs it.
    project.ckpt("pull", "mp_20_vae", check=True)
    assert path.read_bytes() == checkpoint_bytes(VAE)


def test_verify_of_a_missing_checkpoint_fails(project):
    out = project.ckpt("verify", "alex_mp_20_vae")
    assert out.returncode == 1 and "ckpt pull alex_mp_20_vae" in out.stdout


def test_unknown_name_exits_2_with_suggestion(project):
    out = project.ckpt("pull", "mp_20_vea")
    assert out.returncode == 2
    assert "Did you mean 'mp_20_vae'?" in out.stderr
    assert not (project.root / "ckpts").exists()


def test_malformed_registry_exits_2_and_deletes_nothing(project):
    project.ckpt("pull", "mp_20_vae", check=True)
    (project.root / "dvc.yaml").write_text("artifacts:\n  x:\n    path: ../outside\n")
    for command in ("list", "status", "pull", "verify"):
        out = project.ckpt(command)
        assert out.returncode == 2, command
        assert "must stay inside ckpts/" in out.stderr
    assert (project.root / VAE).read_bytes() == checkpoint_bytes(VAE)


def test_unreachable_remote_exits_1_and_names_the_command(project):
    import shutil

    shutil.rmtree(project.remote)
    out = project.ckpt("pull", "mp_20_vae")
    assert out.returncode == 1
    assert "remote 'local'" in out.stderr and "ckpt pull mp_20_vae" in out.stderr


def test_pull_shows_dvc_progress_on_a_terminal(project):
    # DVC_IGNORE_ISATTY makes DVC draw its bars as it would on a terminal.
    project.env["DVC_IGNORE_ISATTY"] = "true"
    out = project.ckpt("pull", "mp_20_vae", check=True)
    assert "file/s]" in out.stderr  # a tqdm bar counting the transfer
    project.env.pop("DVC_IGNORE_ISATTY")
    project.delete_local()
    quiet = project.ckpt("pull", "mp_20_vae", check=True)
    assert "file/s]" not in quiet.stderr  # no terminal, no bars in logs
