"""The plots of `make bench`'s report (grader/plots.py and
bench.comparison_plots): what is plotted from a table's figures, the PNGs
written where matplotlib is installed (`make deps` installs it), and the
report's line without it."""

import pytest

from grader import bench, plots

RUNTIME = next(c for c in bench.COMPARISONS if c.program == "runtime")
GREEN = {"fib_fine workers=1": 1.0, "fib_fine workers=2": 0.52, "spawn n=100000": 100.0,
         "yield workers=1": 20.0}
COLUMNS = {"go": {"fib_fine workers=1": (0.9, "s"), "fib_fine workers=2": (0.5, "s"),
                  "spawn n=100000": (600.0, "ns"), "spawn_join n=1000": (400.0, "ns")},
           "tbb": {"fib_fine workers=1": (0.5, "s"), "fib_fine workers=2": (0.25, "s")}}


def test_scaling_series_are_the_workloads_measured_at_several_worker_counts():
    series = plots.scaling_series(GREEN, COLUMNS)
    assert set(series) == {"fib_fine"}, "spawn and yield have one worker count only"
    assert series["fib_fine"]["green"] == [(1, 1.0), (2, 0.52)]
    assert series["fib_fine"]["tbb"] == [(1, 0.5), (2, 0.25)]


def test_rows_without_any_ratio_are_not_plotted():
    rows = [("a", {"go": 2.0, "tbb": None}), ("b", {"go": None}), ("c", {"tbb": 0.5})]
    assert plots.ratio_rows(rows) == [("a", {"go": 2.0}), ("c", {"tbb": 0.5})]


def test_without_matplotlib_the_report_says_how_to_get_the_plots(monkeypatch, tmp_path):
    monkeypatch.setattr(plots, "available", lambda: False)
    text = bench.comparison_plots(RUNTIME, GREEN, COLUMNS, tmp_path)
    assert "python3-matplotlib" in text and not list(tmp_path.iterdir())


def test_with_matplotlib_each_comparison_gets_its_two_pngs(tmp_path):
    if not plots.available():
        pytest.fail("matplotlib is missing: `make deps` installs python3-matplotlib")
    text = bench.comparison_plots(RUNTIME, GREEN, COLUMNS, tmp_path)
    for name in (f"{RUNTIME.group}-ratios.png", f"{RUNTIME.group}-scaling.png"):
        png = tmp_path / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
        assert f"]({name})" in text, f"the report does not show {name}:\n{text}"
