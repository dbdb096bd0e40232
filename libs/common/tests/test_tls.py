"""Transport rules without a service: loopback detection, loopback-only listening without a
tokens file, TLS settings checked before serving, token refusal over plaintext."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest

from greenchain.common.config import Settings
from greenchain.common.grpc_server import bind
from greenchain.common.tls import (
    ClientTls,
    PlaintextTokenError,
    ServerTls,
    TlsConfigError,
    check_token_transport,
    is_loopback,
    listen_address,
)


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1:50051",
        "127.3.2.1:1",
        "localhost:50052",
        "[::1]:50051",
        "dns:///localhost:1",
        "ipv4:127.0.0.1:5",
        "unix:/tmp/sock",
        "127.0.0.1",
    ],
)
def test_loopback_targets(target: str) -> None:
    assert is_loopback(target)


@pytest.mark.parametrize(
    "target",
    [
        "0.0.0.0:50051",
        "[::]:50051",
        ":50051",
        "ledger:50052",
        "10.0.0.1:1",
        "dns:///ledger:1",
        "localhost.example.com:1",
        "[2001:db8::1]:443",
    ],
)
def test_other_targets(target: str) -> None:
    assert not is_loopback(target)


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}
"""127.0.0.1 in /proc/net/tcp, and as an IPv4-mapped IPv6 address in /proc/net/tcp6."""


def listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


async def test_without_tokens_a_service_listens_on_loopback_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = grpc.aio.server()
    port = bind(server, "0.0.0.0:0", Settings())
    found = listening_addresses(port)
    assert found and found <= LOOPBACK, found  # 127.0.0.1 (maybe as ::ffff:127.0.0.1) only
    assert "listening on 127.0.0.1:0 instead of 0.0.0.0:0" in caplog.text
    await server.stop(None)
    # the control: with the development switch the same call listens on every address
    server = grpc.aio.server()
    port = bind(server, "0.0.0.0:0", Settings(insecure_dev=1))
    assert not listening_addresses(port) <= LOOPBACK
    await server.stop(None)


def test_the_development_switch_or_a_tokens_file_allow_any_address(tmp_path: Path) -> None:
    assert listen_address("0.0.0.0:1", Settings(insecure_dev=1)) == "0.0.0.0:1"
    assert listen_address("0.0.0.0:1", Settings(tokens_file="t.yaml")) == "0.0.0.0:1"
    assert listen_address("0.0.0.0:1", Settings()) == "127.0.0.1:1"
    assert listen_address("[::1]:1", Settings()) == "[::1]:1"


def test_tls_settings_are_all_or_nothing(tmp_path: Path) -> None:
    pem = tmp_path / "x.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    assert ServerTls.from_settings(Settings()) is None
    with pytest.raises(TlsConfigError, match="GREENCHAIN_TLS_KEY_FILE is not"):
        ServerTls.from_settings(Settings(tls_cert_file=str(pem)))
    with pytest.raises(TlsConfigError, match="GREENCHAIN_TLS_CERT_FILE is not"):
        ServerTls.from_settings(Settings(tls_key_file=str(pem)))
    with pytest.raises(TlsConfigError, match="cannot read"):
        ServerTls.from_settings(Settings(tls_cert_file=str(pem), tls_key_file="/nonexistent"))
    not_pem = tmp_path / "key.txt"
    not_pem.write_text("hello")
    with pytest.raises(TlsConfigError, match="not a PEM file"):
        ServerTls.from_settings(Settings(tls_cert_file=str(pem), tls_key_file=str(not_pem)))
    with pytest.raises(TlsConfigError, match="GREENCHAIN_TLS_CLIENT_KEY_FILE"):
        ClientTls.from_settings(Settings(tls_ca_file=str(pem), tls_client_cert_file=str(pem)))


def test_a_token_goes_in_the_clear_only_to_loopback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    check_token_transport("127.0.0.1:1", "t0k", secure=False, insecure_dev=False)
    check_token_transport("ledger:1", "", secure=False, insecure_dev=False)
    check_token_transport("ledger:1", "t0k", secure=True, insecure_dev=False)
    check_token_transport("ledger:1", "t0k", secure=False, insecure_dev=True)
    with pytest.raises(PlaintextTokenError, match="GREENCHAIN_TLS_CA_FILE") as refused:
        check_token_transport("ledger:1", "t0k", secure=False, insecure_dev=False)
    assert "t0k" not in str(refused.value)
