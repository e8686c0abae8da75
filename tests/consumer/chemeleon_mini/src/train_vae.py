"""Training entry point, overrides in Hydra's shape: ``python src/train_vae.py ckpt_path=NAME_OR_PATH``.

``ckpt_path`` (resume from) is a checkpoint file or a registry name, and ``${hub:NAME}`` in a value
stands for the registry checkpoint NAME (Chemeleon2 registers it as an OmegaConf resolver).
"""

import re
import sys

from src.utils.checkpoint import resolve_checkpoint_path


def hub(name: str) -> str:
    return str(resolve_checkpoint_path(name))


def main(argv: list[str]) -> int:
    cfg = dict(arg.split("=", 1) for arg in argv)
    cfg = {k: re.sub(r"\$\{hub:([^}]+)\}", lambda m: hub(m[1]), v) for k, v in cfg.items()}
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:
        ckpt_path = str(resolve_checkpoint_path(ckpt_path))
    print(f"ckpt_path={ckpt_path}")
    for key, value in sorted(cfg.items()):
        if key != "ckpt_path":
            print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
