"""Benchmarks of greenchain against baselines measured in the same run (``make bench``)."""
