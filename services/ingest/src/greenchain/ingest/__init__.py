"""Ingest: the gRPC front door. Validates declarations and writes them durably to Kafka;
acknowledges a declaration only after Kafka acknowledged it (acks=all, idempotent producer)."""
