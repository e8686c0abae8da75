"""Structure featurization with a pre-trained VAE (a stand-in: features come from its bytes)."""

import hashlib
from pathlib import Path

from src.utils.checkpoint import get_checkpoint

DEFAULT_MODEL_PATH = get_checkpoint("mp_20_vae")  # fetched on first import when missing


def featurize(structures: list[str], model_path: str | Path | None = None) -> dict[str, list]:
    weights = Path(model_path or DEFAULT_MODEL_PATH).read_bytes()
    key = hashlib.sha256(weights).digest()
    features = [list(hashlib.sha256(key + s.encode()).digest()[:8]) for s in structures]
    return {"structure_features": features, "model": str(model_path or DEFAULT_MODEL_PATH)}
