"""The baseline scoring worker: the usual faust app, one event at a time, plain Python.

Per declaration it decodes the record, updates the supplier's state in a faust table, recomputes
that supplier's indicators and score with ``bench.plain_model`` (the same arithmetic as the
polars model; benchmarks from the methodology's tables) and sends one rating per event.

Run: ``python -m bench.naive_agent`` with the GREENCHAIN_* environment of a Settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import faust

from bench import plain_model
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.common.kafka import CompactedTopicReader
from greenchain.scoring.engine import supplier_row
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import model_row, state_key
from greenchain.v1 import declaration_pb2, supplier_pb2

OUTPUT_TOPIC = "bench.naive-ratings"
log = logging.getLogger(__name__)


def read_registry(settings: Settings) -> dict[str, dict[str, Any]]:
    """The supplier registry, read once before the worker starts."""
    registry: dict[str, dict[str, Any]] = {}

    def on_record(key: bytes, value: bytes | None) -> None:
        if value is not None:
            supplier = supplier_pb2.Supplier.FromString(value)
            registry[supplier.supplier_id] = supplier_row(supplier)

    async def read() -> None:
        reader = CompactedTopicReader(settings, settings.topic(topics.SUPPLIERS), on_record)
        await reader.start()
        await reader.caught_up.wait()
        await reader.stop()

    asyncio.run(read())
    return registry


def create_app(settings: Settings) -> faust.App:
    m = Methodology.load()
    registry = read_registry(settings)
    # benchmarks from the methodology's tables only: a per-event agent has no population view
    bench_by_sector = plain_model.benchmarks(
        {
            sid: {"sector_code": row["sector_code"], "insufficient": True, "values": {}}
            for sid, row in registry.items()
        },
        m,
    )
    app = faust.App(
        settings.group("bench-noop" if os.environ.get("BENCH_NAIVE_NOOP") else "bench-naive"),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        web_enabled=False,
    )
    source = app.topic(
        settings.topic(topics.DECLARATIONS), key_serializer="raw", value_serializer="raw"
    )
    sink = app.topic(settings.topic(OUTPUT_TOPIC), key_serializer="raw", value_serializer="raw")
    table = app.Table("naive-state", default=None, partitions=settings.topic_partitions)

    if os.environ.get("BENCH_NAIVE_NOOP"):  # faust's own per-event ceiling: decode only

        @app.agent(source)
        async def noop(stream: Any) -> AsyncIterator[None]:
            async for value in stream:
                declaration_pb2.Declaration.FromString(value)
                yield None

        return app

    @app.agent(source)
    async def score(stream: Any) -> AsyncIterator[None]:
        async for value in stream:
            decl = declaration_pb2.Declaration.FromString(value)
            sid = decl.supplier_id
            state = dict(table.get(sid) or {})
            state[state_key(decl)] = model_row(decl)
            table[sid] = state
            supplier = registry.get(sid)
            indicators = plain_model.supplier_indicators(list(state.values()), supplier, m)
            total, tier = plain_model.score_one(
                indicators, bench_by_sector.get(indicators["sector_code"] or "", {}), m
            )
            rating = {"supplier_id": sid, "total_score": total, "readiness_tier": tier}
            await sink.send(key=sid.encode(), value=json.dumps(rating).encode())
            yield None

    return app


def main() -> None:
    from faust.worker import Worker

    settings = Settings.from_env()
    topics.ensure_topics(
        settings, [topics.TopicSpec(settings.topic(OUTPUT_TOPIC), settings.topic_partitions, 1)]
    )
    app = create_app(settings)

    @app.task
    async def announce() -> None:
        log.info("naive agent ready")

    Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
