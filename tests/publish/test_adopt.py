"""``ckpt adopt`` against a local Hub repo seeded the way Chemeleon2 keeps its checkpoints:
plain files under ``v0.0.1/`` and a README its authors wrote. Real huggingface_hub client, real
dvc CLI, the ``ckpt`` console script in a subprocess."""

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from helpers.project import Project, checkpoint_bytes, use_hf_remote
from huggingface_hub import CommitOperationAdd, HfApi

from ckpt.adopt import AdoptError, parse_source

# The default suite (`make test`) adopts once and refuses once; the slow tier has the rest.

RW = "hf_test_rw_token_adopt"
REPO_ID = "hspark1212/chemeleon2-checkpoints"
URL = f"hf://{REPO_ID}"
VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
AUTHORS_README = (
    "---\nlicense: mit\n---\n\n# Chemeleon2 checkpoints\n\nWritten by the authors; keep it.\n"
)


def seed(api: HfApi, repo_id: str, paths, prefix: str = "v0.0.1", repo_type: str = "model"):
    """The repo as `hf upload` left it: each checkpoint under PREFIX/, plus the authors' README."""
    api.create_repo(repo_id, repo_type=repo_type)
    ops = [
        CommitOperationAdd(f"{prefix}/{p.removeprefix('ckpts/')}", checkpoint_bytes(p))
        for p in sorted(set(paths))
    ]
    ops.append(CommitOperationAdd("README.md", AUTHORS_README.encode()))
    api.create_commit(repo_id, ops, commit_message="upload checkpoints", repo_type=repo_type)


@pytest.fixture
def hub(hub_factory):
    return hub_factory(tokens={RW: "rw"})


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url, token=RW)


@pytest.fixture
def consumer(tmp_path, hub, api, _project_template):
    """Chemeleon2 before adoption: the registry in dvc.yaml, no ckpts/, no ckpts.dvc; remote
    'hf' on its existing Hub repo (token in .dvc/config.local), which holds v0.0.1/..."""
    root = tmp_path / "consumer"
    shutil.copytree(_project_template.root, root, symlinks=True)
    for gone in ("ckpts", ".dvc/cache"):
        shutil.rmtree(root / gone)
    (root / "ckpts.dvc").unlink()
    (root / ".gitignore").unlink()  # written by the template's `dvc add`
    env = {k: v for k, v in _project_template.env.items() if not k.startswith("HF_TOKEN")}
    project = Project(root, tmp_path / "unused", env | {"HF_HUB_DISABLE_XET": "1"})
    use_hf_remote(project, URL, hub.url, RW)
    seed(api, REPO_ID, project.paths().values())
    return project


def snapshot(root: Path) -> dict[str, bytes | None]:
    """What a failed adoption must leave exactly as it was."""
    out = {}
    for name in ("dvc.yaml", "ckpts.dvc", ".dvcignore"):
        p = root / name
        out[name] = p.read_bytes() if p.exists() else None
    out["files"] = sorted(str(p) for p in (root / "ckpts").rglob("*")) if (root / "ckpts").exists() else []  # fmt: skip
    out["tmp"] = sorted(p.name for p in (root / ".dvc/tmp/ckpt").glob("adopt-*"))
    return out


def lfs_uploads(hub) -> tuple[int, int]:
    """(LFS upload requests, bytes they carried) so far, seeding included."""
    ups = hub.requests(kind="lfs-upload") + hub.requests(kind="lfs-part")
    return len(ups), sum(r["bytes_in"] for r in ups)


def file_gets(hub, prefix: str = "v0.0.1/") -> list[str]:
    return [
        r["path"].split("/resolve/", 1)[1].split("/", 1)[1]
        for r in hub.requests(kind="resolve", method="GET")
        if f"/{prefix}" in r["path"]
    ]


