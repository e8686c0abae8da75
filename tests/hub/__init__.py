"""Tests of the local Hub (ckpt.hub), driving the real huggingface_hub client."""
