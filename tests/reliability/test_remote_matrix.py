"""Every way a remote can fail, for every kind of remote we ship, alone or before a working one.

Kinds: hf:// on the local Hub, s3:// on moto (server mode), a local directory. Failures: missing
credentials, bad credentials, unreachable endpoint, missing repo/bucket/directory, objects
missing, every request answered 5xx. Position: the only remote (the real `ckpt pull` in a
subprocess: exit 1, no traceback, no raw DVC log line, a reason naming the remote and the fix), or
the first of two whose second, a directory remote holding everything, works (`get_checkpoint` in
process: the file comes from the second, and the log says why the first was passed over and which
remote served). Combinations that cannot happen (credentials or 5xx answers of a directory) are in
NOT_APPLICABLE and in RELIABILITY.md. Then publishing and plain `dvc push`/`dvc pull` through
hf://, and the case from issue 12 through all three entry points.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from helpers.project import Project, checkpoint_bytes
from helpers.reliability import client_env
from helpers.s3 import no_credentials_env

from ckpt import get_checkpoint
from ckpt.errors import CheckpointUnavailable

# The default suite (`make test`) runs one case of every failure and of every kind of remote in
# each position (DEFAULT_* below); the slow tier (`make test-slow`) runs the rest of the matrix.
slow = pytest.mark.slow

NAME = "mp_20_vae"
VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
TOKEN = "hf_TESTmatrix7b1e0c9d4a2f6e8b3c5d"  # made up; the local Hub accepts it
BAD_TOKEN = "hf_TESTmatrixUNKNOWN000000000000"
REPO_ID = "chemeleon2/matrix-checkpoints"

KINDS = ("hf", "s3", "dir")
FAILURES = (
    "missing-credentials",
    "bad-credentials",
    "unreachable",
    "missing-repo",
    "object-missing",
    "5xx",
)
NOT_APPLICABLE = {
    ("dir", "missing-credentials"): "a directory remote has no credentials",
    ("dir", "bad-credentials"): "a directory remote has no credentials (file permissions are "
    "the analogue; the tests run as root, which ignores them)",
    ("dir", "unreachable"): "a directory has no endpoint; an unmounted drive is 'missing-repo'",
    ("dir", "5xx"): "a directory does not answer with HTTP statuses",
}
# What the reason must say (besides naming the remote), per kind and failure.
EXPECTED = {
    ("hf", "missing-credentials"): "no Hugging Face token is set",
    ("hf", "bad-credentials"): "refused the token (401 Invalid credentials",
    ("hf", "unreachable"): "cannot reach the Hub at http://127.0.0.1:",
    ("hf", "missing-repo"): f"hf://{REPO_ID} (branch 'main') was not found",
    ("hf", "object-missing"): "it does not hold the manifest",
    ("hf", "5xx"): "kept failing (503, after 4 tries)",
    ("s3", "missing-credentials"): "no AWS credentials found (NoCredentialsError): set "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ("s3", "bad-credentials"): "S3 refused access to bucket",
    ("s3", "unreachable"): "cannot reach S3 at http://127.0.0.1:",
    ("s3", "missing-repo"): "bucket 'no-such-bucket-",
    ("s3", "object-missing"): "it does not hold the manifest",
    ("s3", "5xx"): "kept failing (503",
    ("dir", "missing-repo"): "does not exist (a drive not mounted?)",
    ("dir", "object-missing"): "it does not hold the manifest",
}
# Together: every failure once, every kind of remote once alone and once before a working one.
DEFAULT_ALONE = {("hf", "missing-credentials"), ("s3", "bad-credentials"), ("dir", "missing-repo")}
DEFAULT_FIRST = {("hf", "5xx"), ("s3", "unreachable"), ("dir", "object-missing")}


def cases(default: set[tuple[str, ...]], pairs) -> list:
    """``pairs`` as params, those outside ``default`` marked slow."""
    return [
        pytest.param(*pair, id="-".join(pair), marks=() if pair in default else slow)
        for pair in pairs
    ]


PAIRS = [(k, f) for k in KINDS for f in FAILURES if (k, f) not in NOT_APPLICABLE]
REMOTE_NAMES = {"hf": "hf", "s3": "s3", "dir": "nas"}


@dataclass
class Failing:
    """A remote set up to fail in one way: its name and its .dvc/config options."""

    name: str
    options: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)  # replaces the project's env
    local: dict[str, str] = field(default_factory=dict)  # .dvc/config.local options


def dead_endpoint() -> str:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def failing_hf(failure: str, project: Project, request: pytest.FixtureRequest) -> Failing:
    from huggingface_hub import HfApi

    hub = request.getfixturevalue("hub_factory")(tokens={TOKEN: "rw"})
    if failure != "missing-repo":
        HfApi(endpoint=hub.url, token=TOKEN).create_repo(REPO_ID, private=True)
    if failure == "5xx":
        hub.inject("*", status=503)
    endpoint = dead_endpoint() if failure == "unreachable" else hub.url
    token = {"missing-credentials": None, "bad-credentials": BAD_TOKEN}.get(failure, TOKEN)
    home = project.root.parent / "home"
    return Failing(
        "hf",
        {"url": f"hf://{REPO_ID}", "endpoint": endpoint, "read_timeout": "5"},
        env=client_env(project.env, home),
        local={"token": token} if token else {},
    )


def failing_s3(failure: str, project: Project, request: pytest.FixtureRequest) -> Failing:
    server = request.getfixturevalue("s3_server")
    tmp = project.root.parent
    # Short retries: the 5xx and unreachable cases would otherwise wait out botocore's default
    # backoff (5 attempts); the other cases do not retry.
    env = project.env | server.env | {"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "2"}
    endpoint, bucket = server.endpoint_url, server.bucket
    if failure == "missing-credentials":
        env = no_credentials_env(env, tmp)
    elif failure == "bad-credentials":
        request.getfixturevalue("s3_checks_credentials")
    elif failure == "unreachable":
        endpoint = dead_endpoint()
    elif failure == "missing-repo":
        bucket = f"no-such-bucket-{server.bucket}"
    elif failure == "5xx":
        endpoint = request.getfixturevalue("failing_s3")
    options = {"url": f"s3://{bucket}/dvc", "endpointurl": endpoint, "connect_timeout": "2"}
    return Failing("s3", options, env=env)


def failing_dir(failure: str, project: Project, request: pytest.FixtureRequest) -> Failing:
    base = project.root.parent
    if failure == "missing-repo":
        url = base / "unmounted-drive" / "dvc"
    else:
        url = base / "empty-nas"
        url.mkdir()
    return Failing("nas", {"url": str(url)}, env=dict(project.env))


SETUP: dict[str, Callable[[str, Project, pytest.FixtureRequest], Failing]] = {
    "hf": failing_hf,
    "s3": failing_s3,
    "dir": failing_dir,
}


def configure(project: Project, failing: Failing, *, second: bool) -> None:
    """The failing remote as the default (tried first); the directory remote after it or gone."""
    lines = ["[core]", "    analytics = false", f"    remote = {failing.name}"]
    lines += [f"['remote \"{failing.name}\"']"]
    lines += [f"    {k} = {v}" for k, v in failing.options.items()]
    if second:
        lines += ["['remote \"local\"']", f"    url = {project.remote}"]
    (project.root / ".dvc" / "config").write_text("\n".join(lines) + "\n")
    local = project.root / ".dvc" / "config.local"
    local.unlink(missing_ok=True)
    if failing.local:
        opts = "".join(f"    {k} = {v}\n" for k, v in failing.local.items())
        local.write_text(f"['remote \"{failing.name}\"']\n{opts}")


@pytest.fixture
def setup_case(project: Project, request: pytest.FixtureRequest):
    def setup(kind: str, failure: str, *, second: bool) -> Failing:
        failing = SETUP[kind](failure, project, request)
        configure(project, failing, second=second)
        project.env = failing.env | {"CKPT_REPO": str(project.root)}
        project.env.pop("HF_TOKEN", None)
        return failing

    return setup


def assert_clean(text: str) -> None:
    assert "Traceback" not in text, text
    # DVC's own log lines stay out of what the user sees (`ckpt -v` shows them).
    assert "Missing cache files" not in text, text
    assert "failed to transfer" not in text, text


@pytest.mark.parametrize(("kind", "failure"), cases(DEFAULT_ALONE, PAIRS))
def test_ckpt_pull_with_only_the_failing_remote(
    setup_case, project: Project, kind: str, failure: str
):
    failing = setup_case(kind, failure, second=False)
    out = project.ckpt("pull", NAME)
    assert out.returncode == 1, out.stderr
    assert_clean(out.stdout + out.stderr)
    assert f"remote '{failing.name}' ({failing.options['url']}" in out.stderr, out.stderr
    assert EXPECTED[kind, failure] in out.stderr, out.stderr
    assert f"`ckpt pull {NAME}`" in out.stderr
    assert not (project.root / VAE).exists()


@pytest.mark.parametrize(("kind", "failure"), cases(DEFAULT_FIRST, PAIRS))
def test_get_checkpoint_falls_back_to_the_working_second_remote(
    setup_case,
    project: Project,
    kind: str,
    failure: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    failing = setup_case(kind, failure, second=True)
    use_env_in_process(project.env, monkeypatch)
    caplog.set_level(logging.INFO, logger="ckpt")
    path = get_checkpoint(NAME)
    assert path.read_bytes() == checkpoint_bytes(VAE)
    # What the loader said (DVC's own records reach caplog's root handler as in any application
    # that configures logging; the CLI's case is above).
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "ckpt")
    skipped = f"Remote '{failing.name}' could not supply {NAME}: "
    assert skipped in said
    assert EXPECTED[kind, failure] in said.split(skipped, 1)[1].splitlines()[0]
    assert f"Fetched {NAME} from remote 'local'" in said
    assert_clean(said)


@slow  # the loader's fallback by default: test_get_checkpoint_falls_back_...
def test_ckpt_pull_says_which_remote_served(setup_case, project: Project):
    failing = setup_case("s3", "missing-credentials", second=True)
    out = project.ckpt("pull", NAME)
    assert out.returncode == 0, out.stderr
    assert_clean(out.stdout + out.stderr)
    assert f"Remote '{failing.name}' could not supply {NAME}: no AWS credentials" in out.stderr
    assert f"Fetched {NAME} from remote 'local'" in out.stderr
    assert (project.root / VAE).read_bytes() == checkpoint_bytes(VAE)


def use_env_in_process(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What a subprocess would get from ``env``, for the variables the remotes' clients read."""
    prefixes = ("AWS_", "HF_", "DVC_")
    for key in [k for k in os.environ if k.startswith(prefixes)]:
        if key not in env:
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(prefixes) or key == "CKPT_REPO":
            monkeypatch.setenv(key, value)


