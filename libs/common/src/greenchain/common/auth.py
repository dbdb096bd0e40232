"""Bearer-token authentication and the principals of DESIGN.md section 8.

A tokens file (YAML) stores only SHA-256 hashes of tokens, each mapped to a principal::

    tokens:
      - sha256: 9f86d081884c7d65...   # sha256 of the token, hex
        principal: supplier:sup-001     # or chain:<id>, verifier:<id>, or admin

``greenchain token --principal supplier:sup-001`` makes a token and prints its line. Clients send
``authorization: Bearer <token>`` metadata. The file is re-read when it changes (rotation without
restart: a replaced token is refused from the next call on). Without a tokens file auth is off and
every caller is ``admin``: for local development only; the services then listen on loopback only
(:func:`greenchain.common.tls.listen_address`) and log a warning.

:class:`RateLimits` gives each principal a token bucket of calls (``GREENCHAIN_RATE_LIMIT_*``);
a caller over it gets RESOURCE_EXHAUSTED with a google.rpc.RetryInfo saying when to retry.

Tokens are secrets: nothing here logs one, nor puts one in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import grpc
import token_bucket
import yaml
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from greenchain.common.config import Settings
from greenchain.common.grpc_server import Context, abort

log = logging.getLogger(__name__)

Kind = Literal["supplier", "chain", "verifier", "admin"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a supplier (its own data), a chain leader (its chain), a verification
    body (records that declarations were verified: ingest's VerifyDeclaration only), or admin."""

    kind: Kind
    id: str = ""

    @classmethod
    def parse(cls, text: str) -> Principal:
        kind, _, ident = text.partition(":")
        if kind == "admin" and not ident:
            return cls("admin")
        if kind in ("supplier", "chain", "verifier") and ident:
            return cls(kind, ident)  # type: ignore[arg-type]
        raise ValueError(
            f"bad principal {text!r}: expected supplier:<id>, chain:<id>, verifier:<id> or admin"
        )

    def __str__(self) -> str:
        return self.kind if self.kind == "admin" else f"{self.kind}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"


