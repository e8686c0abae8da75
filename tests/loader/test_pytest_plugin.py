"""The pytest plugin, loaded through its pytest11 entry point in a real pytest subprocess."""

import shutil

import pytest

TESTS = """
import pytest

@pytest.mark.requires_checkpoints("mp_20_vae", "alex_mp_20_ldm")
def test_needs_two(checkpoint_paths):
    assert sorted(checkpoint_paths) == ["alex_mp_20_ldm", "mp_20_vae"]
    assert checkpoint_paths["mp_20_vae"].name == "dng_m4owq4i5_v0.ckpt"
    assert checkpoint_paths["mp_20_vae"].stat().st_size > 0

@pytest.mark.smoke
@pytest.mark.baseline
def test_without_checkpoints():
    pass
"""


@pytest.fixture
def run(project, pytester):
    # The sample tests live in pytester's directory; CKPT_REPO (set by `project`) finds the registry.
    def run(*args, source=TESTS):
        pytester.makepyfile(test_sample=source)
        return pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider", *args)

    return run


def test_missing_checkpoints_skip_with_names_and_command(run, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    result = run()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            # Reported at the test (as a skipif mark is), not at the plugin's line.
            "SKIPPED [[]1[]] test_sample.py:[0-9]: checkpoints missing: mp_20_vae alex_mp_20_ldm. "
            "Fetch them with `ckpt pull mp_20_vae alex_mp_20_ldm`*"
        ]
    )


def test_unreachable_remote_skips_too(run, project):
    shutil.rmtree(project.remote)
    result = run()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*checkpoints missing: mp_20_vae alex_mp_20_ldm*Could not fetch*"])


def test_checkpoints_are_fetched_and_handed_to_the_test(run, project):
    result = run()
    result.assert_outcomes(passed=2)
    assert (project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").exists()


def test_marker_without_names_means_every_checkpoint(run, project):
    source = (
        "import pytest\n"
        "@pytest.mark.requires_checkpoints\n"
        "def test_all(checkpoint_paths):\n"
        "    assert len(checkpoint_paths) == 8\n"
    )
    run(source=source).assert_outcomes(passed=1)


def test_unknown_name_in_marker_is_an_error_not_a_skip(run):
    source = (
        "import pytest\n"
        "@pytest.mark.requires_checkpoints('mp_20_vea')\n"
        "def test_typo():\n    pass\n"
    )
    result = run(source=source)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Did you mean 'mp_20_vae'?*"])


def test_corrupt_checkpoint_is_an_error_not_a_skip(run, project):
    import json

    from ckpt.dvcfiles import object_path, tracked_dir_md5

    manifest = json.loads(object_path(project.remote, tracked_dir_md5(project.root)).read_bytes())
    md5 = next(e["md5"] for e in manifest if e["relpath"] == "mp_20/vae/dng_m4owq4i5_v0.ckpt")
    obj = object_path(project.remote, md5)
    obj.chmod(0o644)
    obj.write_bytes(b"x" + obj.read_bytes()[1:])
    result = run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ChecksumMismatch*"])


def test_fixture_without_marker_is_a_usage_error(run):
    result = run(source="def test_x(checkpoint_paths):\n    pass\n")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*uses checkpoint_paths without @pytest.mark.requires_checkpoints*"]
    )


def test_registers_only_its_own_marker_in_a_consumer_suite(run):
    # The consumer here (pytester's directory) has no ini file: every marker listed comes from
    # pytest itself or from a plugin, and ours may add only requires_checkpoints.
    result = run("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.requires_checkpoints(*names)*"])
    for marker in ("smoke", "baseline", "unit", "integration", "slow"):
        result.stdout.no_fnmatch_line(f"@pytest.mark.{marker}*")
