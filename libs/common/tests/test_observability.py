"""Logs, metrics endpoint, supervision of essential tasks and the runner's exit code, with real
parts: a real HTTP endpoint, a real gRPC server on 127.0.0.1, real asyncio tasks."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from greenchain.common.config import Settings
from greenchain.common.health import check
from greenchain.common.logs import setup_logging
from greenchain.common.metrics import HEALTH_CHECKS, TASK_FAILURES, MetricsServer
from greenchain.common.runner import run_until_signal
from greenchain.common.service import GrpcService
from greenchain.common.supervision import EXIT_SOFTWARE

TOKEN = "s3cr3t-t0ken-value_ABC.def"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("json", stream=out)
    try:
        yield out
    finally:
        root.handlers, root.level = handlers, level


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_current_trace_and_span_ids(json_lines: io.StringIO) -> None:
    log = logging.getLogger("greenchain.test")
    log.info("outside any span")
    tracer = TracerProvider().get_tracer("test")  # recording spans, as in a service process
    with tracer.start_as_current_span("work") as span:
        log.warning("inside %s", "a span")
        context = span.get_span_context()
    outside, inside = parsed(json_lines)
    assert outside["event"] == "outside any span" and "trace_id" not in outside
    assert inside["event"] == "inside a span" and inside["level"] == "warning"
    assert inside["logger"] == "greenchain.test" and inside["timestamp"]
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")


def test_bearer_tokens_never_reach_a_line(json_lines: io.StringIO) -> None:
    log = logging.getLogger("greenchain.test")
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    log.info("call with metadata %s", metadata)
    log.warning("header: authorization: bearer %s; more", TOKEN)
    try:
        raise ValueError(f"bad header Bearer {TOKEN}")
    except ValueError:
        log.exception("failed")
    text = json_lines.getvalue()
    assert TOKEN not in text
    assert text.count("[redacted]") >= 3
    assert len(parsed(json_lines)) == 3


def test_console_format_is_readable_text() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("console", stream=out)
    try:
        logging.getLogger("greenchain.test").info("IngestServer started")
    finally:
        root.handlers, root.level = handlers, level
    line = out.getvalue()
    assert "IngestServer started" in line and "[info" in line and not line.startswith("{")


def test_a_stream_closed_mid_answer_logs_no_detach_error(json_lines: io.StringIO) -> None:
    """A span held across a generator's yield, the generator closed from another context (as
    Python finalizes a gRPC stream handler the client left): OpenTelemetry's detach fails; that
    known noise is dropped, a detach failure of any other cause is still logged."""
    import contextvars

    tracer = TracerProvider().get_tracer("test")

    def handler() -> Generator[int, None, None]:
        with tracer.start_as_current_span("stream"):
            yield 1
            yield 2

    stream = handler()
    contextvars.copy_context().run(next, stream)  # the span is attached in that context
    stream.close()  # GeneratorExit here, in this context
    assert parsed(json_lines) == []
    try:
        raise ValueError("token from elsewhere")
    except ValueError:
        logging.getLogger("opentelemetry.context").exception("Failed to detach context")
    (line,) = parsed(json_lines)
    assert line["event"] == "Failed to detach context" and "token from elsewhere" in str(line)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_metrics_endpoint_serves_metrics_and_the_registered_checks() -> None:
    ready = {"value": False}
    server = MetricsServer("127.0.0.1", _free_port(), {"/readyz": lambda: ready["value"]})
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, body = get(f"{base}/metrics")
        assert status == 200 and "greenchain_kafka_produce_seconds" in body
        assert get(f"{base}/healthz")[0] == 200  # nothing registered: alive while it answers
        assert get(f"{base}/readyz")[0] == 503
        ready["value"] = True
        assert get(f"{base}/readyz")[0] == 200
    finally:
        server.close()
    assert MetricsServer("127.0.0.1", 0).port == 0  # 0 = off
    assert "/readyz" not in HEALTH_CHECKS  # explicit checks do not touch the process's own


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bare(GrpcService):
    """A GrpcService with no servicer, health only, and no Kafka-backed parts."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, "127.0.0.1:0", "greenchain.test.Bare", lambda server: None)

    async def start(self) -> None:  # no topics: this test has no broker
        await self.server.start()
        from greenchain.common.grpc_server import set_serving

        await set_serving(self.health, [self.service_name], True)


async def test_an_essential_task_that_dies_turns_health_not_serving() -> None:
    service = Bare(Settings())
    await service.start()
    try:
        target = f"127.0.0.1:{service.port}"
        assert await asyncio.to_thread(check, target) == (True, f"{target}: SERVING")
        before = TASK_FAILURES.labels("registry reader")._value.get()

        async def reader() -> None:
            await asyncio.sleep(0.05)
            raise ConnectionError("consumer lost")

        service.supervise(asyncio.create_task(reader(), name="registry reader"))
        await asyncio.wait_for(service.failed.wait(), 5)  # set once health says so
        assert await asyncio.to_thread(check, target) == (False, f"{target}: NOT_SERVING")
        assert service.failure is not None and "consumer lost" in service.failure
        assert TASK_FAILURES.labels("registry reader")._value.get() == before + 1
    finally:
        await service.stop(0)


async def test_a_cancelled_essential_task_is_a_normal_stop() -> None:
    service = Bare(Settings())
    await service.start()
    try:
        task = asyncio.create_task(asyncio.sleep(60), name="reader")
        service.supervise(task)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not service.failed.is_set()
    finally:
        await service.stop(0)


async def test_the_runner_exits_non_zero_after_a_failure() -> None:
    made: list[Bare] = []

    def make() -> Bare:
        service = Bare(Settings())
        made.append(service)

        async def dies() -> None:
            await asyncio.sleep(0.1)
            raise RuntimeError("store broken")

        original = service.start

        async def start() -> None:
            await original()
            service.supervise(asyncio.create_task(dies(), name="ledger consumer"))

        service.start = start  # type: ignore[method-assign]
        return service

    code = await asyncio.wait_for(run_until_signal(make), 10)
    assert code == EXIT_SOFTWARE
    serving, text = await asyncio.to_thread(check, f"127.0.0.1:{made[0].port}", 1.0)
    assert not serving and text.endswith("UNAVAILABLE")  # stopped: nothing answers any more


def test_the_grafana_dashboard_uses_only_metrics_the_services_declare() -> None:
    import re
    from pathlib import Path

    from prometheus_client import REGISTRY

    dashboard = Path(__file__).parents[3] / "deploy" / "grafana" / "greenchain.json"
    data = json.loads(dashboard.read_text())
    exprs = [
        t["expr"]
        for row in data["panels"]
        for t in row.get("targets", [])  # rows have none
    ]
    used = {m for e in exprs for m in re.findall(r"\b((?:greenchain|grpc_server)_\w+)", e)}
    declared = {
        sample
        for family in REGISTRY.collect()
        for sample in [family.name, *(s.name for s in family.samples)]
    }
    # families of this registry without a sample yet still declare their series names
    declared |= {
        f"{name}{suffix}" for name in declared for suffix in ("_bucket", "_sum", "_count", "_total")
    }
    assert len(exprs) >= 15 and used
    assert used <= declared, used - declared
