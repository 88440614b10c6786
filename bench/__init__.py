"""Benchmarks of Qingdan, run on demand with ``python -m bench`` (never part of the test suite).

See ``bench/README.md`` for what each benchmark measures and how to read its figures.
"""
