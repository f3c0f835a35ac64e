"""How the client proves who it is: a GitHub App installation, a plain token, or nobody.

App auth signs a short RS256 JWT (``iat`` a minute in the past to absorb clock drift, ``exp``
nine minutes ahead, under GitHub's ten-minute cap), trades it for an installation token and
keeps that token until shortly before it expires. The trade happens once even when many
threads ask at the same moment. ``jwt`` and ``cryptography`` are imported only when signing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from healer.github.exceptions import GitHubError

TokenExchange = Callable[[str, str], Mapping[str, Any]]
"""``exchange(path, jwt)``: POST ``path`` with ``Authorization: Bearer <jwt>``, return the JSON."""

JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60
REFRESH_MARGIN_SECONDS = 5 * 60


class Auth(Protocol):
    """Supplies the ``Authorization`` header value for API calls (None: unauthenticated)."""

    def authorization(self, exchange: TokenExchange) -> str | None: ...

    def invalidate(self) -> None:
        """Forget any cached credential (GitHub answered 401 with it)."""


class AnonymousAuth:
    """No credentials: public repositories only, 60 requests an hour. Also the recorded mode."""

    def authorization(self, exchange: TokenExchange) -> str | None:
        return None

    def invalidate(self) -> None:
        return None

    def __repr__(self) -> str:
        return "AnonymousAuth()"


class TokenAuth:
    """A personal access token or any other long-lived token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("TokenAuth needs a non-empty token")
        self._token = token

    def authorization(self, exchange: TokenExchange) -> str | None:
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        return None

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


class AppAuth:
    """A GitHub App installation: JWT → installation token, cached until near its expiry."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        installation_id: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        if not (app_id and private_key and installation_id):
            raise ValueError("AppAuth needs an app id, a private key and an installation id")
        self.app_id = str(app_id)
        self.installation_id = str(installation_id)
        self._private_key = private_key
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    def app_jwt(self) -> str:
        """The app's own short-lived JWT, used only to ask for installation tokens."""
        import jwt

        now = int(self._clock())
        claims = {
            "iat": now - JWT_BACKDATE_SECONDS,
            "exp": now + JWT_LIFETIME_SECONDS,
            "iss": self.app_id,
        }
        return jwt.encode(claims, self._private_key, algorithm="RS256")

    def authorization(self, exchange: TokenExchange) -> str | None:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._refresh_margin:
                path = f"/app/installations/{self.installation_id}/access_tokens"
                answer = exchange(path, self.app_jwt())
                self._token, self._expires_at = _installation_token(answer, self._clock())
            return f"token {self._token}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._expires_at = 0.0


def _installation_token(answer: Mapping[str, Any], now: float) -> tuple[str, float]:
    """The token and its expiry (epoch seconds) from GitHub's access_tokens answer."""
    token = answer.get("token")
    if not isinstance(token, str) or not token:
        raise GitHubError("installation token answer has no 'token'")
    raw = answer.get("expires_at")
    if not isinstance(raw, str):
        # GitHub always sends it; without it assume the documented one-hour lifetime.
        return token, now + 3600
    try:
        expires = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GitHubError(f"installation token expires_at {raw!r} is not ISO 8601") from exc
    return token, expires.timestamp()
