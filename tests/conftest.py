"""Shared test setup. Environment first: huggingface_hub and DVC read these at import time."""

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

# The local Hub does not speak Xet, telemetry would try the network, and no test may read the
# developer's own DVC or Hub configuration or credentials.
_isolated = tempfile.mkdtemp(prefix="ckpt-tests-")
os.environ.update(
    {
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HOME": os.path.join(_isolated, "hf-home"),
        "DVC_NO_ANALYTICS": "1",
        # dvc_hf's documented knob (docs/DVC_HF.md): retries of 50, 100, 200 ms instead of 1, 2,
        # 4 s. The tests count tries and read messages, never the waits' length; the tests of the
        # default waits unset it.
        "DVC_HF_RETRY_WAIT": "0.05",
        "DVC_GLOBAL_CONFIG_DIR": os.path.join(_isolated, "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": os.path.join(_isolated, "dvc-system"),
        "DVC_SITE_CACHE_DIR": os.path.join(_isolated, "dvc-site-cache"),
        "GIT_AUTHOR_NAME": "ckpt tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "ckpt tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    }
)
# SKIP_CHECKPOINT_DOWNLOAD is left as the caller set it: it keeps tests/baseline off the network.
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "CKPT_REPO", "HF_ENDPOINT"):
    os.environ.pop(_var, None)

pytest_plugins = ["pytester", "helpers.project", "helpers.hub", "helpers.s3"]


# tests/baseline run the plugin in this checkout: with SKIP_CHECKPOINT_DOWNLOAD its cold path still
# takes the checkout lock, a file under DVC's scratch directory. Removed again if this run made it.
_SCRATCH = Path(__file__).resolve().parents[1] / ".dvc" / "tmp"
_LOCK = _SCRATCH / "ckpt" / "pull.lock"
_had_lock = _LOCK.exists()


def pytest_unconfigure(config: object) -> None:
    # Each pytest process (the controller and every xdist worker) imports this file and made its
    # own directory above; each removes its own, so runs leave nothing in the system temp dir.
    shutil.rmtree(_isolated, ignore_errors=True)
    # DVC's API clones the repos it reads from into the temp dir, and only its CLI's exit removes
    # them; DVC's own test suites (tests/dvc_hf) use that API in this process.
    open_repo = sys.modules.get("dvc.repo.open_repo")
    if open_repo is not None and hasattr(open_repo, "clean_repos"):
        open_repo.clean_repos()
    if not _had_lock and not hasattr(config, "workerinput"):  # the controller, once workers end
        _LOCK.unlink(missing_ok=True)
        for folder in (_LOCK.parent, _SCRATCH):
            with contextlib.suppress(OSError):  # not empty: something else keeps it
                folder.rmdir()
