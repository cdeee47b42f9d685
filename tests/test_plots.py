"""Plots: the artists drawn carry the numbers of the analyses (artists, not pixels)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from alsmeta import (  # noqa: E402
    escalc,
    load_dataset,
    meta_analysis,
    subgroup_analysis,
    trim_and_fill,
)
from alsmeta.effects import EffectSizeTable  # noqa: E402
from alsmeta.errors import InputError  # noqa: E402
from alsmeta.patients import synth_cohort  # noqa: E402
from alsmeta.plots import (  # noqa: E402
    FOREST_COLUMNS,
    effect_direction_plot,
    forest_frame,
    forest_plot,
    format_forest_frame,
    funnel_plot,
    traffic_light_plot,
    trajectory_plot,
    trajectory_summary,
)
from alsmeta.plots.direction import SIZE_CLASSES  # noqa: E402
from alsmeta.plots.risk_of_bias import COLOURS, SYMBOLS  # noqa: E402


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def bcg():
    data = load_dataset("bcg")
    data = data.assign(n1i=data["tpos"] + data["tneg"], n2i=data["cpos"] + data["cneg"])
    return escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)


@pytest.fixture(scope="module")
def bcg_fit(bcg):
    return meta_analysis(bcg)


@pytest.fixture(scope="module")
def bcg_subgroups(bcg):
    return subgroup_analysis(bcg, "alloc")


@pytest.fixture(scope="module")
def normand():
    es = escalc(
        "MD",
        m1i="m1i",
        sd1i="sd1i",
        n1i="n1i",
        m2i="m2i",
        sd2i="sd2i",
        n2i="n2i",
        data=load_dataset("normand1999"),
    )
    return meta_analysis(es, test="knha")


@pytest.fixture
def effect_directions():
    return pd.DataFrame(
        {
            "study": ["Oh 2018", "Oh 2018", "Berry 2019", "Cudkowicz 2022", "Cudkowicz 2022"],
            "domain": ["ALSFRS-R", "survival", "ALSFRS-R", "ALSFRS-R", "FVC"],
            "direction": ["benefit", "no_effect/mixed", "harm", "no_effect/mixed", "benefit"],
            "n": [64, 64, 48, 196, 400],
            "design": ["RCT", "RCT", "single arm", "RCT", "RCT"],
        }
    )


@pytest.fixture
def rob2():
    return pd.DataFrame(
        {
            "study": ["Oh 2018", "Cudkowicz 2022", "Berry 2019"],
            "D1": ["low", "low", "high"],
            "D2": ["some concerns", "low", "low"],
            "D3": ["low", "low", "no information"],
            "D4": ["high", "low", "low"],
            "D5": ["low", "some concerns", "low"],
            "overall": ["high", "some concerns", "high"],
        }
    )


@pytest.fixture(scope="module")
def cohort():
    return synth_cohort(120, rng=np.random.default_rng(11), effect=0.3)


def by_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


def texts(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


# ------------------------------------------------------------------ lazy import
def test_import_does_not_load_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        import alsmeta, alsmeta.meta, alsmeta.plots, alsmeta.patients, alsmeta.diagnostics
        from alsmeta.plots import forest_frame, forest_plot, funnel_plot
        print(sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib"))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_matplotlib_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        from alsmeta import escalc, load_dataset, meta_analysis
        from alsmeta.plots import forest_frame, forest_plot
        es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=load_dataset("bcg"))
        res = meta_analysis(es)
        assert len(forest_frame(res)) == 15  # the frame needs no matplotlib
        try:
            forest_plot(res)
        except ModuleNotFoundError as exc:
            print(exc.name, "|", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name, message = out.stdout.strip().split(" | ")
    assert name == "matplotlib"
    assert "alsmeta[plot]" in message


# ------------------------------------------------------------------ forest frame
def test_forest_frame_rows(bcg_fit):
    frame = forest_frame(bcg_fit, transform=np.exp)
    assert tuple(frame.columns) == FOREST_COLUMNS
    assert frame["kind"].tolist() == ["study"] * 13 + ["overall", "prediction"]
    study = frame[frame["kind"] == "study"]
    yi, sei = np.asarray(bcg_fit.es.yi), np.sqrt(np.asarray(bcg_fit.es.vi))
    np.testing.assert_allclose(study["estimate"], np.exp(yi))
    np.testing.assert_allclose(study["ci_lower"], np.exp(yi - 1.959963984540054 * sei))
    np.testing.assert_allclose(study["ci_upper"], np.exp(yi + 1.959963984540054 * sei))
    np.testing.assert_allclose(study["weight"], bcg_fit.weights)
    assert study["n1"].tolist() == (bcg_fit.es.data["n1i"]).tolist()
    overall = frame.iloc[13]
    assert overall["estimate"] == pytest.approx(np.exp(bcg_fit.estimate))
    assert overall["ci_lower"] == pytest.approx(np.exp(bcg_fit.ci_lower))
    assert overall["weight"] == pytest.approx(100.0)
    assert overall["n"] == study["n"].sum()
    assert overall["q"] == bcg_fit.q and overall["tau2"] == bcg_fit.tau2
    prediction = frame.iloc[14]
    assert prediction["ci_lower"] == pytest.approx(np.exp(bcg_fit.pi_lower))
    assert prediction["ci_upper"] == pytest.approx(np.exp(bcg_fit.pi_upper))


def test_forest_frame_subgroups(bcg_fit, bcg_subgroups):
    frame = forest_frame(bcg_fit, bcg_subgroups)
    sub = frame[frame["kind"] == "subtotal"]
    groups = bcg_subgroups.subgroups
    assert sub["group"].tolist() == groups["group"].tolist()
    np.testing.assert_allclose(sub["estimate"], groups["estimate"])
    np.testing.assert_allclose(sub["ci_lower"], groups["ci_lower"])
    np.testing.assert_allclose(sub["q"], groups["q"])
    assert sub["k"].tolist() == groups["k"].tolist()
    # A subtotal's weight is the sum of its studies' weights in the overall model.
    for _, row in sub.iterrows():
        members = frame[(frame["kind"] == "study") & (frame["group"] == row["group"])]
        assert row["weight"] == pytest.approx(members["weight"].sum())
        assert len(members) == row["k"]
    last = frame.iloc[-1]
    assert last["kind"] == "subgroup_differences"
    assert last["q"] == bcg_subgroups.q_between
    assert last["q_p_value"] == bcg_subgroups.q_between_p_value


def test_forest_frame_common_tau2_and_single_study(bcg):
    common = subgroup_analysis(bcg, "alloc", tau2="common", test="knha")
    frame = forest_frame(meta_analysis(bcg, test="knha"), common)
    assert frame.loc[frame["kind"] == "subtotal", "df"].tolist() == [10.0, 10.0, 10.0]
    text = format_forest_frame(frame)
    assert text["test"].iloc[-1] == (
        f"Test for subgroup differences: F(2, 10) = {common.q_between:.2f} "
        f"(p = {common.q_between_p_value:.3f})"
    )
    data = bcg.data.assign(first=["a"] + ["b"] * 12)
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=data)
    text = format_forest_frame(forest_frame(meta_analysis(es), subgroup_analysis(es, "first")))
    assert text.at[2, "heterogeneity"] == "Heterogeneity: not applicable (one study)"


def test_forest_frame_options(bcg_fit, normand):
    frame = forest_frame(bcg_fit, labels="author", sort="estimate")
    study = frame[frame["kind"] == "study"]
    assert study["estimate"].is_monotonic_increasing
    assert set(study["label"]) == set(bcg_fit.es.data["author"])
    ee = meta_analysis(bcg_fit.es, method="EE")
    assert "prediction" not in forest_frame(ee)["kind"].tolist()
    knha = forest_frame(normand)
    overall = knha[knha["kind"] == "overall"].iloc[0]
    assert overall["test"] == "t" and overall["df"] == normand.k - 1
    with pytest.raises(InputError, match="labels='nope'"):
        forest_frame(bcg_fit, labels="nope")
    with pytest.raises(InputError, match="n_columns"):
        forest_frame(bcg_fit, n_columns=("n1i", "missing"))
    with pytest.raises(InputError, match="sort='size'"):
        forest_frame(bcg_fit, sort="size")


def test_forest_frame_reported_intervals():
    # Oh 2018, ALSFRS-R change at 6 months: MD 3.38 (1.23 to 5.54), SE 1.07 (Table 3).
    rows = pd.DataFrame(
        {
            "study": ["Oh 2018", "Other"],
            "yi": [3.38, 1.0],
            "vi": [1.07**2, 0.8],
            "ci_lb": [1.23, np.nan],
            "ci_ub": [5.54, np.nan],
        }
    )
    res = meta_analysis(EffectSizeTable.from_frame(rows))
    frame = forest_frame(res, ci_columns=("ci_lb", "ci_ub"))
    text = format_forest_frame(frame)
    assert text.at[0, "estimate_ci"] == "3.38 [1.23, 5.54]"
    assert frame.at[1, "ci_lower"] == pytest.approx(1.0 - 1.959963984540054 * np.sqrt(0.8))
    ax = forest_plot(res, ci_columns=("ci_lb", "ci_ub"))
    assert "3.38 [1.23, 5.54]" in texts(ax, "estimate_ci")
    with pytest.raises(InputError, match="ci_columns"):
        forest_frame(res, ci_columns=("ci_lb", "upper"))


def test_format_forest_frame(bcg_fit):
    frame = forest_frame(bcg_fit, transform=np.exp)
    text = format_forest_frame(frame)
    row = frame.iloc[0]
    expected = f"{row['estimate']:.2f} [{row['ci_lower']:.2f}, {row['ci_upper']:.2f}]"
    assert text.at[0, "estimate_ci"] == expected
    assert text.at[0, "weight"] == f"{row['weight']:.1f}%"
    assert text.at[14, "estimate_ci"] == f"[{np.exp(bcg_fit.pi_lower):.2f}, " + (
        f"{np.exp(bcg_fit.pi_upper):.2f}]"
    )
    assert text.at[13, "heterogeneity"] == (
        f"Heterogeneity: τ² = {bcg_fit.tau2:.2f}; Q = {bcg_fit.q:.2f}, df = 12 (p < 0.001); "
        f"I² = {bcg_fit.i2:.0f}%"
    )
    assert (
        text.at[13, "test"] == f"Test for overall effect: z = {bcg_fit.statistic:.2f} (p < 0.001)"
    )


# ------------------------------------------------------------------ forest plot
def test_forest_plot_artists(bcg_fit):
    ax = forest_plot(bcg_fit, transform=np.exp)
    frame = forest_frame(bcg_fit, transform=np.exp)
    study = frame[frame["kind"] == "study"]
    (squares,) = by_gid(ax.collections, "study_squares")
    xy = squares.get_offsets()
    assert len(xy) == 13
    np.testing.assert_allclose(xy[:, 0], study["estimate"])
    assert np.all(np.diff(xy[:, 1]) < 0)  # first study on top
    sizes = squares.get_sizes()
    assert np.argmax(sizes) == np.argmax(study["weight"].to_numpy())
    (whiskers,) = by_gid(ax.collections, "study_ci")
    segments = np.array(whiskers.get_segments())
    np.testing.assert_allclose(segments[:, 0, 0], study["ci_lower"])
    np.testing.assert_allclose(segments[:, 1, 0], study["ci_upper"])
    np.testing.assert_allclose(segments[:, 0, 1], xy[:, 1])
    (diamond,) = by_gid(ax.patches, "overall_diamond")
    xs = diamond.get_xy()[:, 0]
    assert min(xs) == pytest.approx(np.exp(bcg_fit.ci_lower))
    assert max(xs) == pytest.approx(np.exp(bcg_fit.ci_upper))
    assert xs[1] == pytest.approx(np.exp(bcg_fit.estimate))
    (pi,) = by_gid(ax.lines, "prediction_interval")
    np.testing.assert_allclose(pi.get_xdata(), np.exp([bcg_fit.pi_lower, bcg_fit.pi_upper]))
    assert pi.get_linestyle() == "--"
    assert ax.get_xscale() == "log"
    (ref,) = by_gid(ax.collections, "refline")
    assert ref.get_segments()[0][0][0] == pytest.approx(1.0)


def test_forest_plot_text_columns(bcg_fit):
    ax = forest_plot(bcg_fit, transform=np.exp, labels="author")
    text = format_forest_frame(forest_frame(bcg_fit, transform=np.exp, labels="author"))
    shown = text[text["kind"].isin(["study", "overall", "prediction"])]
    assert texts(ax, "estimate_ci") == shown["estimate_ci"].tolist()
    assert texts(ax, "weight") == [w for w in shown["weight"] if w]
    assert texts(ax, "label") == shown["label"].tolist()
    assert texts(ax, "n1") == [n for n in shown["n1"] if n]
    assert texts(ax, "heterogeneity") == [text.at[13, "heterogeneity"]]
    assert texts(ax, "test") == [text.at[13, "test"]]
    assert texts(ax, "favours") == ["favours control", "favours treatment"]
    assert "RR [95% CI]" in texts(ax, "header")


def test_forest_plot_subgroups(bcg_fit, bcg_subgroups):
    ax = forest_plot(bcg_fit, subgroups=bcg_subgroups, transform=np.exp)
    diamonds = by_gid(ax.patches, "subtotal_diamond")
    groups = bcg_subgroups.subgroups
    assert len(diamonds) == len(groups)
    for patch, (_, row) in zip(diamonds, groups.iterrows(), strict=True):
        xs = patch.get_xy()[:, 0]
        assert xs[1] == pytest.approx(np.exp(row["estimate"]))
        assert min(xs) == pytest.approx(np.exp(row["ci_lower"]))
        assert max(xs) == pytest.approx(np.exp(row["ci_upper"]))
    assert len(by_gid(ax.patches, "overall_diamond")) == 1
    heterogeneity = texts(ax, "heterogeneity")
    assert len(heterogeneity) == len(groups) + 1
    assert texts(ax, "test")[-1].startswith("Test for subgroup differences: Q = ")
    assert f"{bcg_subgroups.q_between:.2f}" in texts(ax, "test")[-1]
    labels = texts(ax, "label")
    for group in groups["group"]:
        assert group in labels


def test_forest_plot_linear_and_clipped(normand):
    ax = forest_plot(normand, xlim=(-60, 40), columns=("estimate_ci",))
    assert ax.get_xscale() == "linear"
    assert ax.get_xlim() == (-60, 40)
    assert by_gid(ax.collections, "ci_clipped")  # Orpington-Severe reaches -95
    (whiskers,) = by_gid(ax.collections, "study_ci")
    ends = np.array(whiskers.get_segments())[:, :, 0]
    assert ends.min() >= -60 and ends.max() <= 40
    assert texts(ax, "weight") == [] and texts(ax, "n1") == []
    assert texts(ax, "test") == [
        f"Test for overall effect: t(8) = {normand.statistic:.2f} (p = 0.139)"
    ]
    assert "MD [95% CI]" in texts(ax, "header")


def test_forest_plot_rejects_unknown_column(bcg_fit):
    with pytest.raises(InputError, match="columns='events'"):
        forest_plot(bcg_fit, columns=("events",))


# ------------------------------------------------------------------ funnel
def test_funnel_points(bcg_fit):
    ax = funnel_plot(bcg_fit)
    (studies,) = by_gid(ax.collections, "studies")
    np.testing.assert_allclose(studies.get_offsets()[:, 0], bcg_fit.es.yi)
    np.testing.assert_allclose(studies.get_offsets()[:, 1], np.sqrt(bcg_fit.es.vi))
    assert ax.yaxis_inverted()
    assert ax.get_ylim()[1] == 0.0
    for level in (0.9, 0.95, 0.99):
        assert len(by_gid(ax.collections, f"contour_{level:g}")) == 2  # both sides of 0
    (estimate,) = by_gid(ax.collections, "estimate")
    assert estimate.get_segments()[0][0][0] == pytest.approx(bcg_fit.estimate)
    funnel = by_gid(ax.lines, "funnel")
    assert len(funnel) == 2
    se_max = funnel[0].get_ydata()[-1]
    assert funnel[0].get_xdata()[-1] == pytest.approx(bcg_fit.estimate - 1.959964 * se_max)


def test_funnel_trim_and_fill(bcg_fit):
    tf = trim_and_fill(bcg_fit)  # one study imputed on the right
    assert tf.k0 > 0
    ax = funnel_plot(bcg_fit, trim_and_fill=tf, contours=())
    (filled,) = by_gid(ax.collections, "filled_studies")
    np.testing.assert_allclose(filled.get_offsets()[:, 0], tf.filled_yi)
    np.testing.assert_allclose(filled.get_offsets()[:, 1], np.sqrt(tf.filled_vi))
    assert len(filled.get_facecolors()) == 0 or filled.get_facecolors()[0][3] == 0  # hollow
    assert not [c for c in ax.collections if str(c.get_gid()).startswith("contour_")]
    (adjusted,) = by_gid(ax.collections, "trim_and_fill_estimate")
    assert adjusted.get_segments()[0][0][0] == pytest.approx(tf.estimate)


def test_funnel_rejects_bad_contours(bcg_fit):
    with pytest.raises(InputError, match="contours"):
        funnel_plot(bcg_fit, contours=(95,))


# ------------------------------------------------------------------ effect direction
def test_effect_direction_cells(effect_directions):
    ax = effect_direction_plot(effect_directions)
    domains = {"ALSFRS-R": 1, "survival": 2, "FVC": 3}
    studies = {"Oh 2018": 0, "Berry 2019": -1, "Cudkowicz 2022": -2}
    for direction in ("benefit", "harm", "no_effect/mixed"):
        (markers,) = by_gid(ax.collections, f"direction:{direction}")
        rows = effect_directions[effect_directions["direction"] == direction]
        expected = [
            (domains[d], studies[s]) for s, d in zip(rows["study"], rows["domain"], strict=True)
        ]
        assert [tuple(p) for p in markers.get_offsets()] == expected
    (benefit,) = by_gid(ax.collections, "direction:benefit")
    small, medium, large = (c[3] for c in SIZE_CLASSES)
    assert benefit.get_sizes().tolist() == [medium, large]  # n = 64, n = 400
    (harm,) = by_gid(ax.collections, "direction:harm")
    assert harm.get_sizes().tolist() == [small]  # n = 48
    assert texts(ax, "design") == ["RCT", "single arm", "RCT"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Design", "ALSFRS-R", "survival", "FVC"]


def test_effect_direction_aliases_and_errors(effect_directions):
    frame = effect_directions.assign(direction=[1, "mixed", "▼", 0, "+"]).drop(columns="design")
    ax = effect_direction_plot(frame)
    assert len(by_gid(ax.collections, "direction:benefit")[0].get_offsets()) == 2
    assert len(by_gid(ax.collections, "direction:no_effect/mixed")[0].get_offsets()) == 2
    bad = effect_directions.assign(direction=["up", "sideways", "harm", "??", "benefit"])
    bad.loc[4, "domain"] = "ALSFRS-R"
    bad.loc[4, "study"] = "Oh 2018"
    with pytest.raises(InputError) as info:
        effect_direction_plot(bad)
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 3  # two unknown directions and one repeated cell
    assert "'sideways'" in messages[0] and "row 2" in messages[0]
    with pytest.raises(InputError, match="missing column 'domain'"):
        effect_direction_plot(effect_directions.drop(columns="domain"))


# ------------------------------------------------------------------ traffic lights
def test_traffic_light_colours(rob2):
    ax = traffic_light_plot(rob2, tool="rob2")
    cells = rob2.drop(columns="study")
    for judgment in ("low", "some concerns", "high", "no information"):
        (circles,) = by_gid(ax.collections, f"judgment:{judgment}")
        count = int((cells == judgment).to_numpy().sum())
        assert len(circles.get_offsets()) == count
        np.testing.assert_allclose(circles.get_facecolors()[0], to_rgba(COLOURS[judgment]))
    (high,) = by_gid(ax.collections, "judgment:high")
    # D4 of Oh 2018 (row 0, column 3), D1 of Berry 2019, and the overall column.
    assert sorted(map(tuple, high.get_offsets())) == [
        (0.0, -2.0),
        (3.0, 0.0),
        (5.4, -2.0),
        (5.4, 0.0),
    ]
    assert texts(ax, "symbol").count(SYMBOLS["high"]) == 4
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Overall"
    assert "D1: Bias arising from the randomisation process" in texts(ax, "caption")[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["+  Low", "-  Some concerns", "X  High", "?  No information"]


def test_traffic_light_robins_i_and_errors(rob2):
    robins = pd.DataFrame(
        {
            "study": ["A", "B"],
            **{f"D{i}": ["low", "Serious"] for i in range(1, 8)},
            "overall": ["moderate", "critical"],
        }
    )
    ax = traffic_light_plot(robins, tool="robins_i")
    assert len(by_gid(ax.collections, "judgment:serious")[0].get_offsets()) == 7
    np.testing.assert_allclose(
        by_gid(ax.collections, "judgment:critical")[0].get_facecolors()[0],
        to_rgba(COLOURS["critical"]),
    )
    with pytest.raises(InputError) as info:
        traffic_light_plot(rob2, tool="robins_i")  # 'some concerns', 'high' are RoB 2 words
    assert len(info.value.problems) == 7
    with pytest.raises(InputError, match="tool='rob3'"):
        traffic_light_plot(rob2, tool="rob3")


# ------------------------------------------------------------------ trajectories
def test_trajectory_lines(cohort):
    ax = trajectory_plot(cohort, max_subjects=15, rng=np.random.default_rng(5))
    lines = [line for line in ax.lines if str(line.get_gid()).startswith("subject:")]
    assert len(lines) == 15
    table = cohort.table
    for line in lines[:3]:
        sid = line.get_gid().split(":", 1)[1]
        rows = table[table["subject_id"] == sid]
        np.testing.assert_allclose(line.get_xdata(), rows["months"])
        np.testing.assert_allclose(line.get_ydata(), rows["total"])
    summary = trajectory_summary(cohort)
    for arm in ("Active", "Placebo"):
        (line,) = by_gid(ax.lines, f"summary:{arm}")
        part = summary[summary["group"] == arm]
        np.testing.assert_allclose(line.get_xdata(), part["months"])
        np.testing.assert_allclose(line.get_ydata(), part["mean"])
        (bars,) = by_gid(ax.collections, f"summary_error:{arm}")
        segments = np.array(bars.get_segments())
        np.testing.assert_allclose(segments[:, 0, 1], part["mean"] - part["se"])
        np.testing.assert_allclose(segments[:, 1, 1], part["mean"] + part["se"])


def test_trajectory_options(cohort):
    ids = cohort.subjects["subject_id"].tolist()
    ax = trajectory_plot(cohort, subjects=ids[:4], summary="median", by=None)
    drawn = [str(line.get_gid()) for line in ax.lines]
    assert [g for g in drawn if g.startswith("subject:")] == [f"subject:{s}" for s in ids[:4]]
    (line,) = by_gid(ax.lines, "summary:all")
    summary = trajectory_summary(cohort, by=None)
    np.testing.assert_allclose(line.get_ydata(), summary["median"])
    first = trajectory_plot(cohort, max_subjects=10, summary=None)
    second = trajectory_plot(cohort, max_subjects=10, summary=None)
    assert [x.get_gid() for x in first.lines] == [x.get_gid() for x in second.lines]
    assert not [x for x in first.lines if str(x.get_gid()).startswith("summary:")]
    with pytest.raises(InputError, match="'nobody'"):
        trajectory_plot(cohort, subjects=["nobody"])
    with pytest.raises(InputError, match="summary='mode'"):
        trajectory_plot(cohort, summary="mode")


def test_trajectory_summary_counts(cohort):
    summary = trajectory_summary(cohort)
    baseline = summary[summary["months"] == 0.0]
    counts = cohort.subjects.groupby("arm")["subject_id"].size()
    assert dict(zip(baseline["group"], baseline["n"], strict=True)) == counts.to_dict()


# ------------------------------------------------------------------ shared contract
def test_every_plot_accepts_and_returns_ax(bcg_fit, bcg_subgroups, effect_directions, rob2, cohort):
    calls = [
        lambda ax: forest_plot(bcg_fit, ax=ax),
        lambda ax: forest_plot(bcg_fit, ax=ax, subgroups=bcg_subgroups, transform=np.exp),
        lambda ax: funnel_plot(bcg_fit, ax=ax),
        lambda ax: effect_direction_plot(effect_directions, ax=ax),
        lambda ax: traffic_light_plot(rob2, ax=ax),
        lambda ax: trajectory_plot(cohort, ax=ax),
    ]
    for call in calls:
        ax = Figure().add_subplot()
        assert call(ax) is ax
        assert ax.has_data()
    fresh = forest_plot(bcg_fit)
    assert isinstance(fresh.figure, Figure)
