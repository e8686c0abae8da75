"""Hugging Face Hub repositories as a DVC remote (``hf://``).

Importing this package is free: the start-up hook (``dvc_hf._hook``) imports it, so it must not
import dvc or huggingface_hub. The filesystem lives in ``dvc_hf.fs``.
"""