def test_adopt_downloads_once_verifies_places_and_records_origin(consumer, hub, api):
    before = (consumer.root / "dvc.yaml").read_text()
    out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", check=True)
    commit = api.repo_info(REPO_ID).sha

    unique = sorted(set(consumer.paths().values()))
    for path in unique:
        assert (consumer.root / path).read_bytes() == checkpoint_bytes(path)
    # Each distinct file crossed the wire once (aliases share one).
    gets = file_gets(hub)
    assert sorted(gets) == sorted(f"v0.0.1/{p.removeprefix('ckpts/')}" for p in unique)

    # dvc add ran: ckpts.dvc pins exactly these files, and DVC sees nothing to do.
    pinned = yaml.safe_load((consumer.root / "ckpts.dvc").read_text())["outs"][0]
    assert pinned["nfiles"] == len(unique)
    assert "up to date" in consumer.dvc("status").stdout

    # The origin of every entry, aliases included, with the resolved commit.
    entries = yaml.safe_load((consumer.root / "dvc.yaml").read_text())["artifacts"]
    for name, entry in entries.items():
        origin = entry["meta"]["origin"]
        data = checkpoint_bytes(entry["path"])
        assert origin == {
            "repo": REPO_ID,
            "revision": commit,
            "path": "v0.0.1/" + entry["path"].removeprefix("ckpts/"),
            "sha256": hashlib.sha256(data).hexdigest(),
        }, name
        assert entry["meta"]["dataset"] in ("mp_20", "alex_mp_20")  # the rest of meta kept
    # Round-trip edit: the comments and the other fields stay where they were.
    after = (consumer.root / "dvc.yaml").read_text()
    comments = [ln.strip() for ln in before.splitlines() if ln.strip().startswith("#")]
    assert comments == [ln.strip() for ln in after.splitlines() if ln.strip().startswith("#")]
    assert "labels: [vae, mp_20]" in after

    (add,) = [ln.split()[2:] for ln in out.stdout.splitlines() if "git add" in ln]
    assert sorted(add) == [".dvcignore", ".gitignore", "ckpts.dvc", "dvc.yaml"]
    assert "/ckpts" in (consumer.root / ".gitignore").read_text().splitlines()
    assert f"Adopt checkpoints from {URL}@{commit[:12]}" in out.stdout
    assert "mp_20_vae" in out.stdout and "v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt" in out.stdout

    # The loader serves them as published checkpoints.
    status = consumer.ckpt("status")
    assert status.returncode == 0, status.stdout + status.stderr


@pytest.mark.slow
def test_pushing_adopted_files_to_the_same_repo_uploads_no_lfs_bytes(consumer, hub, api):
    consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", check=True)
    batches, uploads = hub.count(kind="lfs-batch"), lfs_uploads(hub)
    consumer.dvc("push", "-r", "hf")
    # The push asked about every object (the LFS batch) and the Hub had each one already.
    assert hub.count(kind="lfs-batch") > batches
    assert lfs_uploads(hub) == uploads
    files = set(api.list_repo_files(REPO_ID))
    md5s = {hashlib.md5(checkpoint_bytes(p)).hexdigest() for p in consumer.paths().values()}
    assert {f"files/md5/{m[:2]}/{m[2:]}" for m in md5s} <= files

    # A clone gets them through DVC from that repo.
    shutil.rmtree(consumer.root / ".dvc" / "cache")
    (consumer.root / VAE).unlink()
    code = "from ckpt import get_checkpoint; print(get_checkpoint('mp_20_vae'))"
    got = consumer.python(code, check=True)
    assert Path(got.stdout.strip()).read_bytes() == checkpoint_bytes(VAE)


@pytest.mark.slow
def test_publish_after_adopt_keeps_the_layout_and_the_authors_readme(consumer, hub, api):
    consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", check=True)
    uploads = lfs_uploads(hub)
    out = consumer.ckpt("publish", check=True)
    assert "no readable copies" in out.stdout
    files = set(api.list_repo_files(REPO_ID))
    # v0.0.1/..., DVC's objects and the README: no third copy of the paths.
    assert {f.split("/")[0] for f in files} == {".gitattributes", "v0.0.1", "files", "README.md"}
    assert lfs_uploads(hub) == uploads

    readme = Path(api.hf_hub_download(REPO_ID, "README.md", cache_dir=consumer.root / "c")).read_text()  # fmt: skip
    assert readme.startswith(AUTHORS_README)
    assert readme.count("<!-- ckpt:begin") == 1 and readme.count("<!-- ckpt:end -->") == 1
    # The card points at the adopted files, which hold these very bytes.
    assert "| mp_20_vae | `v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt` |" in readme

    # A new version under its own prefix: one more set of paths, still no bytes uploaded.
    commits = hub.commits(REPO_ID)
    out = consumer.ckpt("publish", "--mirror-prefix", "v0.0.2", check=True)
    assert "readable copies under v0.0.2" in out.stdout
    files = set(api.list_repo_files(REPO_ID))
    layout = {f.split("/")[0] for f in files}
    assert layout == {".gitattributes", "v0.0.1", "v0.0.2", "files", "README.md"}
    assert "v0.0.2/mp_20/vae/dng_m4owq4i5_v0.ckpt" in files
    assert lfs_uploads(hub) == uploads
    assert hub.commits(REPO_ID) == commits + 1
    readme = Path(api.hf_hub_download(REPO_ID, "README.md", cache_dir=consumer.root / "d")).read_text()  # fmt: skip
    assert readme.startswith(AUTHORS_README) and readme.count("<!-- ckpt:begin") == 1
    assert "`v0.0.2/mp_20/vae/dng_m4owq4i5_v0.ckpt`" in readme

    # Same again: nothing changes, no commit.
    consumer.ckpt("publish", "--mirror-prefix", "v0.0.2", check=True)
    assert hub.commits(REPO_ID) == commits + 1


