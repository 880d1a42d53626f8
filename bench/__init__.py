"""Benchmarks of the help-desk platform (``python -m bench.pipeline``); not part of any service."""
