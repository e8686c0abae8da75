"""The one exception route handlers raise: it becomes an HTTP error in the Hub's format."""

from __future__ import annotations


class HubHTTPError(Exception):
    """An error response: status, message (X-Error-Message and JSON ``error``), X-Error-Code.

    The client maps ``X-Error-Code`` to its exception types (RepoNotFound ->
    RepositoryNotFoundError, ...), and HEAD responses carry no body, so the headers are what count.
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def repo_not_found(status: int = 404) -> HubHTTPError:
    return HubHTTPError(status, "Repository not found", "RepoNotFound")


def revision_not_found(revision: str) -> HubHTTPError:
    return HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str) -> HubHTTPError:
    return HubHTTPError(404, f"Entry not found: {path}", "EntryNotFound")


def bad_request(message: str) -> HubHTTPError:
    return HubHTTPError(400, message)


class DroppedConnection(Exception):
    """A fault cut the connection: no (further) response is sent."""
