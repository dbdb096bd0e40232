"""Kafka clients configured the greenchain way: a durable producer, registry readers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import ConsumerRecord, RecordMetadata
from tenacity import (
    AsyncRetrying,
    retry_if_result,
    stop_after_attempt,
    stop_never,
    wait_exponential_jitter,
)

from greenchain.common.config import Settings
from greenchain.common.metrics import SKIPPED_RECORDS, observe_delivery

log = logging.getLogger(__name__)


class SaslLogin(TypedDict):
    """A SASL login, named as faust's ``SASLCredentials`` takes it."""

    username: str
    password: str
    mechanism: str


def sasl_login(settings: Settings) -> SaslLogin:
    """username, password and mechanism of the service's Kafka principal (SASL); the password
    file is read now, so a rotated Secret is picked up by the next client made."""
    password = settings.kafka_password
    if settings.kafka_password_file:
        password = Path(settings.kafka_password_file).read_text().strip()
    return {
        "username": settings.kafka_username,
        "password": password,
        "mechanism": settings.kafka_sasl_mechanism,
    }


def client_security(settings: Settings) -> dict[str, Any]:
    """The security keyword arguments of every Kafka client greenchain makes: aiokafka and
    kafka-python take the same names. Empty-handed PLAINTEXT when no SASL is configured."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    login = sasl_login(settings)
    return {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": login["mechanism"],
        "sasl_plain_username": login["username"],
        "sasl_plain_password": login["password"],
    }


# After a broker restart an idempotent producer can find that the broker no longer knows its
# sequence numbers. The Java client then bumps its epoch (KIP-360); aiokafka's sender task dies
# instead, and every later send times out. Such a producer must be replaced.
FATAL_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
)


class DurableProducer:
    """acks=all + idempotence: a send succeeds only once every in-sync replica has the record,
    and retries never duplicate it. Fails fast (seconds) so callers can answer UNAVAILABLE, and
    replaces the underlying aiokafka producer when the broker declares its idempotence state
    lost (the records of the failed sends are the caller's to retry)."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._producer = self._new()
        self._replacing: asyncio.Task[None] | None = None
        self.replacements = 0

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            **client_security(self._settings),
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=5000,
            retry_backoff_ms=200,
            max_batch_size=256 * 1024,
            max_request_size=2 * 1024 * 1024,
        )

    async def start(self) -> None:
        await start_with_retry(self._producer.start, f"{self._client_id} producer")

    async def stop(self) -> None:
        if self._replacing is not None:
            self._replacing.cancel()
        await self._producer.stop()

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        headers: list[tuple[str, bytes]],
        partition: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Hands a record to the producer; the returned future resolves once Kafka acked it.
        ``partition`` None = the default partitioner's choice for ``key``."""
        producer = self._producer
        delivery: asyncio.Future[RecordMetadata] = await producer.send(
            topic, value=value, key=key, headers=headers, partition=partition
        )
        delivery.add_done_callback(lambda done: self._check(done, producer))
        observe_delivery(delivery, self._client_id)
        return delivery

    async def partitions_for(self, topic: str) -> int:
        """How many partitions ``topic`` has (waits for its metadata)."""
        return len(await self._producer.partitions_for(topic))

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> RecordMetadata:
        return await (await self.send(topic, value, key, headers))

    def _check(self, delivery: asyncio.Future[RecordMetadata], producer: AIOKafkaProducer) -> None:
        if delivery.cancelled() or producer is not self._producer or self._replacing is not None:
            return
        error = delivery.exception()
        if isinstance(error, FATAL_PRODUCER_ERRORS):
            log.warning("%s producer: %r; replacing it", self._client_id, error)
            self._replacing = asyncio.create_task(self._replace(producer))

    async def _replace(self, old: AIOKafkaProducer) -> None:
        new = self._new()
        await start_with_retry(new.start, f"{self._client_id} producer")
        self._producer = new
        self._replacing = None
        self.replacements += 1
        try:
            await old.stop()
        except Exception as exc:  # it is dead already; only its connections are left to close
            log.debug("stopping the replaced producer: %r", exc)


async def start_with_retry(start: Callable[[], object], what: str, attempts: int = 0) -> None:
    """Await ``start()`` until it succeeds (``attempts`` 0 = forever), with jittered exponential
    backoff up to 5 s (jitter: replicas restarted together do not retry in lockstep)."""
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(attempts) if attempts else stop_never,
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.5),
        before_sleep=lambda state: log.warning(
            "%s: Kafka not reachable (%s); retrying in %.1f s",
            what,
            state.outcome.exception() if state.outcome else "?",
            state.upcoming_sleep,
        ),
        reraise=True,
    ):
        with attempt:
            await start()  # type: ignore[misc]


