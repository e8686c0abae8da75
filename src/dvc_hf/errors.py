"""The hf:// remote's errors. DvcException subclasses, so dvc reports them as its own: one line,
no traceback; each also subclasses the builtin a caller would catch for that kind of failure."""

from dvc.exceptions import DvcException


class HfRemoteError(DvcException):
    """Base class of the hf:// remote's errors."""


class HfConfigError(HfRemoteError, ValueError):
    """The remote URL or options cannot work."""


class HfCorruptObjectError(HfRemoteError, OSError):
    """An object's bytes on the Hub do not hash to its name."""


class HfRepoNotFoundError(HfRemoteError, FileNotFoundError):
    """The Hub repository (or branch) does not exist or the token cannot see it."""


class HfUnsupportedVersionError(HfRemoteError, RuntimeError):
    """An installed dvc, dvc-data, dvc-objects or huggingface_hub is outside the tested ranges,
    or a function dvc-hf wraps has another shape than it expects."""
