"""Bearer-token authentication and the principals of DESIGN.md section 8.

A tokens file (YAML) stores only SHA-256 hashes of tokens, each mapped to a principal::

    tokens:
      - sha256: 9f86d081884c7d65...   # sha256 of the token, hex
        principal: supplier:sup-001     # or chain:<id>, verifier:<id>, or admin

``greenchain token --principal supplier:sup-001`` makes a token and prints its line. Clients send
``authorization: Bearer <token>`` metadata. Without a tokens file auth is off and every caller is
``admin``: for local development only (the services log a warning).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import grpc
import yaml

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


class TokenStore:
    """Maps bearer tokens to principals; ``None`` store means auth is off."""

    def __init__(self, hashed: dict[str, Principal]) -> None:
        self._hashed = hashed

    @classmethod
    def load(cls, path: str | Path) -> TokenStore:
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
        return cls(hashed)

    def principal(self, token: str) -> Principal | None:
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


def load_store(tokens_file: str) -> TokenStore | None:
    """The tokens of ``tokens_file``; None (auth off, with a warning) when there is none."""
    if not tokens_file:
        log.warning("no tokens file: authentication is OFF (every caller is admin)")
        return None
    return TokenStore.load(tokens_file)
