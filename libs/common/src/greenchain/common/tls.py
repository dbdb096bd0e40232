"""TLS for greenchain's gRPC: server credentials that reload their certificates, client channels
that never send a bearer token in the clear beyond loopback.

Server side (``GREENCHAIN_TLS_CERT_FILE`` + ``GREENCHAIN_TLS_KEY_FILE``, optionally
``GREENCHAIN_TLS_CLIENT_CA_FILE`` for mTLS): both files or neither; a half or unreadable
configuration is a :class:`TlsConfigError` at start-up, never a silent fall-back to plaintext.
The files are read again when they change (gRPC asks before each new handshake), so a renewed
certificate (cert-manager, a rotated Secret) takes effect without a restart.

Client side (``GREENCHAIN_TLS_CA_FILE``, optionally ``GREENCHAIN_TLS_CLIENT_CERT_FILE`` +
``_KEY_FILE``): :func:`channel` builds a grpc.aio channel and refuses (:class:`PlaintextTokenError`)
to carry a token over plaintext to anything but a loopback address.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from greenchain.common.config import Settings

log = logging.getLogger(__name__)

EXIT_TLS_CONFIG = 78
"""Exit code of a service whose TLS or auth configuration cannot work (EX_CONFIG)."""


class TlsConfigError(ValueError):
    """TLS settings that cannot work (half configured, unreadable files): a start-up error."""


class PlaintextTokenError(ValueError):
    """A client was asked to send a bearer token over plaintext to a non-loopback address."""


def _read(setting: str, path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"{setting}={path}: cannot read it ({exc.strerror})") from None
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{setting}={path}: not a PEM file")
    return data


def _stamp(paths: Sequence[str]) -> tuple[tuple[int, int, int], ...]:
    """What changes when a file is replaced or rewritten (stat follows a Secret's symlinks)."""
    stamps = []
    for path in paths:
        st = os.stat(path)
        stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(stamps)


@dataclass(frozen=True)
class ServerTls:
    """The server's TLS files, checked at start-up."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerTls | None:
        """The TLS files of ``settings``; None for plaintext (no TLS setting at all).

        Raises :class:`TlsConfigError` for a certificate without key (or the reverse), a client
        CA without a server certificate, or a file that cannot be read."""
        cert, key, client_ca = (
            settings.tls_cert_file,
            settings.tls_key_file,
            settings.tls_client_ca_file,
        )
        if not (cert or key or client_ca):
            return None
        if not cert or not key:
            missing = "GREENCHAIN_TLS_KEY_FILE" if cert else "GREENCHAIN_TLS_CERT_FILE"
            given = "GREENCHAIN_TLS_CERT_FILE" if cert else "GREENCHAIN_TLS_KEY_FILE"
            if not cert and not key:
                given, missing = "GREENCHAIN_TLS_CLIENT_CA_FILE", "the server certificate"
            raise TlsConfigError(f"{given} is set but {missing} is not: TLS needs both")
        tls = cls(cert, key, client_ca)
        tls.configuration()  # every file readable and PEM now, not at the first handshake
        return tls

    @property
    def paths(self) -> list[str]:
        return [p for p in (self.cert_file, self.key_file, self.client_ca_file) if p]

    def configuration(self) -> Any:
        """A grpc server certificate configuration from the files as they are now."""
        return grpc.ssl_server_certificate_configuration(
            [
                (
                    _read("GREENCHAIN_TLS_KEY_FILE", self.key_file),
                    _read("GREENCHAIN_TLS_CERT_FILE", self.cert_file),
                )
            ],
            root_certificates=(
                _read("GREENCHAIN_TLS_CLIENT_CA_FILE", self.client_ca_file)
                if self.client_ca_file
                else None
            ),
        )

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials that re-read the files when they change (mTLS: client
        certificates required and verified against the client CA)."""
        return grpc.dynamic_ssl_server_credentials(
            self.configuration(),
            _Reloader(self),
            require_client_authentication=bool(self.client_ca_file),
        )


class _Reloader:
    """gRPC's certificate config fetcher: called before handshakes; a new configuration when the
    files changed, else None (keep the current one). A broken rewrite keeps the old one."""

    def __init__(self, tls: ServerTls) -> None:
        self.tls = tls
        self.lock = threading.Lock()  # gRPC may call from several threads
        self.stamp = _stamp(tls.paths)

    def __call__(self) -> Any:
        with self.lock:
            try:
                stamp = _stamp(self.tls.paths)
                if stamp == self.stamp:
                    return None
                configuration = self.tls.configuration()
            except (OSError, TlsConfigError) as exc:
                log.error("TLS files changed but cannot be used, keeping the old ones: %s", exc)
                return None
            self.stamp = stamp
            log.info("TLS certificate files changed: new handshakes use them")
            return configuration


def is_loopback(target: str) -> bool:
    """Whether a gRPC target (``host:port``, ``[::1]:port``, ``dns:///host:port``, ``unix:``)
    names this machine only."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    rest = target
    for scheme in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if rest.startswith(scheme):
            rest = rest[len(scheme) :]
            break
    host = rest.rpartition(":")[0] if rest.count(":") == 1 or rest.startswith("[") else rest
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClientTls:
    """What a client trusts and, for mTLS, presents."""

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings, ca_file: str = "") -> ClientTls:
        """From GREENCHAIN_TLS_CA_FILE (or ``ca_file``) and the client certificate settings;
        :class:`TlsConfigError` for a half pair or an unreadable file."""
        ca = ca_file or settings.tls_ca_file
        cert, key = settings.tls_client_cert_file, settings.tls_client_key_file
        if bool(cert) != bool(key):
            missing = "KEY_FILE" if cert else "CERT_FILE"
            raise TlsConfigError(f"a client certificate needs GREENCHAIN_TLS_CLIENT_{missing} too")
        if cert and not ca:
            raise TlsConfigError("GREENCHAIN_TLS_CLIENT_CERT_FILE needs GREENCHAIN_TLS_CA_FILE")
        return cls(
            _read("GREENCHAIN_TLS_CA_FILE", ca) if ca else None,
            _read("GREENCHAIN_TLS_CLIENT_CERT_FILE", cert) if cert else None,
            _read("GREENCHAIN_TLS_CLIENT_KEY_FILE", key) if key else None,
        )

    @property
    def secure(self) -> bool:
        return self.root_certificates is not None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            self.root_certificates, self.private_key, self.certificate_chain
        )


def check_token_transport(target: str, token: str, secure: bool, insecure_dev: bool) -> None:
    """Raises :class:`PlaintextTokenError` when a token would cross the network in the clear."""
    if token and not secure and not insecure_dev and not is_loopback(target):
        raise PlaintextTokenError(
            f"refusing to send a bearer token over plaintext to {target}: set "
            "GREENCHAIN_TLS_CA_FILE (or --ca-file) to talk TLS, or use a loopback address "
            "(GREENCHAIN_INSECURE_DEV=1 allows it, for development only)"
        )


def channel(
    target: str,
    tls: ClientTls,
    *,
    token: str = "",
    insecure_dev: bool = False,
    options: Sequence[tuple[str, Any]] | None = None,
    interceptors: Sequence[Any] | None = None,
) -> grpc.aio.Channel:
    """A grpc.aio channel to ``target``: TLS when ``tls`` trusts a CA, else plaintext, which
    :func:`check_token_transport` allows for a token only on loopback."""
    check_token_transport(target, token, tls.secure, insecure_dev)
    if tls.secure:
        return grpc.aio.secure_channel(
            target, tls.credentials(), options=options, interceptors=interceptors
        )
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


def listen_address(address: str, settings: Settings) -> str:
    """``address``, or its port on 127.0.0.1 when there is no tokens file (auth off: nobody but
    this machine may call) and GREENCHAIN_INSECURE_DEV is not set."""
    if settings.tokens_file or settings.insecure_dev or is_loopback(address):
        return address
    port = address.rpartition(":")[2]
    log.warning(
        "no GREENCHAIN_TOKENS_FILE (auth off): listening on 127.0.0.1:%s instead of %s "
        "(GREENCHAIN_INSECURE_DEV=1 would allow it, for development only)",
        port,
        address,
    )
    return f"127.0.0.1:{port}"
