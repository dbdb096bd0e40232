"""The console's ledger client: one gRPC channel for the process, every call made with the
signed-in principal's bearer token (the ledger decides what it may see)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from greenchain.common import tls
from greenchain.common.config import Settings
from greenchain.v1 import ledger_pb2, ledger_pb2_grpc, rating_pb2

TIMEOUT = 20.0


def _md(token: str) -> tuple[tuple[str, str], ...] | None:
    return (("authorization", f"Bearer {token}"),) if token else None


class Ledger:
    def __init__(self, settings: Settings) -> None:
        self.target = settings.ledger_address
        self.tls = tls.ClientTls.from_settings(settings)
        # every call carries a signed-in user's token: plaintext only to loopback (or dev mode)
        tls.check_token_transport(
            self.target, "any token", self.tls.secure, bool(settings.insecure_dev)
        )
        self._channel: grpc.aio.Channel | None = None

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:  # made inside the server's event loop
            self._channel = tls.channel(self.target, self.tls)
        return self._channel

    @property
    def stub(self) -> ledger_pb2_grpc.LedgerServiceAsyncStub:
        return ledger_pb2_grpc.LedgerServiceStub(self.channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def serving(self) -> bool:
        try:
            answer = await health_pb2_grpc.HealthStub(self.channel).Check(
                health_pb2.HealthCheckRequest(), timeout=3
            )
        except grpc.aio.AioRpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    async def progress(self, token: str, chain_id: str) -> ledger_pb2.ChainProgress:
        return await self.stub.GetChainProgress(
            ledger_pb2.GetChainProgressRequest(chain_id=chain_id),
            metadata=_md(token),
            timeout=TIMEOUT,
        )

    async def ratings(self, token: str, chain_id: str) -> list[rating_pb2.SupplierRating]:
        """Every current rating of the chain (admin: of everyone when ``chain_id`` is empty)."""
        out: list[rating_pb2.SupplierRating] = []
        page_token = ""
        while True:
            page = await self.stub.ListRatings(
                ledger_pb2.ListRatingsRequest(
                    chain_id=chain_id,
                    order=ledger_pb2.RATING_ORDER_SUPPLIER_ID,
                    page_size=1000,
                    page_token=page_token,
                ),
                metadata=_md(token),
                timeout=TIMEOUT,
            )
            out.extend(page.ratings)
            page_token = page.next_page_token
            if not page_token:
                return out

    async def probe_list(self, token: str) -> None:
        await self.stub.ListRatings(
            ledger_pb2.ListRatingsRequest(page_size=1), metadata=_md(token), timeout=TIMEOUT
        )

    async def rating(self, token: str, supplier_id: str) -> ledger_pb2.LedgerEntry:
        return await self.stub.GetRating(
            ledger_pb2.GetRatingRequest(supplier_id=supplier_id),
            metadata=_md(token),
            timeout=TIMEOUT,
        )

    async def history(self, token: str, supplier_id: str) -> list[ledger_pb2.LedgerEntry]:
        answer = await self.stub.GetRatingHistory(
            ledger_pb2.GetRatingHistoryRequest(supplier_id=supplier_id),
            metadata=_md(token),
            timeout=TIMEOUT,
        )
        return list(answer.entries)

    async def verify(self, token: str, supplier_id: str) -> ledger_pb2.VerifyHistoryResponse:
        return await self.stub.VerifyHistory(
            ledger_pb2.VerifyHistoryRequest(supplier_id=supplier_id),
            metadata=_md(token),
            timeout=TIMEOUT,
        )

    def watch(self, token: str, chain_id: str) -> AsyncIterator[ledger_pb2.LedgerEntry]:
        """A WatchRatings call (no deadline); cancel it to end it."""
        call = self.stub.WatchRatings(
            ledger_pb2.WatchRatingsRequest(chain_id=chain_id), metadata=_md(token)
        )
        return call  # type: ignore[return-value]
