"""Benchmark suite (pytest-benchmark).  A package, so that its conftest does not shadow
tests/conftest.py when both directories are collected together."""
