"""faust's own topics of the scoring app are the ones scoring makes before faust starts
(``topics.scoring_specs``: same names, partitions and cleanup policy), and scoring produces with
acks=all."""

from __future__ import annotations

from pathlib import Path

from greenchain.common import topics
from greenchain.common.config import Settings
from greenchain.scoring.worker import ScoringWorker


def test_ensure_topics_makes_the_topics_faust_would_make(tmp_path: Path) -> None:
    settings = Settings(
        topic_namespace="t1.",
        topic_partitions=5,
        topic_replication=3,
        scoring_data_dir=str(tmp_path / "scoring"),
    )
    worker = ScoringWorker(settings)
    specs = {spec.name: spec for spec in topics.scoring_specs(settings)}

    changelog = worker.steps.table.changelog_topic  # type: ignore[attr-defined]
    spec = specs[changelog.get_topic_name()]
    assert spec.name == topics.scoring_changelog(settings)
    source = specs[settings.topic(topics.DECLARATIONS)]
    assert spec.partitions == changelog.partitions == source.partitions == 5
    assert changelog.compacting and spec.config["cleanup.policy"] == "compact"
    assert spec.config["min.insync.replicas"] == changelog.config["min.insync.replicas"] == "2"

    leader = worker.app._leader_assignor._leader_topic  # type: ignore[attr-defined]
    spec = specs[leader.get_topic_name()]
    assert spec.name == topics.scoring_leader_topic(settings)
    assert spec.partitions == leader.partitions == 1
    assert spec.replication == leader.replicas == 3

    assert worker.app.conf.producer_acks == -1  # acks=all: every in-sync replica has it
