"""Benchmarks: `make bench-automation`."""
