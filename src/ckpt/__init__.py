"""Versioned, verified model checkpoints: DVC-tracked, published to the Hugging Face Hub and S3."""
