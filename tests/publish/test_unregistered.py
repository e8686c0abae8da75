"""User-trained files under ckpts/ (no dvc.yaml entry) stay out of DVC: the generated .dvcignore
section, checked with the real dvc CLI and ``ckpt publish`` to a local directory remote."""

import hashlib

import pytest
import yaml
from helpers.project import REPO

from ckpt import ignore
from ckpt.errors import RegistryError
from ckpt.registry import load_registry, unique_paths

MINE = {
    "ckpts/alex_mp_20_bandgap/predictor/last.ckpt": b"PK\x03\x04 predictor run",
    "ckpts/mp_20/vae/my_run.ckpt": b"PK\x03\x04 a VAE of my own",
}


def remote_md5s(project) -> set[str]:
    return {
        p.parent.name + p.name
        for p in (project.remote / "files" / "md5").rglob("*")
        if p.is_file() and not p.name.endswith(".dir")
    }


@pytest.fixture
def trained(project):
    """Every registered checkpoint in place, plus two files of the user's own under ckpts/."""
    project.ckpt("pull", check=True)
    for path, data in MINE.items():
        (project.root / path).parent.mkdir(parents=True, exist_ok=True)
        (project.root / path).write_bytes(data)
    return project


@pytest.mark.slow
def test_unregistered_files_do_not_block_publish_show_in_status_or_get_uploaded(trained):
    pinned = (trained.root / "ckpts.dvc").read_text()
    out = trained.ckpt("publish", check=True)
    assert "Left out 2 unregistered file(s)" in out.stdout
    assert all(path in out.stdout for path in MINE)
    assert (trained.root / "ckpts.dvc").read_text() == pinned  # same bytes pinned as before
    assert ".dvcignore" in out.stdout  # the new section is part of what to commit
    mine = {hashlib.md5(data).hexdigest() for data in MINE.values()}
    assert not mine & remote_md5s(trained)

    assert "up to date" in trained.dvc("status").stdout
    assert "in sync" in trained.dvc("status", "-c").stdout
    assert trained.ckpt("status").returncode == 0
    # DVC's own checkout leaves them alone too.
    trained.dvc("checkout", "--force")
    for path, data in MINE.items():
        assert (trained.root / path).read_bytes() == data


@pytest.mark.slow
def test_registering_a_file_is_adding_an_entry_and_publishing(trained):
    trained.ckpt("publish", check=True)
    path = "ckpts/alex_mp_20_bandgap/predictor/last.ckpt"
    with open(trained.root / "dvc.yaml", "a") as f:
        f.write(f"  alex_mp_20_bandgap:\n    path: {path}\n    type: model\n")
    out = trained.ckpt("publish", check=True)
    assert "Left out 1 unregistered file(s)" in out.stdout
    pinned = yaml.safe_load((trained.root / "ckpts.dvc").read_text())["outs"][0]
    assert pinned["nfiles"] == len(set(trained.paths().values()))
    assert hashlib.md5(MINE[path]).hexdigest() in remote_md5s(trained)
    assert f"!/{path}" in (trained.root / ".dvcignore").read_text()
    assert trained.ckpt("status").returncode == 0
    assert "up to date" in trained.dvc("status").stdout


@pytest.mark.slow
def test_a_user_pattern_that_hides_a_registered_file_is_refused(trained):
    trained.ckpt("publish", check=True)
    pinned = (trained.root / "ckpts.dvc").read_text()
    with open(trained.root / ".dvcignore", "a") as f:
        f.write("/ckpts/mp_20/vae/*.ckpt\n")
    out = trained.ckpt("publish")
    assert out.returncode == 2
    assert "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt: registered, but ignored" in out.stderr
    assert "dvc check-ignore -d PATH" in out.stderr
    assert (trained.root / "ckpts.dvc").read_text() == pinned


def test_a_missing_registered_file_still_refuses(trained):
    (trained.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").unlink()
    out = trained.ckpt("publish")
    assert out.returncode == 2
    assert "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt: in dvc.yaml (mp_20_vae) but no file" in out.stderr


def test_section_is_appended_then_replaced_in_place():
    theirs = "# the user's own\n*.tmp\n"
    first = ignore.render(theirs, ["ckpts/a.ckpt"])
    assert first.startswith(theirs) and first.count(ignore.BEGIN) == 1
    assert "/ckpts/**\n!/ckpts/**/\n!/ckpts/a.ckpt\n" in first
    later = ignore.render(first + "after\n", ["ckpts/b.ckpt", "ckpts/a.ckpt"])
    assert later.startswith(theirs) and later.endswith("after\n")
    assert "!/ckpts/a.ckpt\n!/ckpts/b.ckpt\n" in later and later.count(ignore.BEGIN) == 1
    assert ignore.render(later, ["ckpts/b.ckpt", "ckpts/a.ckpt"]) == later


def test_special_characters_match_only_themselves():
    block = ignore.section(["ckpts/run[1]*?.ckpt", "ckpts/#x/!y.ckpt"])
    assert "!/ckpts/run\\[1\\]\\*\\?.ckpt" in block
    assert "!/ckpts/\\#x/\\!y.ckpt" in block


def test_a_section_without_its_end_is_refused(tmp_path):
    (tmp_path / ".dvcignore").write_text(ignore.BEGIN + "\n/ckpts/**\n")
    with pytest.raises(RegistryError, match="not its closing"):
        ignore.sync(tmp_path, ["ckpts/a.ckpt"])


def test_this_repository_dvcignore_matches_its_registry():
    current = (REPO / ".dvcignore").read_text()
    assert ignore.render(current, unique_paths(load_registry(REPO))) == current
