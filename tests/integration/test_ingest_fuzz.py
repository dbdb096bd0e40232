"""Bad input against the running ingest service (a real ``python -m greenchain.ingest`` process):
hypothesis-generated declarations, random bytes, oversized messages. The service must answer
every call with a proper status in time, never accept what validation forbids, and stay up."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenchain.common.config import Settings
from greenchain.common.grpc_server import field_violations
from greenchain.testing.builders import BODY_KINDS, envelope, supplier
from greenchain.testing.kafka_broker import free_port
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import declaration_pb2 as d
from greenchain.v1 import ingest_pb2_grpc

DEADLINE = 10.0  # s; a call that takes longer counts as a hang
STREAM_LIMIT = 50


class RunningIngest:
    def __init__(self, process: ServiceProcess, target: str) -> None:
        self.process = process
        self.channel = grpc.insecure_channel(target)
        self.stub = ingest_pb2_grpc.IngestServiceStub(self.channel)

    def assert_alive_and_serving(self) -> None:
        assert self.process.running, self.process.log_text()[-3000:]
        health = health_pb2_grpc.HealthStub(self.channel)
        answer = health.Check(health_pb2.HealthCheckRequest(), timeout=DEADLINE)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        result = self.stub.SubmitDeclaration(envelope("energy"), timeout=DEADLINE)
        assert result.WhichOneof("outcome") == "accepted"


@pytest.fixture(scope="module")
def ingest(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningIngest]:
    from greenchain.common.topics import ensure_topics
    from greenchain.testing.kafka_broker import isolated_settings

    workdir = tmp_path_factory.mktemp("fuzz")
    config: Settings = isolated_settings(
        kafka_bootstrap,
        workdir,
        ingest_listen=f"127.0.0.1:{free_port()}",
        ingest_max_stream_length=STREAM_LIMIT,
    )
    ensure_topics(config)
    process = ServiceProcess("ingest", config, Path(workdir) / "ingest.log").start()
    try:
        process.wait_for_log("IngestServer started")
        running = RunningIngest(process, config.ingest_listen)
        running.stub.UpsertSupplier(supplier(), timeout=DEADLINE)
        yield running
        running.channel.close()
    finally:
        process.stop()


# Strategies ---------------------------------------------------------------------------------

unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e308, -1e308, 5e-324, 1e12, 1e13]),
    st.floats(min_value=0, max_value=1e6),
)
int32 = st.integers(-(2**31), 2**31 - 1)


def _field_value(field: FieldDescriptor) -> st.SearchStrategy[object]:
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return floats
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.one_of(unicode_text, st.just("x" * 300))
    if field.type == FieldDescriptor.TYPE_ENUM:
        return int32  # unknown enum numbers included (proto3 enums are open)
    if field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
        return int32
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    raise NotImplementedError(field.full_name)


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[int, int]:
    return draw(st.integers(-(2**63), 2**63 - 1)), draw(int32)


@st.composite
def declarations(draw: st.DrawFn) -> d.Declaration:
    """A valid declaration, then a random subset of its fields overwritten, cleared or
    swapped for another body kind."""
    decl = envelope(draw(st.sampled_from(BODY_KINDS)))
    if draw(st.booleans()):  # the wrong body (or none) for the rest of the message
        other = draw(st.sampled_from([*BODY_KINDS, None]))
        if other is None:
            decl.ClearField("body")
        else:
            body = envelope(other)
            decl.MergeFrom(body)  # the oneof now holds the other kind
    body_name = decl.WhichOneof("body")
    targets: list[tuple[object, FieldDescriptor]] = []
    for holder in [decl, decl.period, decl.assurance] + (
        [getattr(decl, body_name)] if body_name else []
    ):
        targets.extend(
            (holder, f)
            for f in holder.DESCRIPTOR.fields
            if f.type != FieldDescriptor.TYPE_MESSAGE and not f.is_repeated
        )
    chosen = draw(st.lists(st.integers(0, len(targets) - 1), max_size=6, unique=True))
    for holder, field in (targets[i] for i in chosen):
        if draw(st.booleans()):
            holder.ClearField(field.name)  # type: ignore[attr-defined]
        else:
            setattr(holder, field.name, draw(_field_value(field)))
    for name in ("period", "submitted_at", "assurance"):
        if draw(st.integers(0, 9)) == 0:
            decl.ClearField(name)
    if draw(st.booleans()):
        decl.submitted_at.seconds, decl.submitted_at.nanos = draw(timestamps())
    if body_name == "product_footprint" and draw(st.booleans()):
        seconds, nanos = draw(timestamps())
        decl.product_footprint.reference_period_end.seconds = seconds
        decl.product_footprint.reference_period_end.nanos = nanos
    if body_name == "product_footprint" and draw(st.booleans()):
        seconds, nanos = draw(timestamps())
        decl.product_footprint.valid_until.seconds = seconds
        decl.product_footprint.valid_until.nanos = nanos
    return decl


# Quantities that may legitimately be negative: a footprint including biogenic uptake or
# removals (PACT 2.x pCfIncludingBiogenic, 3.x Decimals of either sign).
MAY_BE_NEGATIVE = {
    "pcf_including_biogenic_emissions_kgco2e",
    "pcf_excluding_biogenic_uptake_kgco2e",
    "pcf_including_biogenic_uptake_kgco2e",
    "legacy_pcf_including_biogenic_kgco2e",
}


def _wrong_quantities(decl: d.Declaration) -> list[tuple[str, float]]:
    """What ingest must never accept: a quantity that is not finite, or negative where it may
    not be ([] = none)."""
    return [
        (name, x)
        for name, x in _numbers(decl)
        if not (math.isfinite(x) and (x >= 0 or name in MAY_BE_NEGATIVE))
    ]


def _numbers(decl: d.Declaration) -> list[tuple[str, float]]:
    body_name = decl.WhichOneof("body")
    if body_name is None:
        return []
    body = getattr(decl, body_name)
    doubles = [f for f in body.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_DOUBLE]
    return [(f.name, getattr(body, f.name)) for f in doubles]


# Tests --------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(decl=declarations())
def test_any_declaration_gets_accepted_or_invalid_argument_naming_fields(
    ingest: RunningIngest, decl: d.Declaration
) -> None:
    try:
        result = ingest.stub.SubmitDeclaration(decl, timeout=DEADLINE)
    except grpc.RpcError as err:
        assert isinstance(err, grpc.Call)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        violations = field_violations(err)
        assert violations and all(f and reason for f, reason in violations), violations
        return
    # accepted: then it must really be a sane declaration
    assert result.WhichOneof("outcome") == "accepted"
    assert decl.WhichOneof("body") is not None
    assert _wrong_quantities(decl) == [], decl


@FUZZ
@given(batch=st.lists(declarations(), min_size=1, max_size=20))
def test_a_stream_of_them_answers_each_in_order(
    ingest: RunningIngest, batch: list[d.Declaration]
) -> None:
    results = list(ingest.stub.StreamDeclarations(iter(batch), timeout=DEADLINE))
    assert [r.sequence for r in results] == list(range(len(batch)))
    for decl, result in zip(batch, results, strict=True):
        if result.WhichOneof("outcome") == "rejected":
            assert result.rejected.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            assert result.rejected.violations
        else:
            assert _wrong_quantities(decl) == [], decl


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=2000))
def test_random_bytes_as_a_request_get_a_status_not_a_crash(
    ingest: RunningIngest, payload: bytes
) -> None:
    def raw(method: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
        return ingest.channel.unary_unary(f"/greenchain.v1.IngestService/{method}")

    def judged(call: Callable[[], object]) -> None:
        try:
            call()
        except grpc.RpcError as err:
            assert isinstance(err, grpc.Call)
            # bytes that parse are judged like any declaration; the others are refused
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())

    judged(lambda: raw("SubmitDeclaration")(payload, timeout=DEADLINE))
    stream: grpc.StreamStreamMultiCallable[bytes, bytes] = ingest.channel.stream_stream(
        "/greenchain.v1.IngestService/StreamDeclarations"
    )
    judged(lambda: list(stream(iter([payload]), timeout=DEADLINE)))


def test_oversized_messages_are_refused_with_resource_exhausted(ingest: RunningIngest) -> None:
    huge = envelope("energy")
    huge.source = "x" * 200_000  # limit: GREENCHAIN_MAX_MESSAGE_BYTES, 64 KiB by default
    with pytest.raises(grpc.RpcError) as err:
        ingest.stub.SubmitDeclaration(huge, timeout=DEADLINE)
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as err:
        list(ingest.stub.StreamDeclarations(iter([envelope("energy"), huge]), timeout=DEADLINE))
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    ingest.assert_alive_and_serving()


def test_over_long_streams_are_cut_with_resource_exhausted(ingest: RunningIngest) -> None:
    decls = [envelope("energy", month=1 + i % 12) for i in range(STREAM_LIMIT + 10)]
    answered = 0
    with pytest.raises(grpc.RpcError) as err:
        for _ in ingest.stub.StreamDeclarations(iter(decls), timeout=DEADLINE):
            answered += 1
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert answered == STREAM_LIMIT


def test_after_all_of_it_the_service_is_up(ingest: RunningIngest) -> None:
    """Runs last in this module: the process survived every case above."""
    ingest.assert_alive_and_serving()
    log = ingest.process.log_text()
    assert "Traceback" not in log, log[-3000:]
