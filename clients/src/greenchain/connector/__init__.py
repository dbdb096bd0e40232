"""The ERP connector: reads ERP exports with polars, maps them onto declarations with
deterministic ids, and streams them to ingest with retries (``greenchain connect``)."""
