"""The power-curve figure: its artists carry the simulated numbers (artists, not pixels)."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from alsmeta.errors import InputError  # noqa: E402
from alsmeta.plots import power_curve_plot  # noqa: E402
from alsmeta.plots.power import effect_label  # noqa: E402
from alsmeta.simulate import LinearProgression, TreatmentEffect, power_curve  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return power_curve([20, 40, 60], [0.5, 1.0], model=LinearProgression(), reps=30, seed=3)


@pytest.fixture(scope="module")
def null_result():
    effects = [
        TreatmentEffect(mean=0.6, sd=0.2, source="predictive"),
        TreatmentEffect(mean=0.6),
    ]
    return power_curve(
        [20, 40], effects, model=LinearProgression(), reps=30, seed=3, null=True, alpha=0.1
    )


def _by_gid(artists, prefix):
    return [a for a in artists if str(a.get_gid()).startswith(prefix)]


def test_one_line_per_effect_through_the_simulated_power(result) -> None:
    ax = power_curve_plot(result)
    assert isinstance(ax.figure, Figure)
    lines = _by_gid(ax.lines, "power:")
    assert len(lines) == 2
    scen = result.scenarios
    for line, effect in zip(lines, (0.5, 1.0), strict=True):
        rows = scen[scen["effect"] == effect].sort_values("n_per_arm")
        np.testing.assert_array_equal(line.get_xdata(), rows["n_per_arm"].to_numpy(float))
        np.testing.assert_array_equal(line.get_ydata(), rows["power"].to_numpy())
        assert line.get_label() == f"{effect:g} points/month"
        assert line.get_linestyle() == "-"


def test_monte_carlo_intervals_are_drawn_as_bars(result) -> None:
    ax = power_curve_plot(result)
    bars = _by_gid(ax.collections, "power_ci:")
    assert len(bars) == 2
    rows = result.scenarios[result.scenarios["effect"] == 0.5].sort_values("n_per_arm")
    segments = bars[0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segments], rows["power_ci_lower"])
    np.testing.assert_allclose([s[1][1] for s in segments], rows["power_ci_upper"])


def test_axis_labels_and_title(result) -> None:
    ax = power_curve_plot(result)
    assert ax.get_xlabel() == "Patients per arm"
    assert ax.get_ylabel() == "Power (share of trials with p < 0.05)"
    assert "parallel design, endpoint slope, linear model; 30 trials per point" in ax.get_title()
    assert ax.get_ylim() == (0.0, 1.02)


def test_target_line(result) -> None:
    ax = power_curve_plot(result, target=0.8)
    (target,) = _by_gid(ax.lines, "target")
    assert list(target.get_ydata()) == [0.8, 0.8]
    assert target.get_label() == "target power 0.8"
    assert _by_gid(power_curve_plot(result).lines, "target") == []
    assert _by_gid(ax.lines, "alpha") == []  # no null run, no alpha line


def test_null_run_draws_type1_error_and_alpha(null_result) -> None:
    ax = power_curve_plot(null_result)
    (alpha,) = _by_gid(ax.lines, "alpha")
    assert list(alpha.get_ydata()) == [0.1, 0.1]
    (points,) = _by_gid(ax.lines, "type1_error")
    scen = null_result.scenarios.drop_duplicates("n_per_arm")
    np.testing.assert_array_equal(points.get_ydata(), scen["type1_error"].to_numpy())
    assert len(_by_gid(ax.collections, "type1_error_ci")) == 1


def test_predictive_effect_is_labelled_assurance_and_kept_apart(null_result) -> None:
    ax = power_curve_plot(null_result)
    lines = _by_gid(ax.lines, "power:")
    assert len(lines) == 2  # same mean, different sd: two effects
    assert lines[0].get_label() == "0.6 points/month (assurance, SD 0.2)"
    assert lines[0].get_linestyle() == "--"
    assert lines[1].get_label() == "0.6 points/month"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "type I error (no effect)" in legend and "alpha = 0.1" in legend


def test_draws_on_a_given_axes(result) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert power_curve_plot(result, ax=ax) is ax
    assert len(_by_gid(ax.lines, "power:")) == 2


def test_allocation_and_single_arm_axis_labels() -> None:
    from alsmeta.simulate import TrialDesign

    res = power_curve([10], [0.5], design=TrialDesign(allocation=2.0), model=LinearProgression(),
                      reps=5, seed=1)  # fmt: skip
    label = power_curve_plot(res).get_xlabel()
    assert label == "Patients in the control arm (treated arm 2 times larger)"


@pytest.mark.parametrize("target", [0.0, 1.0, 80, float("nan")])
def test_bad_target_raises(result, target) -> None:
    with pytest.raises(InputError, match="target="):
        power_curve_plot(result, target=target)


def test_not_a_power_result_raises() -> None:
    with pytest.raises(InputError, match="must be a PowerResult"):
        power_curve_plot("curve")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((0.25, "points"), "0.25 points/month"),
        ((0.25, "percent"), "25% slower decline"),
        ((0.1, "percent", 0.05), "10% slower decline (assurance, SD 5%)"),
        ((3.0, "d50"), "3 months later D50"),
    ],
)
def test_effect_label(args, text) -> None:
    assert effect_label(*args) == text


def test_several_results_share_the_axes_in_order(result) -> None:
    effects = [TreatmentEffect(mean=0.6, sd=0.2), TreatmentEffect(mean=0.6)]
    null_result = power_curve([20, 40], effects, model=LinearProgression(), reps=30, seed=3,
                              null=True)  # fmt: skip
    ax = power_curve_plot([null_result, result], labels=["a", "b", "c", "d"], log_x=True)
    lines = _by_gid(ax.lines, "power:")
    assert [line.get_label() for line in lines] == ["a", "b", "c", "d"]
    # the third line is the first effect of the second result
    rows = result.scenarios[result.scenarios["effect"] == 0.5].sort_values("n_per_arm")
    np.testing.assert_array_equal(lines[2].get_ydata(), rows["power"].to_numpy())
    assert lines[0].get_linestyle() == "--"  # predictive (assurance) effect
    # the null run of the first result is drawn once, at its own sample sizes
    (crosses,) = _by_gid(ax.lines, "type1_error")
    np.testing.assert_array_equal(crosses.get_xdata(), [20.0, 40.0])
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "40", "60"]
    assert ax.get_xlabel().endswith("(logarithmic scale)")


def test_labels_must_match_the_lines(result) -> None:
    with pytest.raises(InputError, match="one text for each of the 2 lines"):
        power_curve_plot(result, labels=["only one"])
    with pytest.raises(InputError, match="one text for each"):
        power_curve_plot(result, labels="ab")  # type: ignore[arg-type]


def test_results_with_other_designs_cannot_share_a_plot(result) -> None:
    other = power_curve([20], [0.5], model=LinearProgression(), reps=5, seed=1, alpha=0.1)
    with pytest.raises(InputError, match=r"result 1 has .* alpha 0\.1"):
        power_curve_plot([result, other])
    with pytest.raises(InputError, match="non-empty sequence"):
        power_curve_plot([])


def test_favourable_power_is_drawn_with_its_own_interval(result) -> None:
    ax = power_curve_plot(result, column="power_favourable")
    rows = result.scenarios[result.scenarios["effect"] == 0.5].sort_values("n_per_arm")
    line = _by_gid(ax.lines, "power:")[0]
    np.testing.assert_array_equal(line.get_ydata(), rows["power_favourable"].to_numpy())
    segments = _by_gid(ax.collections, "power_ci:")[0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segments], rows["power_favourable_ci_lower"])
    assert "favouring treatment" in ax.get_ylabel()
    with pytest.raises(InputError, match="column='p'"):
        power_curve_plot(result, column="p")