def test_verbose_shows_the_original_error_and_dvc_lines(setup_case, project: Project):
    setup_case("s3", "missing-credentials", second=False)
    out = project.ckpt("-v", "pull", NAME)
    assert out.returncode == 1
    # The original error's traceback, once (as the cause of ours), and our one-line reason.
    assert out.stderr.count("botocore.exceptions.NoCredentialsError") == 1, out.stderr
    assert "no AWS credentials found" in out.stderr


# --- The case from issue 12: the Hub repo has no objects yet, and the machine no AWS keys. ----


@pytest.fixture
def hub_empty_s3_without_keys(project: Project, request: pytest.FixtureRequest, monkeypatch):
    hf = failing_hf("object-missing", project, request)
    s3 = failing_s3("missing-credentials", project, request)
    configure(project, hf, second=False)
    with open(project.root / ".dvc" / "config", "a") as config:
        config.write("['remote \"s3\"']\n")
        config.write("".join(f"    {k} = {v}\n" for k, v in s3.options.items()))
    project.env = s3.env | {k: v for k, v in hf.env.items() if k.startswith(("HF_", "DVC_"))}
    project.env |= {"CKPT_REPO": str(project.root)}
    use_env_in_process(project.env, monkeypatch)
    return project


ISSUE_REASONS = (
    "remote 'hf' (hf://chemeleon2/matrix-checkpoints, endpoint http://127.0.0.1:",
    "it does not hold the manifest",
    "remote 's3' (s3://",
    "no AWS credentials found (NoCredentialsError)",
    "dvc remote modify --local s3 access_key_id",
)


