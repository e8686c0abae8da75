"""Write stand-in checkpoints for the registry's paths (the real ones cannot be fetched here).

Each stand-in is a Lightning-style checkpoint (state_dict, hyper_parameters, epoch, global_step,
...) saved with torch.save, of about --size bytes, and byte-for-byte reproducible for a given
--seed, so `dvc add ckpts` records the same md5s on every machine. See ckpt_devtools.standins (tools/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ckpt.errors import CkptError
from ckpt.registry import find_repo_root, load_registry, lookup, unique_paths
from ckpt_devtools.standins import MIN_SIZE, make_standins, parse_size


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:  # argparse would hide the message behind "invalid value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make_checkpoints.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  python scripts/make_checkpoints.py                    # every registry path, 2MB\n"
            "  python scripts/make_checkpoints.py --size 1.5GiB mp_20_vae\n"
            "  python scripts/make_checkpoints.py --format pickle --repo /tmp/demo  # no torch\n"
        ),
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="registry names (dvc.yaml artifacts) to write; default: every distinct path",
    )
    parser.add_argument(
        "--size",
        default="2MB",
        type=_size,
        help=f"approximate bytes per file: '300k', '2MB' (SI) or '1.5GiB' (IEC); "
        f"default 2MB, minimum {MIN_SIZE}",
    )
    parser.add_argument("--seed", type=int, default=0, help="different seed, different bytes")
    parser.add_argument(
        "--repo",
        type=Path,
        default=None,
        help="repository root holding dvc.yaml; default: the one containing the current directory",
    )
    parser.add_argument(
        "--format",
        choices=("torch", "pickle"),
        default="torch",
        help="'torch' (default, needs torch): real torch.save checkpoints; 'pickle': plain "
        "pickles of the same keys with bytes for tensors, for storage tests without torch",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace existing files that differ (they may be real checkpoints); by default "
        "they are left untouched and reported",
    )
    args = parser.parse_args(argv)

    try:
        root = args.repo.absolute() if args.repo else find_repo_root()
        registry = load_registry(root)
        if args.names:
            relpaths = [lookup(registry, name).path for name in args.names]
        else:
            relpaths = unique_paths(registry)
        written = make_standins(
            root, relpaths, args.size, seed=args.seed, fmt=args.format, overwrite=args.force
        )
    except (CkptError, ImportError, FileExistsError, ValueError) as exc:
        print(f"make_checkpoints: error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path.stat().st_size:>14,d}  {path.relative_to(root).as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
