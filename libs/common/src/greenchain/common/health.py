"""``greenchain-health HOST:PORT [SERVICE]``: the gRPC health check as a command, for container
health checks (every service image has it). Exit 0 when the service (the server as a whole, or
the named health service) answers SERVING, 1 otherwise.
With ``GREENCHAIN_TLS_CA_FILE`` set it checks over TLS, trusting that CA (and presents
``GREENCHAIN_TLS_CLIENT_CERT_FILE`` when set, for a service that requires mTLS)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(
    target: str,
    timeout: float = 3.0,
    root_certificates: bytes | None = None,
    certificate_chain: bytes | None = None,
    private_key: bytes | None = None,
    service: str = "",
) -> tuple[bool, str]:
    """(serving?, what to print) for the service at ``target``; TLS when ``root_certificates``
    (PEM) are given, presenting ``certificate_chain``/``private_key`` when given (mTLS)."""
    channel = (
        grpc.secure_channel(
            target,
            grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain),
        )
        if root_certificates is not None
        else grpc.insecure_channel(target)
    )
    with channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as err:
            return False, f"{target}: {err.code().name}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return answer.status == health_pb2.HealthCheckResponse.SERVING, f"{target}: {status}"


def main(argv: Sequence[str] | None = None) -> int:
    from greenchain.common.config import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2):
        print("usage: greenchain-health HOST:PORT [SERVICE]", file=sys.stderr)
        return 2
    from greenchain.common.tls import ClientTls, TlsConfigError

    try:
        tls = ClientTls.from_settings(Settings.from_env())
    except TlsConfigError as exc:
        print(f"greenchain-health: {exc}", file=sys.stderr)
        return 2
    serving, text = check(
        args[0],
        3.0,
        tls.root_certificates,
        tls.certificate_chain,
        tls.private_key,
        service=args[1] if len(args) == 2 else "",
    )
    print(text)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
