"""Training entry point with Hydra-style overrides: ``python src/train_vae.py ckpt_path=NAME_OR_PATH``.

``ckpt_path`` (resume from) is a checkpoint file or a registry name; ``${hub:NAME}`` in any value
stands for the registry checkpoint NAME, through the OmegaConf resolver Chemeleon2 registers.
"""

import sys

from omegaconf import OmegaConf

from src.utils.checkpoint import resolve_checkpoint_path


def main(argv: list[str]) -> int:
    OmegaConf.register_new_resolver(
        "hub", lambda name: str(resolve_checkpoint_path(name)), replace=True
    )
    cfg = OmegaConf.from_dotlist(argv)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:
        ckpt_path = str(resolve_checkpoint_path(ckpt_path))
    print(f"ckpt_path={ckpt_path}")
    for key in sorted(k for k in cfg if k != "ckpt_path"):
        print(f"{key}={cfg[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
