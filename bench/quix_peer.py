"""The peer: the scoring job as a Quix Streams user would write it.

One record per declaration (key supplier id, a ``Declaration`` protobuf), decoded by Quix's
``ProtobufDeserializer`` (to the message, not a dict); per record, the supplier's rows live in
Quix's per-key state (``State.get``/``State.set``: RocksDB with a changelog topic, the defaults),
the supplier's indicators and score are recomputed with ``bench.plain_model`` (the same
plain-Python arithmetic as the naive faust agent, ``bench.naive_agent``) and one rating per record
goes to an output topic. ``BENCH_QUIX_NOOP=1`` runs Quix's own ceiling instead: decode every
record, do nothing else.

Run: ``python -m bench.quix_peer`` with the GREENCHAIN_* environment of a Settings and
``BENCH_QUIX_STATE_DIR``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from quixstreams import Application, State
from quixstreams.models.serializers.protobuf import ProtobufDeserializer

from bench import plain_model
from bench.naive_agent import read_registry
from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.scoring.model import Methodology
from greenchain.scoring.state import model_row, state_key
from greenchain.v1 import declaration_pb2

OUTPUT_TOPIC = "bench.quix-ratings"
NOOP_GROUP, SCORING_GROUP = "bench-quix-noop", "bench-quix"
log = logging.getLogger("bench.quix_peer")


def create_app(settings: Settings, noop: bool, state_dir: str) -> Application:
    """The Quix application, its dataframe built and registered (run it with ``app.run()``)."""
    app = Application(
        broker_address=settings.kafka_bootstrap_servers,
        consumer_group=settings.group(NOOP_GROUP if noop else SCORING_GROUP),
        auto_offset_reset="earliest",
        commit_interval=1.0,  # as the faust agents (broker_commit_interval=1.0)
        state_dir=state_dir,
        loglevel="INFO",
    )
    source = app.topic(
        settings.topic(topics.DECLARATIONS),
        key_deserializer="str",
        value_deserializer=ProtobufDeserializer(declaration_pb2.Declaration, to_dict=False),
    )
    sdf = app.dataframe(source)
    if noop:
        sdf = sdf.update(lambda value: None)
        return app

    m = Methodology.load()
    registry = read_registry(settings)
    # as the naive agent: benchmarks from the methodology's tables (no population view)
    bench_by_sector = plain_model.benchmarks(
        {
            sid: {"sector_code": row["sector_code"], "insufficient": True, "values": {}}
            for sid, row in registry.items()
        },
        m,
    )

    def score(decl: declaration_pb2.Declaration, state: State[str, Any]) -> dict[str, Any]:
        rows: dict[str, Any] = state.get("rows") or {}
        rows[state_key(decl)] = model_row(decl)
        state.set("rows", rows)
        indicators = plain_model.supplier_indicators(
            list(rows.values()), registry.get(decl.supplier_id), m
        )
        total, tier = plain_model.score_one(
            indicators, bench_by_sector.get(indicators["sector_code"] or "", {}), m
        )
        return {"supplier_id": decl.supplier_id, "total_score": total, "readiness_tier": tier}

    sink = app.topic(settings.topic(OUTPUT_TOPIC), key_serializer="str", value_serializer="json")
    sdf = sdf.apply(score, stateful=True)
    sdf = sdf.to_topic(sink)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    noop = os.environ.get("BENCH_QUIX_NOOP") == "1"
    if not noop:
        topics.ensure_topics(
            settings,
            [topics.TopicSpec(settings.topic(OUTPUT_TOPIC), settings.topic_partitions, 1)],
        )
    app = create_app(settings, noop, os.environ["BENCH_QUIX_STATE_DIR"])
    log.info("quix peer ready")
    app.run()


if __name__ == "__main__":
    main()
