"""What the web console and the ``greenchain`` command both show, computed from ledger answers
only (the methodology's numbers travel on each rating): the improvement plan, alerts, SVG
charts, and the chain report as Excel and PDF. No gRPC, no Kafka: plain functions of messages."""
