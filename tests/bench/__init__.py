"""Benchmarks (``make bench``): never timed unit tests. Each ``bench_*.py`` module is a
program that sets up its own database, measures, and prints a report."""
