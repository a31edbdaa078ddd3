"""Shared test configuration: JAX on the CPU, and reproducible property-based tests."""

import os

from hypothesis import settings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

# The same examples on every run, so a failure in CI is a failure on every machine.
settings.register_profile("book", derandomize=True, print_blob=True, database=None)
settings.load_profile("book")
