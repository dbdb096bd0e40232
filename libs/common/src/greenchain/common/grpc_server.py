"""What both gRPC servers share: the server itself (limits, TLS, tracing, health, reflection)
and the error helpers that turn problems into proper status codes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from greenchain.common.config import Settings
from greenchain.common.metrics import GRPC_HANDLED, GRPC_HANDLING_SECONDS
from greenchain.common.tls import ServerTls, listen_address

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
"""A server-side call context (request and response types vary by RPC)."""

Violation = tuple[str, str]
"""(field path, description) of one bad field."""


async def abort(context: Context, code: grpc.StatusCode, message: str) -> NoReturn:
    """End the RPC with ``code``; never returns."""
    await context.abort(code, message)
    raise AssertionError("unreachable: context.abort raises")


def bad_request_status(message: str, violations: Sequence[Violation]) -> grpc.Status:
    """INVALID_ARGUMENT carrying a google.rpc.BadRequest with one entry per bad field."""
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in violations
            ]
        )
    )
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])
    result: grpc.Status = rpc_status.to_status(status)
    return result


async def abort_invalid(
    context: Context, message: str, violations: Sequence[Violation]
) -> NoReturn:
    await context.abort_with_status(bad_request_status(message, violations))
    raise AssertionError("unreachable: context.abort_with_status raises")


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[Violation]:
    """The BadRequest field violations of a failed call (client side), [] if none."""
    status = rpc_status.from_call(error)
    found: list[Violation] = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.extend((v.field, v.description) for v in bad.field_violations)
    return found


def server_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", 16 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


class _Undecodable:
    """Stands in for a request message whose bytes did not parse."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _lenient(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:
            return _Undecodable(exc)

    return parse


async def _refuse(context: Context, request: _Undecodable) -> NoReturn:
    await abort(
        context,
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request is not a valid protobuf message of this method: {request.error}",
    )


class UndecodableRequests(grpc.aio.ServerInterceptor):
    """Answers request bytes that do not parse with INVALID_ARGUMENT (grpc itself would answer
    UNKNOWN, "Unexpected DecodeError"): a client's mistake gets a client-error status."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        # Any: grpc's stubs type handler behaviours as synchronous; in grpc.aio they are async
        parse = _lenient(handler.request_deserializer)
        respond = handler.response_serializer
        if handler.unary_unary is not None:
            unary_unary: Any = handler.unary_unary

            async def checked_unary_unary(request: Any, context: Context) -> Any:
                if isinstance(request, _Undecodable):
                    await _refuse(context, request)
                return await unary_unary(request, context)

            return grpc.unary_unary_rpc_method_handler(checked_unary_unary, parse, respond)
        if handler.unary_stream is not None:
            unary_stream: Any = handler.unary_stream

            async def checked_unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
                if isinstance(request, _Undecodable):
                    await _refuse(context, request)
                async for response in unary_stream(request, context):
                    yield response

            return grpc.unary_stream_rpc_method_handler(checked_unary_stream, parse, respond)
        if handler.stream_stream is not None:
            stream_stream: Any = handler.stream_stream

            async def checked_stream_stream(
                requests: AsyncIterator[Any], context: Context
            ) -> AsyncIterator[Any]:
                async def checked() -> AsyncIterator[Any]:
                    async for request in requests:
                        if isinstance(request, _Undecodable):
                            await _refuse(context, request)
                        yield request

                async for response in stream_stream(checked(), context):
                    yield response

            return grpc.stream_stream_rpc_method_handler(checked_stream_stream, parse, respond)
        return handler  # stream-unary: none in greenchain


class _Call:
    """One RPC being measured: counted and timed when it finishes, and logged (DEBUG, or INFO
    when it failed) inside its trace. Never logs metadata (bearer tokens)."""

    def __init__(self, details: grpc.HandlerCallDetails, kind: str, context: Context) -> None:
        name = str(details.method)
        # read now, while the call is alive: a stream handler's generator can be finalized
        # after grpc freed the call, and context.peer() then segfaulted (the ingest fuzz test)
        self.peer = context.peer()
        self.method = name
        self.service, _, self.rpc = name.lstrip("/").rpartition("/")
        self.kind = kind
        self.started = time.perf_counter()

    def done(self, context: Context, error: BaseException | None) -> None:
        elapsed = time.perf_counter() - self.started
        code = context.code()
        if not isinstance(code, grpc.StatusCode):
            if error is None:
                code = grpc.StatusCode.OK
            elif isinstance(error, grpc.aio.AbortError):
                code = grpc.StatusCode.UNKNOWN
            else:
                # CancelledError or a generator closed mid-stream: the client went away;
                # anything else grpc answers UNKNOWN
                code = (
                    grpc.StatusCode.CANCELLED
                    if isinstance(error, asyncio.CancelledError | GeneratorExit)
                    else grpc.StatusCode.UNKNOWN
                )
        GRPC_HANDLED.labels(self.service, self.rpc, self.kind, code.name).inc()
        GRPC_HANDLING_SECONDS.labels(self.service, self.rpc, self.kind).observe(elapsed)
        level = logging.DEBUG if code == grpc.StatusCode.OK else logging.INFO
        if log.isEnabledFor(level):
            log.log(
                level,
                "rpc %s %s in %.1f ms from %s",
                self.method,
                code.name,
                elapsed * 1000,
                self.peer,
            )


class ServerMetrics(grpc.aio.ServerInterceptor):
    """Prometheus ``grpc_server_handled_total`` and ``grpc_server_handling_seconds`` per method
    and status code, and an access log line per failed RPC."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        details = handler_call_details
        parse, respond = handler.request_deserializer, handler.response_serializer
        if handler.unary_unary is not None:
            unary_unary: Any = handler.unary_unary

            async def timed_unary_unary(request: Any, context: Context) -> Any:
                call, error = _Call(details, "unary", context), None
                try:
                    return await unary_unary(request, context)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    call.done(context, error)

            return grpc.unary_unary_rpc_method_handler(timed_unary_unary, parse, respond)
        if handler.unary_stream is not None:
            unary_stream: Any = handler.unary_stream

            async def timed_unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
                call, error = _Call(details, "server_stream", context), None
                try:
                    async for response in unary_stream(request, context):
                        yield response
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    call.done(context, error)

            return grpc.unary_stream_rpc_method_handler(timed_unary_stream, parse, respond)
        if handler.stream_stream is not None:
            stream_stream: Any = handler.stream_stream

            async def timed_stream_stream(
                requests: AsyncIterator[Any], context: Context
            ) -> AsyncIterator[Any]:
                call, error = _Call(details, "bidi_stream", context), None
                try:
                    async for response in stream_stream(requests, context):
                        yield response
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    call.done(context, error)

            return grpc.stream_stream_rpc_method_handler(timed_stream_stream, parse, respond)
        return handler  # stream-unary: none in greenchain


