"""A small client of the LedgerService for people and scripts (``greenchain ratings`` ...)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import polars as pl

from greenchain.common import tls
from greenchain.common.grades import grade_label, level_label, tier_label
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2

ZERO_CARBON_LABEL = {
    value: name.removeprefix("ZERO_CARBON_STATUS_").lower()
    for name, value in rating_pb2.ZeroCarbonStatus.items()
}
RESUME_KEY = "greenchain-resume-index"  # trailing metadata of a watcher cut off for slowness


CALL_TIMEOUT = 30.0
"""Seconds a unary call may take (a target that never answers ends in DEADLINE_EXCEEDED)."""


@dataclass
class LedgerClient:
    target: str
    token: str = ""
    root_certificates: bytes | None = None  # the CA to trust: TLS when given
    timeout: float = CALL_TIMEOUT
    certificate_chain: bytes | None = None  # mTLS: our client certificate ...
    private_key: bytes | None = None  # ... and its key
    insecure_dev: bool = False  # GREENCHAIN_INSECURE_DEV: a token may go plaintext anywhere

    def _channel(self) -> grpc.aio.Channel:
        """TLS when a CA is given; never a token in the clear beyond loopback
        (:class:`~greenchain.common.tls.PlaintextTokenError`)."""
        return tls.channel(
            self.target,
            tls.ClientTls(self.root_certificates, self.certificate_chain, self.private_key),
            token=self.token,
            insecure_dev=self.insecure_dev,
        )

    def _md(self) -> tuple[tuple[str, str], ...] | None:
        return (("authorization", f"Bearer {self.token}"),) if self.token else None

    async def all_ratings(
        self,
        chain_id: str,
        order: ledger_pb2.RatingOrder = ledger_pb2.RATING_ORDER_SCORE_DESC,
        page_size: int = 500,
    ) -> AsyncIterator[rating_pb2.SupplierRating]:
        async with self._channel() as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            token = ""
            while True:
                page = await stub.ListRatings(
                    ledger_pb2.ListRatingsRequest(
                        chain_id=chain_id,
                        order=order,
                        page_size=page_size,
                        page_token=token,
                    ),
                    metadata=self._md(),
                    timeout=self.timeout,
                )
                for rating in page.ratings:
                    yield rating
                token = page.next_page_token
                if not token:
                    return

    async def list_page(
        self, request: ledger_pb2.ListRatingsRequest
    ) -> ledger_pb2.ListRatingsResponse:
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).ListRatings(
                request, metadata=self._md(), timeout=self.timeout
            )

    async def rating(self, supplier_id: str) -> ledger_pb2.LedgerEntry:
        """A supplier's current rating (NOT_FOUND when it has none)."""
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).GetRating(
                ledger_pb2.GetRatingRequest(supplier_id=supplier_id),
                metadata=self._md(),
                timeout=self.timeout,
            )

    async def progress(self, chain_id: str) -> ledger_pb2.ChainProgress:
        async with self._channel() as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            return await stub.GetChainProgress(
                ledger_pb2.GetChainProgressRequest(chain_id=chain_id),
                metadata=self._md(),
                timeout=self.timeout,
            )

    async def history(self, supplier_id: str) -> list[ledger_pb2.LedgerEntry]:
        async with self._channel() as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            response = await stub.GetRatingHistory(
                ledger_pb2.GetRatingHistoryRequest(supplier_id=supplier_id),
                metadata=self._md(),
                timeout=self.timeout,
            )
            return list(response.entries)

    async def history_response(self, supplier_id: str) -> ledger_pb2.GetRatingHistoryResponse:
        """Every entry of the supplier with the signed checkpoint they were answered at."""
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).GetRatingHistory(
                ledger_pb2.GetRatingHistoryRequest(supplier_id=supplier_id), metadata=self._md()
            )

    async def checkpoint(self) -> ledger_pb2.Checkpoint:
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).GetCheckpoint(
                ledger_pb2.GetCheckpointRequest(), metadata=self._md()
            )

    async def inclusion_proof(self, index: int, tree_size: int) -> ledger_pb2.InclusionProof:
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).GetInclusionProof(
                ledger_pb2.GetInclusionProofRequest(index=index, tree_size=tree_size),
                metadata=self._md(),
            )

    async def consistency_proof(self, first: int, second: int) -> ledger_pb2.ConsistencyProof:
        async with self._channel() as channel:
            return await ledger_pb2_grpc.LedgerServiceStub(channel).GetConsistencyProof(
                ledger_pb2.GetConsistencyProofRequest(first_size=first, second_size=second),
                metadata=self._md(),
            )

    async def watch(
        self, chain_id: str, from_index: int | None = None
    ) -> AsyncIterator[ledger_pb2.LedgerEntry]:
        """New entries of the chain (from log index ``from_index`` on, if given), forever. When
        the ledger cuts the stream off for being slow (RESOURCE_EXHAUSTED), it reconnects from
        the last index received + 1: no entry is lost or repeated."""
        next_index = from_index
        async with self._channel() as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            while True:
                request = ledger_pb2.WatchRatingsRequest(chain_id=chain_id)
                if next_index is not None:
                    request.from_index = next_index
                try:
                    async for entry in stub.WatchRatings(request, metadata=self._md()):
                        next_index = entry.index + 1
                        yield entry
                except grpc.aio.AioRpcError as err:
                    if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise
                    if next_index is None:  # cut off before the first entry: resume there
                        resume = dict(err.trailing_metadata() or ()).get(RESUME_KEY)
                        next_index = int(str(resume)) if resume is not None else None

    async def verify(self, supplier_id: str) -> ledger_pb2.VerifyHistoryResponse:
        async with self._channel() as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            return await stub.VerifyHistory(
                ledger_pb2.VerifyHistoryRequest(supplier_id=supplier_id),
                metadata=self._md(),
                timeout=self.timeout,
            )

    async def export(self, chain_id: str, path: Path, fmt: str) -> int:
        """Every current rating of the chain, one row per supplier, every indicator a column."""
        rows = []
        async for r in self.all_ratings(chain_id, ledger_pb2.RATING_ORDER_SUPPLIER_ID):
            row: dict[str, object] = {
                "supplier_id": r.supplier_id,
                "supplier_name": r.supplier_name,
                "sector_code": r.sector_code,
                "total_score": r.total_score,
                "credit_code": r.credit_code,
                "green_factory_level": level_label(r.green_factory_level),
                "green_code": grade_label(r.grade),
                "sector_percentile": (
                    r.sector_percentile if r.HasField("sector_percentile") else None
                ),
                "readiness_tier": tier_label(r.readiness_tier),
                "zero_carbon_status": ZERO_CARBON_LABEL[r.zero_carbon_status],
                "output_value_cny": r.output_value_cny,
                "months_present": r.coverage.months_present,
                "verified_share": r.coverage.verified_share,
                "methodology_version": r.methodology_version,
                "revision": r.revision,
            }
            for ind in r.indicators:
                row[ind.indicator] = ind.value if ind.HasField("value") else None
                row[f"{ind.indicator}_points"] = ind.points
            rows.append(row)
        frame = pl.DataFrame(rows)
        if fmt == "parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
        return frame.height
