"""Scoring: a faust-streaming worker (``app``) keeps per-supplier state and rates suppliers in
micro-batches with the pure polars rating model (``model``, no Kafka in it)."""