async def assign_all_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Assigns every partition of ``topic`` to ``consumer`` (no group), once they are known
    (a topic just created may take a few metadata refreshes to show up)."""

    async def known() -> set[int]:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
        return set(partitions or ())

    partitions: set[int] = await AsyncRetrying(
        retry=retry_if_result(lambda found: not found),
        wait=wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.2),
    )(known)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    return assigned


class TopicFollower:
    """Reads every partition of a topic without a consumer group and follows it: every replica
    of a service sees every record. Subclasses say where reading starts (:meth:`seek_start`)
    and what a record means (:meth:`take`).

    A record :meth:`take` cannot handle (undecodable bytes, a key that is not UTF-8, a value the
    service's model refuses: any exception it raises) is logged with its position, counted in
    ``greenchain_kafka_skipped_records_total`` and skipped: one bad record must not stop a
    service from reading. Anything else that ends the reading task ends it for good; a service
    makes :attr:`task` essential (``GrpcService.supervise``) to report NOT_SERVING and exit
    then."""

    poll_ms = 500
    """Longest wait for records in one poll: also how late :meth:`read_to_end` may notice."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self._settings = settings
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._polled = asyncio.Condition()
        self.caught_up = asyncio.Event()
        self.skipped = 0

    @property
    def task(self) -> asyncio.Task[None]:
        """The task that reads and follows the topic (after :meth:`start`)."""
        if self._task is None:
            raise RuntimeError(f"the reader of {self._topic} is not started")
        return self._task

    async def seek_start(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        """Positions ``consumer`` where reading starts; by default at the beginning."""
        await consumer.seek_to_beginning(*assigned)

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Applies one record; any exception skips it (logged and counted)."""
        raise NotImplementedError

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            **client_security(self._settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await start_with_retry(consumer.start, f"reader of {self._topic}")
        self._assigned = await assign_all_partitions(consumer, self._topic)
        await self.seek_start(consumer, self._assigned)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name=f"read {self._topic}")

    async def wait_caught_up(self) -> None:
        """Returns once the reader has read everything that was on the topic when it started;
        raises :class:`RuntimeError` if the reading task ended before that."""
        caught_up = asyncio.create_task(self.caught_up.wait())
        try:
            await asyncio.wait([caught_up, self.task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            caught_up.cancel()
        if not self.caught_up.is_set():
            error = None if self.task.cancelled() else self.task.exception()
            raise RuntimeError(f"the reader of {self._topic} ended before catching up") from error

    async def read_to_end(self) -> None:
        """Returns once the reader has read everything on the topic at the time of the call
        (end offsets asked now); raises :class:`RuntimeError` if the reading task ended."""
        assert self._consumer is not None
        end = await self._consumer.end_offsets(self._assigned)
        async with self._polled:
            while not all(await self._positions_reach(end)):
                if self.task.done():
                    raise RuntimeError(f"the reader of {self._topic} has ended")
                # a poll notifies; the timeout only notices a reading task that has ended
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2 * self.poll_ms / 1000):
                        await self._polled.wait()

    async def _positions_reach(self, end: dict[TopicPartition, int]) -> list[bool]:
        assert self._consumer is not None
        return [await self._consumer.position(tp) >= offset for tp, offset in end.items()]

    def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            self.take(record)
        except Exception as exc:
            self.skipped += 1
            SKIPPED_RECORDS.labels(self._topic).inc()
            log.warning(
                "%s partition %d offset %d: skipped a record that cannot be read (%s: %s)",
                record.topic,
                record.partition,
                record.offset,
                type(exc).__name__,
                exc,
            )

    async def _run(self) -> None:
        assert self._consumer is not None
        end = await self._consumer.end_offsets(self._assigned)
        while True:
            batch = await self._consumer.getmany(timeout_ms=self.poll_ms, max_records=5000)
            for records in batch.values():
                for record in records:
                    self._take(record)
            if not self.caught_up.is_set() and all(await self._positions_reach(end)):
                self.caught_up.set()
            await self._notify()

    async def _notify(self) -> None:
        async with self._polled:
            self._polled.notify_all()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._consumer:
            await self._consumer.stop()


class CompactedTopicReader(TopicFollower):
    """Reads a whole (compacted) topic into memory and follows it (:class:`TopicFollower`):
    ``on_record(key, value)`` for every record from the beginning; value None = deleted."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        on_record: Callable[[bytes, bytes | None], None],
    ) -> None:
        super().__init__(settings, topic)
        self._on_record = on_record

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self._on_record(record.key, record.value)