def make_server(settings: Settings, options: Sequence[tuple[str, int]] = ()) -> grpc.aio.Server:
    """A grpc.aio server with message-size limits, OpenTelemetry server spans, Prometheus
    metrics per method, INVALID_ARGUMENT for undecodable requests and per-principal rate limits
    (with a tokens file); ``options`` are added to the shared ones."""
    from greenchain.common.auth import rate_limits  # auth builds on this module's helpers

    interceptors: list[grpc.aio.ServerInterceptor] = [
        aio_server_interceptor(),
        ServerMetrics(),
        UndecodableRequests(),
    ]
    limits = rate_limits(settings)
    if limits is not None:
        interceptors.append(limits)
    return grpc.aio.server(interceptors=interceptors, options=[*server_options(settings), *options])


def add_health_and_reflection(
    server: grpc.aio.Server, service_names: Iterable[str]
) -> health.aio.HealthServicer:
    """Registers grpc.health.v1 (all services start NOT_SERVING) and server reflection."""
    names = list(service_names)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    return health_servicer


async def set_serving(
    health_servicer: health.aio.HealthServicer, service_names: Iterable[str], serving: bool
) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ["", *service_names]:
        await health_servicer.set(name, status)


def bind(server: grpc.aio.Server, address: str, settings: Settings) -> int:
    """Listen on ``address``; returns the port.

    TLS when cert and key files are configured (reloaded when they change; mTLS with a client
    CA); a half TLS configuration raises :class:`greenchain.common.tls.TlsConfigError` instead
    of serving plaintext. Without a tokens file only loopback is served (see
    :func:`greenchain.common.tls.listen_address`)."""
    address = listen_address(address, settings)
    tls = ServerTls.from_settings(settings)
    if tls is not None:
        port = server.add_secure_port(address, tls.credentials())
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    mode = "plaintext" if tls is None else "mTLS" if tls.client_ca_file else "TLS"
    log.info("listening on %s (%s)", address, mode)
    return int(port)
