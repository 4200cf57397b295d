"""Benchmarks. Each writes its results table into docs/performance.md (its own section)."""