ADMIN = Principal("admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


Stamp = tuple[int, int, int]
_MISSING: Stamp = (-1, -1, -1)


def _stamp(path: str | Path) -> Stamp:
    """Changes when the file is rewritten or replaced (stat follows a Secret's symlinks)."""
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _parse(path: str | Path) -> dict[str, Principal]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    hashed: dict[str, Principal] = {}
    for i, entry in enumerate(data.get("tokens", [])):
        try:
            digest = str(entry["sha256"]).lower()
            if len(digest) != 64:
                raise ValueError("sha256 must be 64 hex characters")
            hashed[digest] = Principal.parse(str(entry["principal"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: tokens[{i}]: {exc}") from None
    return hashed


def _why(exc: Exception) -> str:
    """What is wrong with a tokens file, without quoting it (a YAML error would show a line)."""
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        return f"not valid YAML (line {mark.line + 1})" if mark is not None else "not valid YAML"
    return str(exc)


class TokenStore:
    """Maps bearer tokens to principals; ``None`` store means auth is off.

    A store loaded from a file checks the file's stat before each look-up and re-reads it when
    it changed; a rewrite that does not parse is logged and the previous tokens stay in force.
    """

    def __init__(self, hashed: dict[str, Principal], path: str | Path | None = None) -> None:
        self._hashed = hashed
        self._path = path
        self._stamp: Stamp | None = _stamp(path) if path is not None else None

    @classmethod
    def load(cls, path: str | Path) -> TokenStore:
        stamp = _stamp(path)
        store = cls(_parse(path), path)
        store._stamp = stamp  # the version parsed, even if the file changed since
        return store

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            stamp = _stamp(self._path)
        except OSError:
            stamp = _MISSING
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a broken or missing version is reported once, not on every call
        try:
            self._hashed = _parse(self._path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            log.error(
                "tokens file %s unusable, keeping the previous tokens: %s", self._path, _why(exc)
            )
            return
        log.info("tokens file %s re-read: %d tokens", self._path, len(self._hashed))

    def principal(self, token: str) -> Principal | None:
        self._refresh()
        digest = hash_token(token)
        for known, principal in self._hashed.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def authenticate(store: TokenStore | None, context: Context) -> Principal:
    """The caller's principal; aborts the RPC with UNAUTHENTICATED when the token is bad."""
    if store is None:
        return ADMIN
    token = bearer_token(context.invocation_metadata())
    if token is None:
        await abort(context, grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
    principal = store.principal(token)
    if principal is None:
        await abort(context, grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token")
    return principal


_stores: dict[str, TokenStore] = {}


def load_store(tokens_file: str) -> TokenStore | None:
    """The tokens of ``tokens_file`` (one reloading store per file in a process, shared by the
    servicer and :class:`RateLimits`); None (auth off, with a warning) when there is none."""
    if not tokens_file:
        log.warning("no tokens file: authentication is OFF (every caller is admin)")
        return None
    if tokens_file not in _stores:
        _stores[tokens_file] = TokenStore.load(tokens_file)
    return _stores[tokens_file]


UNAUTHENTICATED_KEY = "unauthenticated"
"""The one bucket shared by calls without a known token (their own RPC then refuses them)."""


class RateLimits(grpc.aio.ServerInterceptor):
    """A token bucket of calls per principal on greenchain's own services (not health or
    reflection): ``rate`` calls per second refill a bucket of ``burst``. A call finding its
    bucket empty ends with RESOURCE_EXHAUSTED and a google.rpc.RetryInfo whose delay is the
    time until the bucket holds a token again.

    token-bucket (falconry's) does the bucket arithmetic; keys are the principals of the tokens
    file plus one for unknown callers, so the number of buckets stays bounded.
    """

    def __init__(self, store: TokenStore, rate: float, burst: int) -> None:
        self.store = store
        self.rate = rate
        self.buckets = token_bucket.MemoryStorage()
        self.limiter = token_bucket.Limiter(rate, burst, self.buckets)

    def key(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        token = bearer_token(metadata)
        principal = self.store.principal(token) if token is not None else None
        return str(principal) if principal is not None else UNAUTHENTICATED_KEY

    def retry_delay(self, key: str) -> float | None:
        """None when ``key`` may call now (a token taken), else seconds until it may."""
        if self.limiter.consume(key):
            return None
        missing = 1.0 - self.buckets.get_token_count(key)  # consume() just refilled it
        return max(missing, 0.0) / self.rate

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith("/greenchain."):
            return handler
        key = self.key(handler_call_details.invocation_metadata)
        delay = self.retry_delay(key)
        if delay is None:
            return handler
        log.warning(
            "rate limit: %s over %g calls/s on %s", key, self.rate, handler_call_details.method
        )
        return _refusing(handler, exhausted_status(key, self.rate, delay))


def exhausted_status(key: str, rate: float, delay: float) -> grpc.Status:
    """RESOURCE_EXHAUSTED carrying a google.rpc.RetryInfo of ``delay`` seconds."""
    retry = any_pb2.Any()
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(max(int(delay * 1e9), 1_000_000))  # at least 1 ms
    retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration))
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=f"rate limit of {key}: {rate:g} calls/s; retry in {delay:.3f} s",
        details=[retry],
    )
    result: grpc.Status = rpc_status.to_status(status)
    return result


def retry_delay(error: grpc.RpcError) -> float | None:
    """The RetryInfo delay (seconds) of a failed call (client side), None if it has none."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToNanoseconds()) / 1e9
    return None


def _refusing(
    handler: grpc.RpcMethodHandler[Any, Any], status: grpc.Status
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as ``handler`` that ends the call with ``status``."""
    parse, respond = handler.request_deserializer, handler.response_serializer

    async def refuse(request: Any, context: Context) -> Any:
        await context.abort_with_status(status)

    async def refuse_stream(request: Any, context: Context) -> AsyncIterator[Any]:
        await context.abort_with_status(status)
        yield  # pragma: no cover - makes this an async generator

    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(refuse, parse, respond)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, parse, respond)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(refuse, parse, respond)
    return grpc.stream_stream_rpc_method_handler(refuse_stream, parse, respond)


def rate_limits(settings: Settings) -> RateLimits | None:
    """The rate-limit interceptor ``settings`` ask for; None without a limit or a tokens file
    (then every caller is the same local admin: nothing to tell apart)."""
    store = load_store(settings.tokens_file) if settings.tokens_file else None
    if store is None or settings.rate_limit_per_second <= 0:
        return None
    return RateLimits(store, settings.rate_limit_per_second, max(settings.rate_limit_burst, 1))
