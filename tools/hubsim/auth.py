"""Who is calling and what they may do; signed URLs for the LFS transfers that carry no token.

Without configured tokens the server is open: anyone reads and writes. With tokens it behaves like
the Hub: an unknown token is rejected outright, anonymous callers read public repos only, a private
repo is invisible (RepoNotFound) to them, and writing needs a token with the ``rw`` scope.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from hubsim.errors import HubHTTPError, repo_not_found

URL_LIFETIME_S = 24 * 3600


@dataclass(frozen=True)
class Caller:
    name: str
    token: str | None
    can_write: bool


def user_name(token: str) -> str:
    """The public name of a token's holder. Never the token itself: names end up in commit
    authors, repo namespaces and whoami, which any reader of a repo sees."""
    return "user-" + hashlib.sha256(token.encode()).hexdigest()[:10]


class Auth:
    def __init__(self, tokens: dict[str, str], secret: bytes) -> None:
        self.tokens = tokens  # token -> "rw" | "ro"
        self.secret = secret

    def identify(self, authorization: str | None) -> Caller:
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip() or None
        if not self.tokens:
            return Caller(user_name(token) if token else "anonymous", token, True)
        if token is None:
            return Caller("anonymous", None, False)
        scope = self.tokens.get(token)
        if scope is None:
            raise HubHTTPError(401, "Invalid credentials in Authorization header")
        return Caller(user_name(token), token, scope == "rw")

    def check_read(self, caller: Caller, private: bool) -> None:
        if private and caller.token is None and self.tokens:
            # The Hub answers 401 + RepoNotFound so as not to reveal that the repo exists.
            raise repo_not_found(401)

    def check_write(self, caller: Caller) -> None:
        if caller.can_write:
            return
        if caller.token is None:
            raise HubHTTPError(401, "You must be authenticated to write to a repository.")
        raise HubHTTPError(
            403, "Forbidden: you must use a write token to upload to a repository", None
        )

    def sign(self, *parts: object, expires: int | None = None) -> str:
        """Query string authorising exactly ``parts`` until ``expires``."""
        expires = expires or int(time.time()) + URL_LIFETIME_S
        return f"exp={expires}&sig={self._mac(parts, expires)}"

    def verify(self, parts: tuple[object, ...], expires: str, sig: str) -> None:
        try:
            exp = int(expires)
        except ValueError:
            exp = 0
        if exp < time.time() or not hmac.compare_digest(self._mac(parts, exp), sig):
            raise HubHTTPError(403, "Invalid or expired upload signature")

    def _mac(self, parts: tuple[object, ...], expires: int) -> str:
        msg = "\0".join(str(p) for p in (*parts, expires)).encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()
