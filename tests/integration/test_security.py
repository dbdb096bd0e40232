"""The gRPC trust boundary with real servers on 127.0.0.1 (no Kafka needed): per-principal rate
limits with RetryInfo, tokens rotated without restart, no token in the logs, TLS and mTLS with
certificates made here (and renewed while serving), a half TLS configuration refused at start-up,
and clients that refuse to send a token in the clear beyond loopback."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from greenchain.client import cli
from greenchain.client.ledger import LedgerClient
from greenchain.common import auth
from greenchain.common.auth import hash_token, retry_delay
from greenchain.common.config import Settings
from greenchain.common.tls import EXIT_TLS_CONFIG, PlaintextTokenError
from greenchain.connector.client import Connector
from greenchain.console.ledger import Ledger
from greenchain.ingest.server import IngestServer
from greenchain.ledger.server import LedgerServer
from greenchain.testing.certificates import ServerCertificate, make_ca, server_certificate
from greenchain.v1 import declaration_pb2, ingest_pb2_grpc, ledger_pb2, ledger_pb2_grpc

TOKENS = {"tok-sup-a-1": "supplier:sup-a", "tok-sup-b-1": "supplier:sup-b"}


def write_tokens(path: Path, tokens: dict[str, str]) -> Path:
    """Writes a tokens file the way a Secret update does: a new file renamed over the old."""
    entries = [{"sha256": hash_token(t), "principal": p} for t, p in tokens.items()]
    fresh = path.with_suffix(".new")
    fresh.write_text(yaml.safe_dump({"tokens": entries}))
    os.replace(fresh, path)
    return path


def write_broken(path: Path, text: str = "tokens: [{sha256: short, principal: admin}]") -> None:
    path.write_text(text)


def md(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        tokens_file=str(write_tokens(tmp_path / "tokens.yaml", TOKENS)),
        ledger_db=str(tmp_path / "ledger.sqlite3"),
        ledger_listen="127.0.0.1:0",
        rate_limit_per_second=50.0,
        rate_limit_burst=200,
    )


@asynccontextmanager
async def ledger(settings: Settings) -> AsyncIterator[LedgerServer]:
    """The real ledger gRPC server (its SQLite store, no Kafka consumer: none needed here)."""
    server = LedgerServer(settings, listen="127.0.0.1:0")
    server.servicer.ready = True  # no consumer to catch up with: the store is all there is
    await server.server.start()
    try:
        yield server
    finally:
        await server.server.stop(None)
        server.store.close()


async def checkpoint(
    port: int, token: str, credentials: grpc.ChannelCredentials | None = None
) -> ledger_pb2.Checkpoint:
    target = f"127.0.0.1:{port}"
    channel = (
        grpc.aio.secure_channel(target, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(target)
    )
    async with channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        answer: ledger_pb2.Checkpoint = await stub.GetCheckpoint(
            ledger_pb2.GetCheckpointRequest(), metadata=md(token), timeout=10
        )
        return answer


# rate limits ------------------------------------------------------------------------------


async def test_a_principal_over_its_limit_gets_resource_exhausted_with_retry_info(
    settings: Settings,
) -> None:
    rate, burst = 2.0, 3
    async with ledger(settings.with_(rate_limit_per_second=rate, rate_limit_burst=burst)) as srv:
        for _ in range(burst):
            await checkpoint(srv.port, "tok-sup-a-1")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await checkpoint(srv.port, "tok-sup-a-1")
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "supplier:sup-a" in (refused.value.details() or "")
        delay = retry_delay(refused.value)
        assert delay is not None, "no google.rpc.RetryInfo in the status details"
        # the bucket was empty a moment ago: about one token's refill time, never more
        assert 0 < delay <= 1 / rate
        # another principal has its own bucket, and unknown callers do not drain sup-a's
        for _ in range(burst):
            await checkpoint(srv.port, "tok-sup-b-1")
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await checkpoint(srv.port, "not-a-token")
        assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_limit_refills_at_its_rate(settings: Settings) -> None:
    import asyncio

    async with ledger(settings.with_(rate_limit_per_second=20.0, rate_limit_burst=1)) as srv:
        await checkpoint(srv.port, "tok-sup-a-1")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await checkpoint(srv.port, "tok-sup-a-1")
        delay = retry_delay(refused.value)
        assert delay is not None
        await asyncio.sleep(delay + 0.05)  # waiting as told is enough
        await checkpoint(srv.port, "tok-sup-a-1")


async def test_ingest_has_the_same_per_principal_limit(settings: Settings) -> None:
    limited = settings.with_(rate_limit_per_second=1.0, rate_limit_burst=1)
    server = IngestServer(limited, listen="127.0.0.1:0")  # no Kafka: refused before it matters
    await server.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            empty = declaration_pb2.Declaration()
            codes = []
            for token in ("tok-sup-a-1", "tok-sup-a-1", "tok-sup-b-1"):
                with pytest.raises(grpc.aio.AioRpcError) as failed:
                    await stub.SubmitDeclaration(empty, metadata=md(token), timeout=10)
                codes.append(failed.value.code())
            assert retry_delay(failed.value) is None  # sup-b's own answer: no rate limit
    finally:
        await server.server.stop(None)
        await server.servicer.producer.stop()  # made, never started
    # sup-a's first call and sup-b's reach the servicer (which refuses an empty declaration);
    # sup-a's second is over its limit
    assert codes[1] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert codes[0] == codes[2] != grpc.StatusCode.RESOURCE_EXHAUSTED


# tokens: rotation and secrecy -------------------------------------------------------------


async def test_a_rotated_token_is_refused_and_its_successor_accepted_without_restart(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ledger(settings) as srv:
        await checkpoint(srv.port, "tok-sup-a-1")
        write_tokens(Path(settings.tokens_file), {"tok-sup-a-2": "supplier:sup-a"})
        with pytest.raises(grpc.aio.AioRpcError) as old:
            await checkpoint(srv.port, "tok-sup-a-1")
        assert old.value.code() == grpc.StatusCode.UNAUTHENTICATED
        await checkpoint(srv.port, "tok-sup-a-2")
        # a broken rewrite keeps the tokens in force rather than locking everyone out
        write_broken(Path(settings.tokens_file))
        await checkpoint(srv.port, "tok-sup-a-2")
        assert "unusable, keeping the previous tokens" in caplog.text
        # a YAML error quotes the offending line: the log must not
        write_broken(Path(settings.tokens_file), f"tokens: [{{sha256: {hash_token('tok-x')}")
        await checkpoint(srv.port, "tok-sup-a-2")
        assert "not valid YAML" in caplog.text
        assert hash_token("tok-x") not in caplog.text
    for secret in ("tok-sup-a-1", "tok-sup-a-2", "tok-sup-b-1"):
        assert secret not in caplog.text


async def test_no_token_is_ever_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ledger(settings.with_(rate_limit_per_second=1.0, rate_limit_burst=1)) as srv:
        for token in ("tok-sup-a-1", "tok-sup-a-1", "wrong-secret-token"):
            with suppress(grpc.aio.AioRpcError):
                await checkpoint(srv.port, token)
    assert "rate limit: supplier:sup-a" in caplog.text  # the refusal was logged ...
    for secret in ("tok-sup-a-1", "wrong-secret-token", hash_token("tok-sup-a-1")):
        assert secret not in caplog.text  # ... without the token


# TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientCertificate:
    ca_file: Path  # GREENCHAIN_TLS_CLIENT_CA_FILE of the server
    cert_pem: bytes
    key_pem: bytes


def client_certificate(directory: Path) -> ClientCertificate:
    """A client CA (written to a file) and a client certificate it signed."""
    ca, ca_key = make_ca("greenchain test client CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "console")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "client-ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ClientCertificate(
        ca_file,
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def tls_settings(settings: Settings, cert: ServerCertificate) -> Settings:
    return settings.with_(tls_cert_file=str(cert.cert_file), tls_key_file=str(cert.key_file))


async def test_tls_handshake_and_a_renewed_certificate_without_restart(
    settings: Settings, tmp_path: Path
) -> None:
    first = server_certificate(tmp_path / "first")
    async with ledger(tls_settings(settings, first)) as srv:
        answer = await checkpoint(
            srv.port, "tok-sup-a-1", grpc.ssl_channel_credentials(first.ca_pem)
        )
        assert answer.note  # a signed checkpoint came back over TLS
        with pytest.raises(grpc.aio.AioRpcError) as plain:
            await checkpoint(srv.port, "tok-sup-a-1")  # plaintext to a TLS port
        assert plain.value.code() == grpc.StatusCode.UNAVAILABLE
        # renewal: new files (from another CA) in place; new connections get the new certificate
        renewed = server_certificate(tmp_path / "renewed")
        for source, target in (
            (renewed.cert_file, first.cert_file),
            (renewed.key_file, first.key_file),
        ):
            os.replace(source, target)
        await checkpoint(srv.port, "tok-sup-a-1", grpc.ssl_channel_credentials(renewed.ca_pem))
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await checkpoint(srv.port, "tok-sup-a-1", grpc.ssl_channel_credentials(first.ca_pem))
        assert stale.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mtls_refuses_a_client_without_a_certificate(
    settings: Settings, tmp_path: Path
) -> None:
    server = server_certificate(tmp_path / "server")
    client = client_certificate(tmp_path / "client")
    mtls = tls_settings(settings, server).with_(tls_client_ca_file=str(client.ca_file))
    async with ledger(mtls) as srv:
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await checkpoint(srv.port, "tok-sup-a-1", grpc.ssl_channel_credentials(server.ca_pem))
        assert anonymous.value.code() == grpc.StatusCode.UNAVAILABLE
        stranger = client_certificate(tmp_path / "stranger")  # signed by a CA the server ignores
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await checkpoint(
                srv.port,
                "tok-sup-a-1",
                grpc.ssl_channel_credentials(server.ca_pem, stranger.key_pem, stranger.cert_pem),
            )
        assert unknown.value.code() == grpc.StatusCode.UNAVAILABLE
        answer = await checkpoint(
            srv.port,
            "tok-sup-a-1",
            grpc.ssl_channel_credentials(server.ca_pem, client.key_pem, client.cert_pem),
        )
        assert answer.note


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda c: {"GREENCHAIN_TLS_CERT_FILE": str(c.cert_file)}, id="cert-only"),
        pytest.param(lambda c: {"GREENCHAIN_TLS_KEY_FILE": str(c.key_file)}, id="key-only"),
        pytest.param(
            lambda c: {
                "GREENCHAIN_TLS_CERT_FILE": str(c.cert_file),
                "GREENCHAIN_TLS_KEY_FILE": str(c.key_file.with_name("missing.key")),
            },
            id="unreadable-key",
        ),
        pytest.param(
            lambda c: {"GREENCHAIN_TLS_CLIENT_CA_FILE": str(c.cert_file)}, id="client-ca-only"
        ),
    ],
)
def test_a_half_tls_configuration_is_a_start_up_error(
    broken: Callable[[ServerCertificate], dict[str, str]], tmp_path: Path
) -> None:
    cert = server_certificate(tmp_path / "tls")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GREENCHAIN_")},
        "GREENCHAIN_LEDGER_DB": str(tmp_path / "ledger.sqlite3"),
        "GREENCHAIN_LEDGER_LISTEN": "127.0.0.1:0",
        "GREENCHAIN_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # never reached
        **broken(cert),
    }
    done = subprocess.run(
        [sys.executable, "-m", "greenchain.ledger"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_TLS_CONFIG, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("greenchain-ledger: GREENCHAIN_TLS_"), done.stderr
    assert "Traceback" not in done.stderr


# clients: no token in the clear beyond loopback -------------------------------------------

REMOTE = "ledger.invalid:50052"  # never resolved: the refusal comes before any connection


def test_clients_refuse_a_token_over_plaintext_to_a_remote_address() -> None:
    with pytest.raises(PlaintextTokenError, match="GREENCHAIN_TLS_CA_FILE"):
        Connector(REMOTE, token="secret").channel()
    with pytest.raises(PlaintextTokenError, match="GREENCHAIN_TLS_CA_FILE"):
        LedgerClient(REMOTE, token="secret")._channel()
    with pytest.raises(PlaintextTokenError, match="GREENCHAIN_TLS_CA_FILE"):
        Ledger(Settings(ledger_target=REMOTE))  # the console sends its users' tokens


async def test_clients_allow_plaintext_without_token_on_loopback_or_in_dev_mode() -> None:
    for channel in (
        Connector(REMOTE).channel(),  # no token to protect
        Connector("127.0.0.1:50051", token="secret").channel(),
        Connector("[::1]:50051", token="secret").channel(),
        LedgerClient("localhost:50052", token="secret")._channel(),
        LedgerClient(REMOTE, token="secret", insecure_dev=True)._channel(),
    ):
        await channel.close()


def test_the_cli_names_the_setting_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ratings", "--chain", "c1", "--target", REMOTE, "--token", "secret"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "GREENCHAIN_TLS_CA_FILE" in err, err
    assert "secret" not in err


def test_auth_module_has_no_log_call_with_a_token_argument() -> None:
    """The auth paths' log statements name principals and files, never token variables."""
    import ast
    import inspect

    for module in (auth,):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
            ):
                names = {n.id for a in node.args for n in ast.walk(a) if isinstance(n, ast.Name)}
                assert not names & {"token", "digest", "metadata"}, ast.unparse(node)