@pytest.mark.slow
def test_publish_refuses_to_overwrite_an_adopted_file_with_other_bytes(consumer, hub, api):
    consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", check=True)
    (consumer.root / VAE).write_bytes(b"PK\x03\x04\x00 retrained " * 1000)
    out = consumer.ckpt("publish", "--mirror-prefix", "v0.0.1")
    assert out.returncode == 1
    assert "would overwrite files adopted from this repo" in out.stderr
    assert "v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt" in out.stderr
    path = api.hf_hub_download(REPO_ID, "v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt", cache_dir=consumer.root / "c")  # fmt: skip
    assert Path(path).read_bytes() == checkpoint_bytes(VAE)


def test_a_wrong_prefix_suggests_the_one_found_and_changes_nothing(consumer, hub):
    before = snapshot(consumer.root)
    out = consumer.ckpt("adopt", URL)
    assert out.returncode == 1
    assert "not found in" in out.stderr and "nothing was adopted" in out.stderr
    assert "mp_20/vae/dng_m4owq4i5_v0.ckpt (mp_20_vae): not in the repo" in out.stderr
    assert "The repo holds: .gitattributes, README.md, v0.0.1/" in out.stderr
    assert "try --prefix v0.0.1" in out.stderr
    assert snapshot(consumer.root) == before
    assert file_gets(hub, "") == []  # checked before downloading anything


@pytest.mark.slow
def test_a_missing_file_is_named_and_nothing_is_adopted(consumer, hub, api):
    api.delete_file("v0.0.1/alex_mp_20/vae/dng_j1jgz9t0_v1.ckpt", REPO_ID)
    before = snapshot(consumer.root)
    out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1")
    assert out.returncode == 1
    assert "1 file(s) not found" in out.stderr
    assert (
        "v0.0.1/alex_mp_20/vae/dng_j1jgz9t0_v1.ckpt (alex_mp_20_vae): not in the repo" in out.stderr
    )
    assert "--map NAME=PATH_IN_REPO for the others" in out.stderr
    assert snapshot(consumer.root) == before
    assert file_gets(hub) == []


@pytest.mark.slow
def test_a_sha256_mismatch_leaves_nothing_half_adopted(consumer, hub):
    # Corrupt one LFS object in the Hub's store, same size: only a hash check can tell.
    sha = hashlib.sha256(checkpoint_bytes(VAE)).hexdigest()
    (blob,) = [p for p in hub.data_dir.rglob(sha[2:]) if p.parent.name == sha[:2]]
    blob.write_bytes(b"\x00" * blob.stat().st_size)
    before = snapshot(consumer.root)
    out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1")
    assert out.returncode == 1
    assert "v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt" in out.stderr
    assert f"the Hub records {sha}" in out.stderr and "nothing was adopted" in out.stderr
    assert snapshot(consumer.root) == before  # no file placed, no temp file left


@pytest.mark.slow
def test_an_existing_file_with_other_bytes_is_kept_and_refused(consumer):
    mine = consumer.root / VAE
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own training run")
    out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1")
    assert out.returncode == 1
    assert f"{VAE} already exists with other bytes" in out.stderr
    assert mine.read_bytes() == b"my own training run"
    assert not (consumer.root / "ckpts.dvc").exists()


@pytest.mark.slow
def test_identical_files_already_in_place_are_not_downloaded_again(consumer, hub):
    (consumer.root / VAE).parent.mkdir(parents=True)
    (consumer.root / VAE).write_bytes(checkpoint_bytes(VAE))
    out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", check=True)
    assert "1 already in place" in out.stdout
    assert "v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt" not in file_gets(hub)


