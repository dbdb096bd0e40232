"""What several services share: settings, Kafka topics, telemetry, auth."""
