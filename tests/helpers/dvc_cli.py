"""Plain-`dvc`-CLI helpers for the hf:// remote's tests: a temp git + DVC repo, fresh Hub repos."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

from helpers.hub import LocalHub

DVC_BIN = str(Path(sys.executable).with_name("dvc"))

_names = itertools.count()


def new_repo(hub: LocalHub, prefix: str = "dvc") -> str:
    from huggingface_hub import HfApi

    repo_id = f"tests/{prefix}-{uuid.uuid4().hex[:8]}-{next(_names)}"
    HfApi(endpoint=hub.url).create_repo(repo_id, repo_type="dataset")
    return repo_id


class DvcCli:
    """Runs ``dvc`` (the installed console script) in a fresh git + DVC repo."""

    def __init__(self, root: Path, hf_home: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        self.env |= {
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HOME": str(hf_home),
            "DVC_NO_ANALYTICS": "1",
        }
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        self.ok("init", "-q")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DVC_BIN, *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result
