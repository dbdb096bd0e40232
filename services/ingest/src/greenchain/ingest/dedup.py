"""Idempotency by declaration id: a declaration ingest already stored is not stored again.

A client that lost an acknowledgement (its stream broke, the ingest process that had the
declaration was killed after Kafka acked it) sends the declaration again with the same id.
Ingest answers such a resend with the position of the copy Kafka already has, marked
``duplicate``, and writes nothing. Two sources tell it what is stored:

- what this process has in flight (handed to the batcher, Kafka's acknowledgement pending):
  a resend waits for the same record instead of adding a second one;
- :class:`DeclarationIndex`: the ids of the declarations topic's recent records, read by every
  ingest process, so a resend to another process (or to a restarted one) is recognised too.

The index covers ``ingest_dedup_window_seconds`` (a resend after that is stored again; scoring
ignores a declaration it already has, so ratings never double). A client says a call is a resend
with the metadata ``greenchain.common.idempotency.RESEND_METADATA``; ingest then first reads the
topic up to its current end, so a copy another process wrote a moment ago is seen.
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from greenchain.common.batches import decode_record
from greenchain.common.config import Settings
from greenchain.common.idempotency import idempotency_key
from greenchain.common.kafka import TopicFollower

log = logging.getLogger(__name__)

Position = tuple[int, int, int]
"""Where a stored declaration is: (partition, offset, index in the record)."""


class DeclarationIndex(TopicFollower):
    """The declarations of the topic's last ``ingest_dedup_window_seconds``, by idempotency key.

    Two generations of a dict, rotated every half window (or when the newer one holds half of
    ``ingest_dedup_max_ids``): a key is remembered for between half a window and a window, with
    O(1) work per key and memory bounded by the cap."""

    poll_ms = 100  # a resend waits for the reader to reach the topic's end: keep that short

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(settings, topic)
        self.window = settings.ingest_dedup_window_seconds
        self.max_ids = settings.ingest_dedup_max_ids
        self._current: dict[str, Position] = {}
        self._previous: dict[str, Position] = {}
        self._rotated = time.monotonic()
        # (partition, offset) of records this process wrote that the reader has not reached
        self._written: dict[tuple[int, int], bool] = {}
        self._read_up_to: dict[int, int] = {}  # partition -> offset after the last record read

    async def seek_start(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        """Starts at the first record of the window on each partition (the end when none)."""
        since = int((time.time() - self.window) * 1000)
        found = await consumer.offsets_for_times({tp: since for tp in assigned})
        for tp in assigned:
            position = found.get(tp)
            if position is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, position.offset)

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.value is None:
            return
        self._read_up_to[record.partition] = record.offset + 1
        if self._written.pop((record.partition, record.offset), False):
            return  # this process wrote it and remembered its declarations: no decoding again
        for entry in decode_record(record.value, record.headers):
            self.remember(
                idempotency_key(entry.declaration), (record.partition, record.offset, entry.index)
            )

    def remember_written(self, key: str, position: Position) -> None:
        """Records a declaration this process wrote (Kafka acked it at ``position``); the
        reader then skips the record instead of decoding it again."""
        self.remember(key, position)
        partition, offset, _ = position
        if offset >= self._read_up_to.get(partition, 0):  # else the reader has decoded it
            self._written[partition, offset] = True

    def remember(self, key: str, position: Position) -> None:
        """Records that the declaration ``key`` is stored at ``position`` (the first copy wins)."""
        if key in self._current or key in self._previous:
            return
        now = time.monotonic()
        if now - self._rotated >= self.window / 2 or len(self._current) >= self.max_ids // 2:
            if now - self._rotated < self.window / 2:
                log.warning(
                    "declaration index full (GREENCHAIN_INGEST_DEDUP_MAX_IDS=%d): it now covers "
                    "%.0f s instead of %.0f s",
                    self.max_ids,
                    2 * (now - self._rotated),
                    self.window,
                )
            self._previous, self._current = self._current, {}
            self._rotated = now
        self._current[key] = position

    def find(self, key: str) -> Position | None:
        """Where the declaration ``key`` is stored, if the index has it."""
        return self._current.get(key) or self._previous.get(key)

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)
