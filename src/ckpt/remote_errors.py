"""What a remote's failure means for the user: one line naming the cause and the likely fix.

The loader fetches through DVC, whose remotes raise whatever their library raises: botocore and
s3fs for ``s3://``, huggingface_hub and httpx for ``hf://`` (dvc_hf already turns the common cases
into its own one-line errors), fsspec and OSError for directories, DVC's own exceptions. Each is
recognised here by its class names along the ``__cause__``/``__context__`` chain, so none of
those libraries is imported to classify an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RemoteInfo:
    """A configured DVC remote as the user wrote it: name, URL and (if set) its endpoint."""

    name: str
    url: str
    endpoint: str | None = None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else "local"


# botocore's exceptions by class name.
_AWS_NO_CREDENTIALS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "NoAuthTokenError",
}
_AWS_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ProxyConnectionError",
    "ClientConnectorError",  # aiohttp, when aiobotocore lets it through
    "ServerDisconnectedError",
}
# S3 error codes: the signature or key was refused, vs. the key is known but lacks permission.
_AWS_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
}
_AWS_DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "InvalidSecurity"}
_AWS_SERVER = {"InternalError", "ServiceUnavailable", "SlowDown", "503", "500"}


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it was raised from (or during), outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def explain(exc: BaseException, remote: RemoteInfo) -> str:
    """One line: what went wrong talking to ``remote``, and what to do about it."""
    # A library's own error type says more than the OSError it may be wrapped in (s3fs turns a
    # 403 into PermissionError, keeping botocore's ClientError as the cause).
    for explain_one in (_explain_library, _explain_os):
        for link in chain(exc):
            reason = explain_one(link, remote)
            if reason:
                return reason
    if "DvcException" in _names(exc):
        return _first_line(exc)  # DVC's own messages are written for users
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return f"{type(exc).__name__}: {_first_line(exc)} (`ckpt -v pull` shows where it came from)"


def _explain_library(exc: BaseException, remote: RemoteInfo) -> str | None:
    names = _names(exc)
    aws = type(exc).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp")
    if aws and names & _AWS_NO_CREDENTIALS:
        return _aws_no_credentials(remote, exc)
    if aws and names & _AWS_UNREACHABLE:
        return (
            f"cannot reach S3 at {_s3_endpoint(remote)} ({type(exc).__name__}): check the "
            f"network and the endpoint (`dvc remote modify {remote.name} endpointurl URL`; "
            "without one, AWS itself)"
        )
    if aws and "ClientError" in names:
        return _aws_client_error(exc, remote)
    if "HfRemoteError" in names:
        # dvc_hf's own messages already say what to do; it cannot know the remote's name.
        return _first_line(exc).replace("<name>", remote.name)
    if "HfHubHTTPError" in names:
        return _hub_http_error(exc, remote)
    if "TransportError" in names and type(exc).__module__.startswith("httpx"):
        return (
            f"cannot reach the Hub at {remote.endpoint or 'its endpoint'} "
            f"({type(exc).__name__}: {_first_line(exc)}): check the network and the endpoint "
            f"(`dvc remote modify {remote.name} endpoint URL`)"
        )
    return None


def _explain_os(exc: BaseException, remote: RemoteInfo) -> str | None:
    if "PermissionError" in _names(exc):
        return (
            f"permission denied ({_first_line(exc)}): check the access rights of {remote.url} "
            "for this user"
        )
    return None


def _aws_no_credentials(remote: RemoteInfo, exc: BaseException) -> str:
    what = "incomplete AWS credentials" if "Partial" in type(exc).__name__ else "no AWS credentials"
    return (
        f"{what} found ({type(exc).__name__}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        f"(or AWS_PROFILE), or store them for this checkout with `dvc remote modify --local "
        f"{remote.name} access_key_id ...` and `... secret_access_key ...`"
    )


def _aws_client_error(exc: BaseException, remote: RemoteInfo) -> str | None:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    detail = f"{code or status}: {error.get('Message') or _first_line(exc)}"
    bucket = _bucket(remote.url)
    if code in _AWS_BAD_CREDENTIALS:
        return (
            f"S3 refused the credentials ({detail}): check AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or the ones stored with `dvc remote modify "
            f"--local {remote.name} access_key_id ...`"
        )
    if code in _AWS_DENIED or status == 403:
        # A HEAD request's 403 has no body: refused credentials and missing rights look alike.
        return (
            f"S3 refused access to bucket '{bucket}' ({detail}): the credentials are wrong or "
            "lack read access (s3:ListBucket, s3:GetObject). Check AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), the ones stored with `dvc remote modify "
            f"--local {remote.name} access_key_id ...`, and the bucket's policy"
        )
    if code == "NoSuchBucket":
        return (
            f"bucket '{bucket}' does not exist at {_s3_endpoint(remote)} ({detail}): check the "
            f"remote's URL (`dvc remote modify {remote.name} url s3://BUCKET/PATH`) and endpoint"
        )
    if code in _AWS_SERVER or (isinstance(status, int) and status >= 500):
        return (
            f"S3 at {_s3_endpoint(remote)} kept failing ({detail}, after retries): the service "
            "has trouble; try again later"
        )
    return None if not (code or status) else f"S3 answered {detail}"


def _hub_http_error(exc: BaseException, remote: RemoteInfo) -> str | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    where = remote.endpoint or "the Hub"
    if status == 401:
        return (
            f"{where} refused the token (401): set HF_TOKEN, run `hf auth login`, or store one "
            f"for this checkout with `dvc remote modify --local {remote.name} token hf_...`"
        )
    if status == 403:
        return (
            f"{where} denied access (403: {_first_line(exc)}): the token lacks access to "
            f"{remote.url}; use a token that has it (HF_TOKEN or `dvc remote modify --local "
            f"{remote.name} token hf_...`)"
        )
    if isinstance(status, int) and status >= 500:
        return f"{where} kept failing ({status}, after retries): try again later"
    if status == 429:
        return f"{where} is rate-limiting this client (429): wait a few minutes and try again"
    return None


def _s3_endpoint(remote: RemoteInfo) -> str:
    return remote.endpoint or "AWS's default S3 endpoint"


def _bucket(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def missing_bucket(remote: RemoteInfo, bucket: str) -> str:
    return (
        f"bucket '{bucket}' does not exist at {_s3_endpoint(remote)}: check the remote's URL "
        f"(`dvc remote modify {remote.name} url s3://BUCKET/PATH`) and endpoint"
    )


def missing_objects(remote: RemoteInfo, missing: list[str], root: Path) -> str:
    """The remote answered, but without (some of) the files: say so, and where they come from."""
    if remote.scheme == "local":
        # DVC resolves a relative directory remote against .dvc/, where the config lives.
        directory = (root / ".dvc" / os.path.expanduser(remote.url)).resolve()
        if not directory.is_dir():
            return (
                f"the directory {directory} does not exist (a drive not mounted?): mount it, or "
                f"point the remote at the right place (`dvc remote modify {remote.name} url PATH`)"
            )
    return (
        f"it does not hold {', '.join(missing)}: push them there from a checkout that has them "
        f"(`dvc push -r {remote.name}`), or fetch from another remote (`dvc remote list`)"
    )
