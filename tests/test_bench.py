"""Smoke test of ``make bench``: the quick path runs, checks agreement and writes its outputs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_estimators.py"


def test_quick_benchmark_writes_table_json_and_figure(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_estimators", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_estimators", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    figure = tmp_path / "figure.png"
    args = ["--quick", "--only", "score_function", "rebar", "--out", str(tmp_path), "--figure", str(figure)]
    records = bench.main(args)
    stored = json.loads((tmp_path / "estimators.json").read_text())
    names = {r["name"] for r in stored["records"]}
    assert {"score_function", "score_function (NumPy f32)", "floor: N·D normals", "rebar"} <= names
    assert len(stored["records"]) == len(records)
    for record in stored["records"]:
        rates = record["samples_per_s"]
        assert len(record["run_s"]) == 2 and 0 < rates["min"] <= rates["median"] <= rates["max"]
        assert (record["compile_s"] is None) == (record["kind"] == "numpy")
    assert "÷ floor" in (tmp_path / "estimators.txt").read_text()
    assert figure.stat().st_size > 10_000
