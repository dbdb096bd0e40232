"""A seeded fault campaign over the whole pipeline, after Jepsen's Kafka analyses: many faults of
several kinds during one run under load, then a check that every acknowledged declaration is in
Kafka exactly once, the settled ratings equal an uninterrupted run's and the ledger misses and
repeats nothing.

* :mod:`.schedule` — which faults, when (a pure function of the seed: a failing run replays);
* :mod:`.injectors` — how each fault is done to real processes, a real broker, a real disk;
* :mod:`.load` — the load generator: a connector that counts only acknowledged declarations;
* :mod:`.checker` — the verdict and its counts, from what was acknowledged and what is stored;
* :mod:`.run` — all of it together (``tests/faults/test_fault_campaign.py``, ``make soak``).
"""
