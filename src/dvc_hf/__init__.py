"""Hugging Face Hub repositories as a DVC remote (``hf://``)."""