@slow  # the same reasons through get_checkpoint by default
def test_issue_case_through_ckpt_pull(hub_empty_s3_without_keys: Project):
    out = hub_empty_s3_without_keys.ckpt("pull", NAME)
    assert out.returncode == 1
    assert_clean(out.stdout + out.stderr)
    for fragment in ISSUE_REASONS:
        assert fragment in out.stderr, out.stderr
    assert "Remote 'hf' could not supply mp_20_vae" in out.stderr  # then s3 was tried


def test_issue_case_through_get_checkpoint(hub_empty_s3_without_keys: Project):
    with pytest.raises(CheckpointUnavailable) as raised:
        get_checkpoint(NAME)
    for fragment in ISSUE_REASONS:
        assert fragment in str(raised.value)
    assert type(raised.value.__cause__).__name__ == "NoCredentialsError"


@slow
def test_issue_case_skips_a_requires_checkpoints_test(
    hub_empty_s3_without_keys: Project, pytester: pytest.Pytester
):
    pytester.makepyfile(
        test_sample=(
            "import pytest\n"
            f"@pytest.mark.requires_checkpoints({NAME!r})\n"
            "def test_needs_it(checkpoint_paths):\n"
            "    pass\n"
        )
    )
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    text = result.stdout.str()
    assert "Traceback" not in text
    result.stdout.fnmatch_lines(
        [f"*checkpoints missing: {NAME}*remote 'hf'*remote 's3'*no AWS credentials found*"]
    )


