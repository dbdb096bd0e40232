"""greenchain: rate the green performance of a manufacturer's suppliers in real time.

Data flow, one subpackage per stage::

    connector -> ingest -> [declarations topic] -> scoring -> [ratings topic] -> ledger

``greenchain.v1`` holds the protobuf contract (generated from ``protos/``), ``greenchain.common``
what several services share (settings, topics, telemetry, auth), and
``greenchain.scoring.model`` the pure polars rating model, with no Kafka in it.
"""

__version__ = "0.1.0"
