"""Ledger: every rating in an append-only, hash-chained store (SQLite), served over gRPC to
chain leaders and suppliers (``LedgerService``)."""
