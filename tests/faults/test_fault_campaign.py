"""The fault campaign (docs/faults.md): during one run of at least 50,000 declarations, at least
20 seeded faults of every kind (SIGKILL and SIGSTOP of ingest, scoring and ledger, the broker
killed, the ledger's disk full, a poison record on each topic); then the checker's verdict.

Replay a failing schedule with ``GREENCHAIN_CAMPAIGN_SEED=<the printed seed>``; size it with
``GREENCHAIN_CAMPAIGN_*`` (``make soak`` runs a longer one). Needs root (it mounts the ledger's
own small filesystem) and starts a broker of its own on a port in 19000-19999.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from greenchain.common import topics
from greenchain.testing.campaign.checker import LedgerEntry, check
from greenchain.testing.campaign.run import CampaignConfig, run_campaign
from greenchain.testing.campaign.schedule import POISON_TOPICS, SERVICES, FaultKind, Plan, schedule
from greenchain.testing.flows import offline_ratings, sample_declarations


@pytest.mark.timeout(3600)  # a few minutes at the CI size; the bound is for make soak
def test_the_campaign_loses_doubles_and_breaks_nothing(tmp_path: Path) -> None:
    config = CampaignConfig.from_env()
    assert config.declarations >= 50_000 or os.environ.get("GREENCHAIN_CAMPAIGN_DECLARATIONS")
    print(f"\nfault campaign, seed {config.seed}")
    result = asyncio.run(run_campaign(config, tmp_path))
    print(result.report())
    (tmp_path / "campaign-report.txt").write_text(result.report())  # beside the services' logs
    assert result.ok, result.report()
    assert sum(result.verdict.faults.values()) >= min(20, config.plan.faults)
    assert result.verdict.acknowledged == config.declarations


# The schedule ------------------------------------------------------------------------------


def test_a_seed_replays_its_schedule_and_another_seed_does_not() -> None:
    plan = Plan(faults=24, span=60)
    assert schedule(7, plan) == schedule(7, plan)
    assert schedule(7, plan) != schedule(8, plan)


def test_the_schedule_has_every_kind_of_fault_through_the_run() -> None:
    plan = Plan(faults=24, span=60, broker_restarts=1, disk_fills=2)
    faults = schedule(11, plan)
    assert len(faults) == 24
    kinds = Counter((f.kind, f.target) for f in faults)
    assert all(kinds[(FaultKind.POISON, t)] == 1 for t in POISON_TOPICS)
    assert all(kinds[(k, s)] >= 1 for k in (FaultKind.SIGKILL, FaultKind.SIGSTOP) for s in SERVICES)
    assert kinds[(FaultKind.BROKER_RESTART, "kafka")] == 1
    assert kinds[(FaultKind.DISK_FULL, "ledger")] == 2
    times = [f.at for f in faults]
    assert times == sorted(times) and times[0] < 60 / 24 and times[-1] > 60 * 0.9


# The checker: it must be able to fail -----------------------------------------------------


@pytest.fixture(scope="module")
def clean_run() -> dict[str, Any]:
    """What an uninterrupted run stores: each declaration once, the reference ratings, a ledger
    of one entry per supplier."""
    suppliers, decls = sample_declarations(suppliers=12, months=6, seed=3)
    ratings = offline_ratings(suppliers, decls)
    from greenchain.common.ratings import rating_fingerprint

    ledger = {sid: [LedgerEntry(1, 1, rating_fingerprint(r))] for sid, r in ratings.items()}
    return {
        "seed": 1,
        "acknowledged": [d.declaration_id for d in decls],
        "stored_ids": [d.declaration_id for d in decls],
        "undecodable": 0,
        "settled": ratings,
        "reference": ratings,
        "ledger": ledger,
        "health": {"ingest": True, "scoring": True, "ledger": True},
        "faults": Counter({"sigkill": 3}),
    }


def test_the_checker_passes_a_clean_run(clean_run: dict[str, Any]) -> None:
    verdict = check(**clean_run)
    assert verdict.ok, verdict.report()
    assert verdict.lost == verdict.duplicated == 0
    assert verdict.found_once == verdict.acknowledged > 0
    assert "lost 0, duplicated 0" in verdict.report()


def test_one_acknowledged_declaration_missing_from_kafka_is_lost_1(
    clean_run: dict[str, Any],
) -> None:
    stored = list(clean_run["stored_ids"])
    dropped = stored.pop(len(stored) // 2)
    verdict = check(**{**clean_run, "stored_ids": stored})
    assert not verdict.ok
    assert verdict.lost == 1 and verdict.duplicated == 0
    assert verdict.found_once == verdict.acknowledged - 1
    assert dropped in verdict.report()


def test_one_declaration_twice_in_kafka_is_duplicated_1(clean_run: dict[str, Any]) -> None:
    stored = list(clean_run["stored_ids"])
    verdict = check(**{**clean_run, "stored_ids": [*stored, stored[0]]})
    assert (verdict.lost, verdict.duplicated, verdict.ok) == (0, 1, False)


def test_a_poison_record_counts_only_when_the_campaign_put_it_there(
    clean_run: dict[str, Any],
) -> None:
    assert check(**{**clean_run, "undecodable": 1}, poison_declarations=1).ok
    assert not check(**{**clean_run, "undecodable": 2}, poison_declarations=1).ok


def test_a_rating_unlike_the_uninterrupted_runs_fails(clean_run: dict[str, Any]) -> None:
    settled = dict(clean_run["settled"])
    sid = sorted(settled)[0]
    changed = type(settled[sid])()
    changed.CopyFrom(settled[sid])
    changed.total_score += 0.5
    verdict = check(**{**clean_run, "settled": {**settled, sid: changed}})
    assert verdict.ratings_differing == 1 and not verdict.ok
    assert sid in verdict.report()


def test_ledger_gaps_repeats_and_stale_heads_are_found(clean_run: dict[str, Any]) -> None:
    ledger = dict(clean_run["ledger"])
    a, b, c = sorted(ledger)[:3]
    head = ledger[a][0]
    ledger[a] = [
        head,
        LedgerEntry(3, 3, head.fingerprint + "x"),
        LedgerEntry(4, 4, head.fingerprint),
    ]
    ledger[b] = [
        *ledger[b],
        LedgerEntry(2, 1, "other"),
        LedgerEntry(3, 2, ledger[b][0].fingerprint),
    ]
    ledger[c] = []
    verdict = check(**{**clean_run, "ledger": ledger})
    assert verdict.ledger_missing == 1  # a: sequence 2 / revision 2 missing
    assert verdict.ledger_duplicated == 1  # b: revision 1 again
    assert verdict.ledger_stale == 1  # c: no entry for a settled rating
    assert not verdict.ok


def test_a_service_not_serving_at_the_end_fails(clean_run: dict[str, Any]) -> None:
    health = {"ingest": True, "scoring": True, "ledger": False}
    verdict = check(**{**clean_run, "health": health})
    assert verdict.unhealthy == ["ledger"] and not verdict.ok


def test_poison_topics_are_the_four_that_consumers_read() -> None:
    assert set(POISON_TOPICS) == {
        topics.DECLARATIONS,
        topics.SUPPLIERS,
        topics.CHAINS,
        topics.RATINGS,
    }
