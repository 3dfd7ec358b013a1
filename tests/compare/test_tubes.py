"""funnel's tube computed with numpy: the same bounds as pyfunnel (funnel's C library), and its building blocks."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from federation.comparison.tolerances import Tolerance
from federation.comparison.tubes import Grid, half_heights, tube


def funnel_errors(tmp_path: Path, tr: np.ndarray, yr: np.ndarray, tx: np.ndarray, yx: np.ndarray,
                  tol: Tolerance) -> np.ndarray:
    """pyfunnel's error at each test point (0 inside the tube, else the distance to it)."""
    pyfunnel = pytest.importorskip("pyfunnel")
    with contextlib.redirect_stdout(io.StringIO()):
        code = pyfunnel.compareAndReport(tr, yr, tx, yx, outputDirectory=str(tmp_path), atolx=tol.ttol,
                                         atoly=tol.atol, ltoly=tol.rtol, rtoly=tol.range_rtol)
    assert code == 0
    return np.loadtxt(tmp_path / "errors.csv", delimiter=",", skiprows=1, ndmin=2)[:, 1]


@pytest.mark.parametrize("seed", range(12))
def test_the_tube_is_funnels(tmp_path: Path, seed: int) -> None:
    """Random walks (some rounded into plateaus and steps), irregular grids, every kind of tolerance."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    tr = np.cumsum(rng.uniform(0.1, 1.0, n))
    tr -= tr[0]
    yr = np.cumsum(rng.normal(0, 1, n)) * rng.uniform(0.1, 100)
    if seed % 3 == 0:
        yr = np.round(yr)
    tx = np.sort(np.concatenate([[tr[0], tr[-1]], rng.uniform(tr[0], tr[-1], 300)]))
    yx = np.interp(tx, tr, yr) + rng.normal(0, 0.3, tx.size) * np.ptp(yr) * 0.02
    tol = Tolerance(atol=float(rng.uniform(0, 0.5)), rtol=float(rng.choice([0.0, 0.05])),
                    range_rtol=float(rng.choice([0.0, 0.01])), ttol=float(rng.uniform(0.05, 3)))
    lower, upper = tube(tr, yr, tx, tol)
    ours = np.maximum(0.0, np.maximum(lower - yx, yx - upper))
    theirs = funnel_errors(tmp_path, tr, yr, tx, yx, tol)
    assert np.abs(ours - theirs).max() <= 1e-9 * max(1.0, float(np.abs(yr).max()))
    assert (ours > 0).sum() == (theirs > 0).sum()


def test_without_time_tolerance_the_tube_follows_the_reference_interpolated() -> None:
    tr, yr = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 10.0, 0.0, 5.0])
    tx = np.array([0.0, 0.5, 1.0, 2.5, 3.0])
    lower, upper = tube(tr, yr, tx, Tolerance(atol=0.1))
    np.testing.assert_allclose(upper, np.interp(tx, tr, yr) + 0.1)
    np.testing.assert_allclose(lower, np.interp(tx, tr, yr) - 0.1)


def test_a_time_tolerance_widens_the_tube_over_a_step() -> None:
    tr, yr = np.array([0.0, 5.0, 5.0, 10.0]), np.array([0.0, 0.0, 1.0, 1.0])
    lower, upper = tube(tr, yr, np.array([3.9, 4.1, 5.9, 6.1]), Tolerance(atol=0.01, ttol=1.0))
    np.testing.assert_allclose(upper, [0.01, 1.01, 1.01, 1.01])
    np.testing.assert_allclose(lower, [-0.01, -0.01, -0.01, 0.99])


def test_half_heights_fall_back_like_funnel_for_a_constant_signal() -> None:
    assert half_heights(np.full(4, 2.0), Tolerance(range_rtol=0.01)) == pytest.approx(0.02)  # range 0: magnitude
    assert half_heights(np.zeros(4), Tolerance(range_rtol=0.01)) == pytest.approx(0.01)  # then the value itself
    np.testing.assert_allclose(half_heights(np.array([0.0, 10.0]), Tolerance(rtol=0.1, atol=0.5)), [0.5, 1.0])


@pytest.mark.parametrize("seed", range(4))
def test_the_window_extremes_are_the_max_and_min_of_the_samples_in_each_window(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref_times = np.sort(rng.uniform(0, 100, 500))
    values = rng.normal(size=500)
    times = np.sort(rng.uniform(0, 100, 300))
    ttol = float(rng.uniform(0, 20))
    grid = Grid(ref_times, times, ttol)
    got_max = grid.extreme(values, np.maximum, -np.inf)
    got_min = grid.extreme(values, np.minimum, np.inf)
    for i, t in enumerate(times):
        inside = values[(ref_times >= t - ttol) & (ref_times <= t + ttol)]
        assert got_max[i] == (inside.max() if inside.size else -np.inf)
        assert got_min[i] == (inside.min() if inside.size else np.inf)
