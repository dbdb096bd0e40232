"""The benchmark stage: snapshots of the population from the indicators topic's records."""

from __future__ import annotations

from greenchain.scoring.model import Methodology
from greenchain.scoring.snapshots import BenchmarkStage, snapshot_of
from greenchain.v1 import benchmark_pb2


def indicators(stage: BenchmarkStage, supplier: int, value: float) -> None:
    """One indicators record of ``supplier``, every indicator at ``value``."""
    record = benchmark_pb2.SupplierIndicators(
        supplier_id=f"s{supplier}",
        sector_code="C33",
        values={i.name: value + supplier for i in stage.m.indicators},
    )
    stage.on_record(record.supplier_id.encode(), record.SerializeToString())


def test_a_snapshot_waits_until_the_population_stands_still_or_its_longest_delay() -> None:
    stage = BenchmarkStage(Methodology.load(), max_delay=10.0)
    assert stage.build(0.0) is None  # nothing yet

    for s in range(20):
        indicators(stage, s, 1.0)
    assert stage.build(2.0) is None  # moving: records since the last build
    still = stage.build(4.0)  # none since: the population stands still
    assert still is not None and still.suppliers == 20
    assert stage.build(6.0) is None  # nothing changed since
    indicators(stage, 20, 1.0)
    assert stage.build(6.5) is None  # moving
    indicators(stage, 3, 1.0)  # a rating re-emitted with the same indicators: no move
    still = stage.build(7.0)
    assert still is not None and still.suppliers == 21

    # a burst (a backfill's ratings): new records at every build
    published = []
    for tick in range(8):
        indicators(stage, 100 + tick, 2.0)
        published.append(stage.build(8.0 + 2 * tick))
    # the burst began at 8 s: held back until 10 s later, then the next change waits again
    assert [m is not None for m in published] == [False] * 5 + [True] + [False] * 2
    burst = published[5]
    assert burst is not None and burst.suppliers == 27
    settled = stage.build(30.0)
    assert settled is not None and settled.suppliers == 29
    assert snapshot_of(settled, stage.m).sector_ranks.height == 1
