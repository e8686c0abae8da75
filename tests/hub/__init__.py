"""Tests of the local Hub (hubsim, under tools/), driving the real huggingface_hub client."""
