"""Benchmarks that print numbers: index build cost and query latency on a news corpus."""
