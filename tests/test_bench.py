"""Smoke test of ``make bench``: the quick path runs, checks agreement and writes its outputs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import gradest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_estimators.py"


def load_script(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_estimators", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_estimators", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    return bench


def test_quick_benchmark_writes_table_json_and_figure(tmp_path, monkeypatch):
    bench = load_script(monkeypatch)
    figure = tmp_path / "figure.png"
    args = ["--quick", "--only", "score_function", "rebar", "--out", str(tmp_path), "--figure", str(figure)]
    records = bench.main(args)
    stored = json.loads((tmp_path / "estimators.json").read_text())
    names = {r["name"] for r in stored["records"]}
    assert {"score_function", "score_function (NumPy f32)", "floor: N·D normals", "rebar"} <= names
    assert "floor: N·D normals" + bench.KEPT in names
    assert len(stored["records"]) == len(records)
    for record in stored["records"]:
        rates = record["samples_per_s"]
        assert len(record["run_s"]) == 2 and 0 < rates["min"] <= rates["median"] <= rates["max"]
        assert (record["compile_s"] is None) == (record["kind"] == "numpy")
    assert "÷ floor" in (text := (tmp_path / "estimators.txt").read_text()) and "goals (N = " in text
    assert figure.stat().st_size > 10_000


def test_every_estimator_has_a_floor_and_runs_only_where_it_applies(monkeypatch):
    bench = load_script(monkeypatch)
    assert all(e.floor in bench.FLOORS for e in bench.ESTIMATORS)
    assert all(e.requires is None or hasattr(gradest, e.requires) for e in bench.ESTIMATORS)

    def names(n, d, layout):
        return {e.name for e in bench.applicable(bench.ESTIMATORS, bench.Cell(n, d, layout))}

    one_variable = {f"sum_and_sample, k = {bench.NUM_SUMMED}", f"unordered_set, k = {bench.SET_SIZE}"}
    assert one_variable <= names(10**5, 1, "scalar")
    assert not one_variable & names(10**5, 1, "vector")
    assert "measure_valued" in names(10**5, 10, "vector")
    assert "measure_valued" not in names(10**6, 10, "vector")


def test_floors_draw_the_fastest_way(monkeypatch):
    # Both variants of a floor hash unrolled (not jax.random's rolled threefry2x32): fused into the
    # floor's sum, or in the library's loop over chunks.
    # The normals and uniforms also block by block, as the streamed Gaussian and Bernoulli
    # estimators draw them; the antithetic estimators draw N / 2 pairs.
    bench = load_script(monkeypatch)
    cell = bench.Cell(10**5, 3, "vector")
    key = jax.random.key(0)
    for floor, draw, count in [
        (f"floor: N·D{half} {kind}", draw, cell.num_samples // (2 if half else 1))
        for kind, draw in {"normals": jax.random.normal, "uniforms": jax.random.uniform}.items()
        for half in ("", "/2")
    ]:
        variants = bench.floor_variants(floor)
        fused, kept, blocks = (name for name, _ in variants)
        assert (fused, kept, blocks) == (floor, floor + bench.KEPT, floor + bench.BLOCKS)
        programs = [jax.jit(build(cell)).lower(key).as_text() for _, build in variants]
        if count == cell.num_samples:  # (N / 2 pairs fill one block here: no loop)
            assert "stablehlo.while" in programs[2]
            if draw is jax.random.normal:  # the uniforms' floors split their key first (a rolled hash)
                assert all("threefry2x32" not in program for program in programs)
                assert ["stablehlo.while" in program for program in programs] == [False, True, True]
        # The blocks draw the numbers of the key's draw of all N samples (or pairs).
        np.testing.assert_allclose(
            jax.jit(variants[2][1](cell))(key), jnp.sum(draw(key, (count, *cell.shape))), rtol=1e-4
        )
    assert [name for name, _ in bench.floor_variants("floor: 2·N·D uniforms")] == [
        "floor: 2·N·D uniforms",
        "floor: 2·N·D uniforms" + bench.KEPT,
    ]
    # An estimator's floor is the fastest variant.
    median = {(fused, 1): 2.0, (kept, 1): 3.0, (blocks, 1): 2.5}
    assert bench.floor_rate(median, fused, 1) == 3.0


def test_every_round_runs_every_program_once_in_a_new_order(monkeypatch):
    # A fixed order measured identical programs differently by their position in the round.
    bench = load_script(monkeypatch)
    programs = list(range(12))
    orders = [bench.round_order(programs, i) for i in range(5)]
    assert all(sorted(order) == programs for order in orders)
    assert len({tuple(order) for order in orders}) == 5
    assert orders == [bench.round_order(programs, i) for i in range(5)]  # the same in every run


def test_the_measure_valued_estimator_is_also_timed_after_its_draws(monkeypatch):
    # Its work grows like D² and its floor like D: the benchmark shows where the rest of its time
    # goes by timing the same program on its random numbers drawn beforehand.
    bench = load_script(monkeypatch)
    (estimator,) = (e for e in bench.ESTIMATORS if e.name == "measure_valued")
    records = bench.measure_cell(bench.Cell(2_000, 2, "vector"), [estimator], repeats=2, with_numpy=False)
    after = {r.name: r for r in records}["measure_valued" + bench.AFTER_DRAWS]
    assert after.kind == "part" and after.floor == estimator.floor and len(after.run_s) == 2
    assert "÷ draws+rest" in bench.table(records) and "÷ draws + rest" in bench.markdown(records)
    # Draws at 4 samples/s and the rest at 12: both take 1/3 s a sample, so the rate is 3 at best.
    median = {("floor: measure-valued draws", 1): 4.0, ("measure_valued" + bench.AFTER_DRAWS, 1): 12.0}
    assert bench.draws_and_rest_rate(median, "measure_valued", "floor: measure-valued draws", 1) == 3.0
    assert bench.draws_and_rest_rate(median, "pathwise", "floor: measure-valued draws", 1) is None


def test_the_gpu_runs_redraw_as_the_page_shows_them(tmp_path, monkeypatch, capsys):
    bench = load_script(monkeypatch)
    runs = SCRIPT.parent.parent / "book" / "data" / "bench-h200"
    figure = tmp_path / "figure.png"
    args = ["--from-json", str(runs / "after.json"), str(runs / "after_rest.json")]
    args += ["--before", str(runs / "before.json"), str(runs / "before_rest.json")]
    bench.main([*args, "--no-figure", "--figure", str(figure)])
    assert not figure.exists()
    printed = capsys.readouterr().out
    comparison = printed[printed.index("| estimator | N = ") :].strip()
    assert comparison in (SCRIPT.parent.parent / "book" / "performance.md").read_text()
    # Each ratio divides by the floor of its own run: the floors of the second run would move
    # the first row's cells.
    assert "| score_function | 0.09 → **1.02** |" in comparison
    assert {json.loads(p.read_text())["machine"]["backend"] for p in runs.glob("*.json")} == {"gpu"}


def test_the_goals_are_judged_in_their_range_and_say_what_holds_a_short_cell_back(monkeypatch):
    bench = load_script(monkeypatch)

    def record(name, kind, floor, n, dim, seconds):
        return bench.Record(name, kind, floor, n, dim, "vector", 0.1, [seconds])

    normals, mv_draws = "floor: N·D normals", "floor: measure-valued draws"
    records = [
        record(normals, "floor", normals, 10**5, 10, 1.0),
        record("pathwise", "gradest", normals, 10**5, 10, 1.5),  # 0.67× the floor: met
        record("pathwise (NumPy f32)", "numpy", normals, 10**5, 10, 2.0),  # NumPy slower: met
        record(mv_draws, "floor", mv_draws, 10**5, 100, 1.0),
        record("measure_valued", "gradest", mv_draws, 10**5, 100, 10.0),  # 0.10×: short
        record("measure_valued" + bench.AFTER_DRAWS, "part", mv_draws, 10**5, 100, 9.0),
        record("measure_valued (NumPy f32)", "numpy", mv_draws, 10**5, 100, 5.0),  # NumPy faster
        record(normals, "floor", normals, 10**4, 1, 1.0),
        record("pathwise", "gradest", normals, 10**4, 1, 4.0),  # 0.25×, but N below the range
    ]
    report = bench.goals(records)
    assert "≥ 0.50× the floor: met in 1 of 2 cells" in report
    assert (
        "measure_valued, N = 1e+05, D = 100 vector: 0.10×; its work after the draws alone runs at 0.11×"
        in report
    )
    assert "≥ 1× float32 NumPy: met in 1 of 2 cells" in report
    assert "measure_valued, N = 1e+05, D = 100 vector: 0.50×" in report
    assert "1e+04" not in report and "0.25× the floor" not in report
    assert "no estimator of the goals measured" in bench.goals(records[-2:])
    # A cell of the run that an estimator skipped (its cap on N·D) is named, not passed over.
    assert "measure_valued, N = 1e+05, D = 10 vector: not measured" in report


def test_the_page_shows_the_goals_as_the_stored_cpu_run_prints_them(monkeypatch, capsys):
    bench = load_script(monkeypatch)
    run = SCRIPT.parent.parent / "book" / "data" / "bench-cpu" / "goals.json"
    bench.main(["--from-json", str(run), "--no-figure"])
    printed = capsys.readouterr().out
    report = printed[printed.index("goals (N = ") :].strip()
    assert report in (SCRIPT.parent.parent / "book" / "performance.md").read_text()
    assert "≥ 0.50× the floor: met in 33 of 33 cells" in report
    assert json.loads(run.read_text())["machine"]["backend"] == "cpu"