# --- Publishing, and plain `dvc push`/`dvc pull` through hf://, fail as clearly. ------------

PUBLISH = {
    ("hf", "missing-credentials"): "No Hugging Face token for remote 'hf'",
    ("hf", "bad-credentials"): "The token for remote 'hf' (hf://chemeleon2/matrix-checkpoints on "
    "http://127.0.0.1:",
    ("hf", "unreachable"): "cannot reach the Hub at http://127.0.0.1:",
    ("hf", "missing-repo"): "does not exist or the token cannot see it",
    ("s3", "missing-credentials"): "Cannot access remote 's3' (s3://",
    ("s3", "bad-credentials"): "S3 refused access to bucket",
    ("s3", "unreachable"): "cannot reach S3 at http://127.0.0.1:",
    ("s3", "missing-repo"): "does not exist at http://127.0.0.1:",
}


@pytest.mark.parametrize(("kind", "failure"), cases({("hf", "bad-credentials")}, PUBLISH))
def test_ckpt_publish(setup_case, project: Project, kind: str, failure: str):
    project.dvc("pull", "-q")  # the files to publish, from the directory remote
    failing = setup_case(kind, failure, second=False)
    out = project.ckpt("publish", "-r", failing.name)
    assert out.returncode == 1, out.stderr
    assert_clean(out.stdout + out.stderr)
    assert f"remote '{failing.name}'" in out.stderr, out.stderr
    assert PUBLISH[kind, failure] in out.stderr, out.stderr
    if kind == "s3" and failure == "missing-credentials":
        assert "no AWS credentials found" in out.stderr


DVC_HF = {
    "missing-credentials": "no Hugging Face token is set",
    "bad-credentials": "refused the token (401",
    "unreachable": "cannot reach the Hub at http://127.0.0.1:",
    "missing-repo": "hf://chemeleon2/matrix-checkpoints (branch 'main') was not found",
}


@pytest.mark.parametrize(
    ("failure", "command"),
    cases(
        {("bad-credentials", "push")},
        [(f, c) for f in DVC_HF for c in ("push", "pull")],
    ),
)
def test_plain_dvc_through_hf(setup_case, project: Project, failure: str, command: str):
    if command == "push":
        project.dvc("pull", "-q")
    setup_case("hf", failure, second=False)
    out = project.dvc(command, check=False)
    assert out.returncode != 0
    assert "Traceback" not in out.stdout + out.stderr
    assert "unexpected error" not in out.stderr, out.stderr
    assert DVC_HF[failure] in out.stderr, out.stderr


def test_a_bug_of_ours_around_the_remote_call_is_not_translated(
    project: Project, monkeypatch: pytest.MonkeyPatch
):
    # Only what the remote call raises becomes a reason; a bug in the loader's own code next to
    # it (here, reading the manifest between two remote calls) must surface as itself, not as
    # "remote could not supply".
    import sys

    from ckpt.snapshot import Snapshot

    original = Snapshot.expected

    def broken(*args: object):  # type: ignore[no-untyped-def]
        if sys._getframe(1).f_code.co_name == "wanted":  # inside the fetch, beside the remote call
            raise TypeError("a bug of ours")
        return original(*args)

    monkeypatch.setattr(Snapshot, "expected", broken)
    with pytest.raises(TypeError, match="a bug of ours"):
        get_checkpoint(NAME)
