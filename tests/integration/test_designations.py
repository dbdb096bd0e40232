"""A published designation list through the real CLI and a real ingest server: good rows land in
the registry topic, a bad list gets a per-row report, a dry run and unmatched rows change
nothing, a non-admin is refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import polars as pl
import pytest
import yaml
from stdnum.cn import uscc

from greenchain.common import topics
from greenchain.common.auth import hash_token
from greenchain.common.config import Settings
from greenchain.ingest.server import IngestServer
from greenchain.testing.builders import supplier
from greenchain.testing.grpc_clients import bearer, channel, read_topic
from greenchain.v1 import ingest_pb2_grpc, supplier_pb2

TOKENS = {"admin-token": "admin", "c-token": "chain:chain-a"}
CODE_A = "91320500MA1N00010" + uscc.calc_check_digit("91320500MA1N00010")
CODE_B = "91310000MA1K00020" + uscc.calc_check_digit("91310000MA1K00020")
CODE_UNKNOWN = "91330100MA2B00030" + uscc.calc_check_digit("91330100MA2B00030")


@pytest.fixture
async def ingest(topics: Settings, tmp_path: Path) -> AsyncIterator[IngestServer]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        yaml.safe_dump(
            {"tokens": [{"sha256": hash_token(t), "principal": p} for t, p in TOKENS.items()]}
        )
    )
    async with IngestServer(topics.with_(tokens_file=str(tokens)), listen="127.0.0.1:0") as server:
        async with channel(server.port) as ch:
            stub = ingest_pb2_grpc.IngestServiceStub(ch)
            for sid, code in (("sup-a", CODE_A), ("sup-b", CODE_B)):
                entry = supplier(sid)
                entry.credit_code = code
                await stub.UpsertSupplier(entry, metadata=bearer("admin-token"))
        yield server


async def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "greenchain.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )


async def registry(settings: Settings, count: int) -> dict[str, supplier_pb2.Supplier]:
    """The latest registry entry per supplier after ``count`` records on the topic."""
    records = await read_topic(settings, settings.topic(topics.SUPPLIERS), count)
    latest = {}
    for key, value, _ in records:
        latest[key.decode()] = supplier_pb2.Supplier.FromString(value)
    return latest


async def test_a_list_with_bad_rows_applies_only_the_good_ones(
    ingest: IngestServer, tmp_path: Path
) -> None:
    wrong_digit = CODE_B[:-1] + ("1" if CODE_B[-1] != "1" else "2")
    listing = tmp_path / "provincial-2024.xlsx"  # as provinces publish them: Chinese headers
    pl.DataFrame(
        [
            ("A 公司", CODE_A, "江苏", "省级", 2024),
            ("B 公司", wrong_digit, "上海", "省级", 2024),
            ("C 公司", CODE_UNKNOWN, "浙江", "省级", 2024),
            ("A 公司", CODE_A, "江苏", "县级", 2024),
        ],
        schema=["企业名称", "统一社会信用代码", "省份", "级别", "年份"],
        orient="row",
    ).write_excel(listing)
    target = ("--target", f"127.0.0.1:{ingest.port}", "--token", "admin-token")

    dry = await cli("designations", "import", str(listing), "--dry-run", *target)
    assert dry.returncode == 65, dry.stdout + dry.stderr
    assert "(dry run)" in dry.stderr

    done = await cli("designations", "import", str(listing), *target)
    assert done.returncode == 65, done.stdout + done.stderr  # some rows were not applied
    report = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    assert "applied" in report["1"] and "sup-a" in report["1"]
    assert "invalid" in report["2"] and "check digit" in report["2"]
    assert "unmatched" in report["3"]
    # row 4 (unknown level) is invalid on its own, so it cannot conflict with row 1
    assert "invalid" in report["4"] and "county" not in report["4"] and "县级" in report["4"]
    assert "1 of 4 rows applied to 1 suppliers; 1 unmatched; 2 to fix" in done.stderr

    # registry: 2 upserts at start + 1 from the import (the dry run wrote nothing)
    entries = await registry(ingest.settings, 3)
    designated = entries["sup-a"].sites[0].green_factory
    assert (designated.level, designated.year) == (supplier_pb2.DESIGNATION_LEVEL_PROVINCIAL, 2024)
    assert not entries["sup-b"].sites[0].HasField("green_factory")


async def test_only_admin_may_import_and_a_file_without_codes_is_refused(
    ingest: IngestServer, tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(f"name,credit_code,level,year\nA,{CODE_A},national,2025\n")
    denied = await cli(
        "designations",
        "import",
        str(listing),
        "--target",
        f"127.0.0.1:{ingest.port}",
        "--token",
        "c-token",
    )
    assert denied.returncode == 77, denied.stderr
    assert "Traceback" not in denied.stderr
    no_codes = tmp_path / "no-codes.csv"
    no_codes.write_text("name,level,year\nA,national,2025\n")
    refused = await cli(
        "designations",
        "import",
        str(no_codes),
        "--target",
        f"127.0.0.1:{ingest.port}",
        "--token",
        "admin-token",
    )
    assert refused.returncode == 65
    assert "no column for credit_code" in refused.stderr
