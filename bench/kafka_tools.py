"""Kafka's own performance tools (from the jars scripts/kafka.sh fetched): the ceilings."""

from __future__ import annotations

import subprocess
from functools import cache

from greenchain.testing import ROOT


@cache
def classpath() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "kafka.sh"), "classpath"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _tool(main: str, *args: str) -> str:
    result = subprocess.run(
        ["java", "-Xmx512m", "-cp", classpath(), main, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{main} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def producer_performance(bootstrap: str, topic: str, records: int, record_size: int) -> float:
    """Records/s of ProducerPerformance with the durability ingest uses (acks=all, idempotent)."""
    out = _tool(
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic,
        "--num-records", str(records),
        "--record-size", str(record_size),
        "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true",
    )  # fmt: skip
    # last line: "N records sent, X records/sec (Y MB/sec), ..."
    summary = [line for line in out.splitlines() if "records sent" in line][-1]
    return float(summary.split(",")[1].split()[0])


def consumer_performance(bootstrap: str, topic: str, records: int) -> float:
    """Records/s of ConsumerPerformance reading ``records`` records of ``topic``."""
    out = _tool(
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bootstrap,
        "--topic", topic,
        "--messages", str(records),
        "--timeout", "60000",
    )  # fmt: skip
    # header, then: start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.ms, fetch.ms, ...
    values = [v.strip() for v in out.strip().splitlines()[-1].split(",")]
    consumed, fetch_ms = int(values[4]), float(values[7])
    if consumed < records:
        raise RuntimeError(f"ConsumerPerformance read {consumed} of {records} records")
    return consumed / (fetch_ms / 1000)  # excluding the group join, like our measurements
