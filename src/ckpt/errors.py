"""The exceptions that are part of ckpt's interface.

Each subclasses both ``CkptError`` and the builtin a caller would naturally catch, so code written
against the original plan (``except KeyError``, ``except ValueError``) keeps working.
"""

from __future__ import annotations


class CkptError(Exception):
    """Base class of every error ckpt raises on purpose."""


class CheckpointNotFound(CkptError, KeyError):
    """The name is not in the registry (``dvc.yaml`` ``artifacts:``)."""

    # KeyError.__str__ repr()s its argument, which would wrap a multi-line message in quotes.
    __str__ = Exception.__str__


class CheckpointSkipped(CkptError):
    """The checkpoint is missing and SKIP_CHECKPOINT_DOWNLOAD=true forbids fetching it."""


class ChecksumMismatch(CkptError, ValueError):
    """A file's bytes do not hash to what DVC recorded for it."""


class CheckpointUnavailable(CkptError, RuntimeError):
    """The checkpoint is missing and could not be fetched from any configured remote."""


class RegistryError(CkptError, ValueError):
    """``dvc.yaml``, ``ckpts.dvc`` or the repository layout is malformed or unsafe."""


class UnsafeCheckpoint(CkptError, ValueError):
    """A checkpoint's pickle references globals that could execute code when loaded."""


class LockTimeout(CkptError, TimeoutError):
    """Another process held the checkout's fetch lock for longer than allowed."""


class UnknownCheckpoint(CkptError, ValueError):
    """``resolve_checkpoint_path``: the argument is neither an existing file nor a registry name."""


class RevisionNotFound(CkptError, LookupError):
    """A git revision (tag, branch, commit) that this clone does not have, or no git at all."""
