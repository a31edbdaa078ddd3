"""Importing gradest turns on XLA's loop emitter for reductions and the faster-compiling Threefry loop by
default, and only by default."""

import os
import subprocess
import sys

PROBE = (
    "import os, gradest, gradest._xla_flags as x, gradest._threefry_lowering as t; "
    "print(t.CONFIGURED, x.CONFIGURED, os.environ.get('XLA_FLAGS', ''))"
)


def imported_with(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GRADEST_XLA_DEFAULTS")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, "JAX_PLATFORMS": "cpu", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


def test_the_fast_paths_are_the_default_and_can_be_turned_off():
    assert imported_with() == "True True --xla_cpu_experimental_ynn_fusion_type="
    assert imported_with(GRADEST_XLA_DEFAULTS="0") == "False False"


def test_a_users_own_flags_are_kept():
    own = "--xla_force_host_platform_device_count=2"
    assert imported_with(XLA_FLAGS=own) == f"True True {own} --xla_cpu_experimental_ynn_fusion_type="
    theirs = "--xla_cpu_experimental_ynn_fusion_type=dot"
    assert imported_with(XLA_FLAGS=theirs) == f"True False {theirs}"