@pytest.mark.slow
def test_map_takes_a_checkpoint_from_another_path(consumer, hub, api):
    api.upload_file(
        path_or_fileobj=checkpoint_bytes(VAE), path_in_repo="legacy/vae.ckpt", repo_id=REPO_ID
    )
    api.delete_file("v0.0.1/mp_20/vae/dng_m4owq4i5_v0.ckpt", REPO_ID)
    out = consumer.ckpt(
        "adopt", URL, "--prefix", "v0.0.1", "--map", "mp_20_vae=legacy/vae.ckpt", check=True
    )
    assert "legacy/vae.ckpt" in out.stdout
    entries = yaml.safe_load((consumer.root / "dvc.yaml").read_text())["artifacts"]
    assert entries["mp_20_vae"]["meta"]["origin"]["path"] == "legacy/vae.ckpt"
    assert (consumer.root / VAE).read_bytes() == checkpoint_bytes(VAE)


@pytest.mark.slow
def test_bad_maps_and_prefixes_are_refused_before_any_request(consumer, hub):
    before = snapshot(consumer.root)
    requests = hub.count()
    cases = [
        (["--map", "mp_20_vea=x.ckpt"], 2, "Did you mean 'mp_20_vae'"),
        (["--map", "mp_20_ldm=other.ckpt"], 1, "share a path share a file"),
        (["--map", "mp_20_vae"], 1, "expected NAME=PATH_IN_REPO"),
        (["--prefix", "../up"], 1, "no '..'"),
    ]
    for args, code, message in cases:
        out = consumer.ckpt("adopt", URL, "--prefix", "v0.0.1", *args)
        assert out.returncode == code and message in out.stderr, (args, out.stderr)
    assert snapshot(consumer.root) == before
    assert hub.count() == requests


@pytest.mark.slow
def test_unknown_repo_revision_or_endpoint(consumer, hub):
    cases = [
        (["hf://hspark1212/nope", "--endpoint", hub.url], "was not found on"),
        ([f"{URL}@v9.9.9"], "has no branch, tag or commit 'v9.9.9'"),
        ([URL, "--endpoint", "http://127.0.0.1:9"], "Cannot reach"),
    ]
    for args, message in cases:
        out = consumer.ckpt("adopt", *args, "--prefix", "v0.0.1")
        assert out.returncode == 1 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert not (consumer.root / "ckpts.dvc").exists()


@pytest.mark.slow
def test_dataset_repo_at_a_tag_with_endpoint_and_token_from_the_environment(
    consumer, hub, api, tmp_path
):
    """No remote on that repo: --endpoint and HF_TOKEN are used; @tag resolves to its commit."""
    seed(api, "chemeleon2/ckpts-data", consumer.paths().values(), "weights", "dataset")
    api.create_tag("chemeleon2/ckpts-data", tag="v1", repo_type="dataset")
    tagged = api.repo_info("chemeleon2/ckpts-data", repo_type="dataset", revision="v1").sha
    # A later commit on main changes a file: the tag must win.
    api.upload_file(
        path_or_fileobj=b"PK\x03\x04 newer" * 100,
        path_in_repo="weights/mp_20/vae/dng_m4owq4i5_v0.ckpt",
        repo_id="chemeleon2/ckpts-data",
        repo_type="dataset",
    )
    consumer.env["HF_TOKEN"] = RW
    out = consumer.ckpt(
        "adopt", "hf://datasets/chemeleon2/ckpts-data@v1", "--prefix", "weights",
        "--endpoint", hub.url, check=True,
    )  # fmt: skip
    assert "dvc remote add -d hf hf://datasets/chemeleon2/ckpts-data" in out.stdout
    assert (consumer.root / VAE).read_bytes() == checkpoint_bytes(VAE)
    origin = yaml.safe_load((consumer.root / "dvc.yaml").read_text())["artifacts"]["mp_20_vae"]
    assert origin["meta"]["origin"]["repo_type"] == "dataset"
    assert origin["meta"]["origin"]["revision"] == tagged


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/x", "is not a Hub repository URL"),
        ("hf://onlyorg", "does not name a Hub repository"),
        ("hf://spaces/a/b", "Spaces do not hold checkpoints"),
        ("hf://a/b/v0.0.1", "pass it as --prefix v0.0.1"),
        ("hf://a/b@", "nothing after '@'"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(AdoptError, match=message):
        parse_source(url)


def test_urls():
    assert parse_source("hf://a/b") == parse_source("hf://models/a/b@main")
    src = parse_source("hf://datasets/a/b@refs/pr/1")
    assert (src.repo_id, src.repo_type, src.revision) == ("a/b", "dataset", "refs/pr/1")
