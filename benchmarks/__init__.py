"""Benchmarks: scripts that measure, with results recorded in docs/benchmarks.md."""
