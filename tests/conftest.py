"""Shared test configuration: JAX on the CPU, float32 (the library's default precision)."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
