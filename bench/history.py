"""Declarations onto a topic in either form of the declarations topic, and consumers measured on
it by their committed offsets.

greenchain's records are written the way ingest writes them since issue #20 (one
``DeclarationBatch`` per record, header ``greenchain.format: declaration-batch.v1``, every
declaration in the partition of its supplier id, codec :mod:`greenchain.common.batches`), or in
the original form (one ``Declaration`` per record), which is also how the peers' users write
them. A committed offset counts records; :class:`Written` turns it into declarations.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from confluent_kafka import KafkaError, Message, Producer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaConnectionError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from bench.common import peak_of
from greenchain.common.batches import BATCH_FORMAT_HEADER, encode_batch, partition_for
from greenchain.testing.processes import ServiceProcess
from greenchain.v1 import declaration_pb2

Form = Literal["batch", "single"]
FORMS: tuple[Form, ...] = ("batch", "single")


@dataclass
class Written:
    """What was written to a topic: records and declarations, and for each partition the running
    count of declarations after each record (offset order), to count what a group has done."""

    form: Form
    records: int = 0
    declarations: int = 0
    cumulative: dict[int, list[int]] = field(default_factory=dict)  # batch form only

    def done(self, committed: dict[int, int]) -> int:
        """Declarations before the committed offsets (the next offset to read, per partition)."""
        if self.form == "single":
            return sum(committed.values())
        total = 0
        for partition, offset in committed.items():
            counts = self.cumulative.get(partition, [])
            if offset > 0 and counts:
                total += counts[min(offset, len(counts)) - 1]
        return total


class _Sink:
    """A confluent-kafka producer with ingest's durability (acks=all, idempotent) that keeps the
    partition and offset of every delivered record."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 20,
                "queue.buffering.max.kbytes": 256 * 1024,
            }
        )
        self.delivered: dict[int, list[tuple[int, int]]] = {}  # partition -> (offset, count)
        self.error: KafkaError | None = None

    def send(
        self,
        key: bytes,
        value: bytes,
        count: int,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                self.error = error
                return
            part, offset = message.partition(), message.offset()
            assert part is not None and offset is not None
            self.delivered.setdefault(part, []).append((offset, count))

        extra: dict[str, Any] = {} if partition is None else {"partition": partition}
        while True:
            try:
                self.producer.produce(
                    self.topic, value, key, headers=headers, on_delivery=delivered, **extra
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain
                self.producer.poll(0.2)
        self.producer.poll(0)

    def close(self) -> None:
        remaining = self.producer.flush(120)
        if remaining or self.error is not None:
            raise RuntimeError(f"{remaining} records undelivered, error {self.error}")


def partition_batches(
    declarations: Iterable[declaration_pb2.Declaration], partitions: int, batch_size: int
) -> Iterator[tuple[int, list[declaration_pb2.Declaration]]]:
    """(partition, batch) as ingest forms them: each declaration to its supplier's partition,
    a partition's batch closed once it holds ``batch_size``, the rest closed at the end."""
    where: dict[str, int] = {}  # supplier id -> partition (the partitioner's, cached)
    open_batches: dict[int, list[declaration_pb2.Declaration]] = {}
    for decl in declarations:
        sid = decl.supplier_id
        partition = where.get(sid)
        if partition is None:
            partition = where[sid] = partition_for(sid.encode(), partitions)
        batch = open_batches.setdefault(partition, [])
        batch.append(decl)
        if len(batch) >= batch_size:
            yield partition, open_batches.pop(partition)
    yield from open_batches.items()


def write(
    bootstrap: str,
    topic: str,
    partitions: int,
    declarations: Iterable[declaration_pb2.Declaration],
    form: Form,
    batch_size: int = 500,
) -> Written:
    """Writes ``declarations`` to ``topic`` (``partitions`` partitions) in ``form``; batch
    records hold up to ``batch_size`` declarations of one partition, keyed like ingest's."""
    sink = _Sink(bootstrap, topic)
    written = Written(form)
    if form == "single":
        for decl in declarations:
            sink.send(decl.supplier_id.encode(), decl.SerializeToString(), 1)
            written.declarations += 1
    else:
        for partition, batch in partition_batches(declarations, partitions, batch_size):
            value = encode_batch((decl, {}) for decl in batch)
            sink.send(
                batch[0].supplier_id.encode(), value, len(batch), partition, [BATCH_FORMAT_HEADER]
            )
            written.declarations += len(batch)
    sink.close()
    for partition, delivered in sink.delivered.items():
        delivered.sort()
        if [offset for offset, _ in delivered] != list(range(len(delivered))):
            raise RuntimeError(f"{topic}[{partition}] was not empty or has gaps")
        written.records += len(delivered)
        written.cumulative[partition] = list(itertools.accumulate(c for _, c in delivered))
    return written


def end_offsets(bootstrap: str, topic: str) -> int:
    """Records on ``topic`` (sum of its partitions' end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values()) if parts else 0
    finally:
        consumer.close()


@dataclass(frozen=True)
class Measured:
    """One consumer's run: rates from its first commit until every record was committed (or the
    budget ran out), the wall time from process start, and its peak memory."""

    records_per_s: float
    declarations_per_s: float
    records: int  # measured (after the first commit)
    declarations: int
    complete: bool  # every record was committed within the budget
    from_start: bool  # done before its first commit: counted from process start (a lower bound)
    wall_s: float  # process start -> last committed record (or the budget's end)
    peak_rss_mib: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_per_s": self.records_per_s,
            "declarations_per_s": self.declarations_per_s,
            "measured_records": self.records,
            "measured_declarations": self.declarations,
            "complete": self.complete,
            "from_start": self.from_start,
            "wall_s": self.wall_s,
            "peak_rss_mib": self.peak_rss_mib,
        }


@retry(
    retry=retry_if_exception_type(KafkaConnectionError),
    stop=stop_after_delay(60),
    wait=wait_exponential_jitter(max=2.0),
    reraise=True,
)
def _committed(admin: KafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets on ``topic`` (a dropped broker connection is retried: the
    shared broker may be restarted under a long run)."""
    offsets = admin.list_group_offsets(group).get(group, {})
    return {
        tp.partition: o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset > 0
    }


def _progress(
    admin: KafkaAdminClient, group: str, topic: str, written: Written
) -> Iterator[tuple[float, int, int]]:
    while True:
        committed = _committed(admin, group, topic)
        yield time.monotonic(), sum(committed.values()), written.done(committed)


def measure(
    process: ServiceProcess,
    bootstrap: str,
    group: str,
    topic: str,
    written: Written,
    budget: float,
    started: float,
    ready: float | None = None,
    poll: float = 0.1,
) -> Measured:
    """Follows ``group``'s commits on ``topic`` while ``process`` consumes it: the rate counts
    from its first commit (startup and group join excluded, as for ConsumerPerformance) until
    every record is committed or ``budget`` seconds have passed. With ``ready``, the monotonic
    time the consumer logged that it was ready to consume, it is counted from then instead: its
    startup excluded, as the first commit excludes it for the others, but its group join and
    all its work included. That is how greenchain's scoring worker is measured: catching up, it
    commits first when it has rated what it read, so its first commit can come after most of
    the work. Without ``ready``, a consumer whose first commit already covers every record is
    counted from ``started`` (when it was started). ``wall_s`` is always from ``started``."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        progress = _progress(admin, group, topic, written)
        deadline = time.monotonic() + 600
        while True:
            if not process.running or "Crashed reason" in process.log_text():
                raise RuntimeError(f"{process.service} failed:\n{process.log_text()[-3000:]}")
            first, records0, decls0 = next(progress)
            if records0 > 0:
                break
            if first > deadline:
                raise TimeoutError(f"{process.service} committed nothing in 600 s")
            time.sleep(poll / 2)
        from_start = ready is not None or records0 >= written.records
        if from_start:  # a scoring worker, or done within one commit interval
            first, records0, decls0 = (started if ready is None else ready), 0, 0
        now, records, decls = next(progress)
        while records < written.records and now - first < budget:
            if not process.running:
                code = process.process.returncode if process.process else None
                raise RuntimeError(
                    f"{process.service} exited with code {code} (log: {process.log}):\n"
                    f"{process.log_text()[-3000:]}"
                )
            time.sleep(poll)
            now, records, decls = next(progress)
        seconds = max(now - first, 1e-9)
        return Measured(
            records_per_s=(records - records0) / seconds,
            declarations_per_s=(decls - decls0) / seconds,
            records=records - records0,
            declarations=decls - decls0,
            complete=records >= written.records,
            from_start=from_start,
            wall_s=now - started,
            peak_rss_mib=peak_of(process),
        )
    finally:
        admin.close()
