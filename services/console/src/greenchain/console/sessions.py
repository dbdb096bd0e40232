"""Sign-in sessions and CSRF tokens.

The session cookie holds only a random id (HttpOnly, SameSite=Strict, Secure over HTTPS); the
bearer token stays in this process's memory, never in the browser after sign-in. Every form
that changes something carries the session's CSRF token (synchronizer token); the sign-in form,
before there is a session, carries a double-submit token bound to a short-lived cookie. A
restart of the console signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from greenchain.common.auth import Principal

SESSION_COOKIE, SIGNIN_COOKIE = "greenchain_session", "greenchain_signin"
IDLE_SECONDS, MAX_SECONDS = 8 * 3600, 24 * 3600


@dataclass
class Session:
    principal: Principal
    token: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)

    def pop_flash(self) -> list[tuple[str, str]]:
        messages, self.flash = self.flash, []
        return messages


class Sessions:
    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def create(self, principal: Principal, token: str) -> tuple[str, Session]:
        self._expire()
        sid = secrets.token_urlsafe(32)
        session = Session(principal, token)
        self._by_id[sid] = session
        return sid, session

    def get(self, request: Request) -> Session | None:
        sid = request.cookies.get(SESSION_COOKIE, "")
        session = self._by_id.get(sid)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > IDLE_SECONDS or now - session.created > MAX_SECONDS:
            del self._by_id[sid]
            return None
        session.seen = now
        return session

    def drop(self, request: Request) -> None:
        self._by_id.pop(request.cookies.get(SESSION_COOKIE, ""), None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid, s in list(self._by_id.items()):
            if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
                del self._by_id[sid]


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def same_token(expected: str, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def same_origin(request: Request) -> bool:
    """A POST from a page of this console: its Origin (when the browser sends one) is ours."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin == f"{request.url.scheme}://{request.url.netloc}"
