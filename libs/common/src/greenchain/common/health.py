"""``greenchain-health HOST:PORT``: the gRPC health check as a command, for container health
checks (every service image has it). Exit 0 when the service answers SERVING, 1 otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(target: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(serving?, what to print) for the service at ``target``."""
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError as err:
            return False, f"{target}: {err.code().name}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return answer.status == health_pb2.HealthCheckResponse.SERVING, f"{target}: {status}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: greenchain-health HOST:PORT", file=sys.stderr)
        return 2
    serving, text = check(args[0])
    print(text)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
