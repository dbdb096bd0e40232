"""The greenchain web console: server-rendered pages for chain leaders (progress to the 40 %
goal, supplier table, leverage, alerts, reports) and suppliers (scorecard, improvement plan,
coverage, hash-chain check). Every page is read from the ledger over gRPC with the signed-in
principal's own bearer token, so a principal sees exactly what the API lets it see."""
