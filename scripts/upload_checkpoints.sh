#!/usr/bin/env bash
# Publish the checkpoints under ckpts/ to every configured DVC remote (see CONTRIBUTING.md).
# Thin wrapper over `ckpt publish`: it checks the token and the registry before any work,
# runs `dvc add ckpts` and `dvc push`, mirrors to the Hub, and prints what to commit.
# Usage: scripts/upload_checkpoints.sh [-r REMOTE ...] [--mirror-prefix PREFIX | --no-mirror] [--version X.Y.Z]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
if [ -x .venv/bin/ckpt ]; then
    exec .venv/bin/ckpt publish "$@"
elif command -v ckpt >/dev/null; then
    exec ckpt publish "$@"
fi
echo "error: the ckpt command is not installed. Run 'make test' once (it creates .venv)," >&2
echo "or 'pip install -e .' in your environment, then run this script again." >&2
exit 2
