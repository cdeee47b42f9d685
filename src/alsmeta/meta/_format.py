"""Text layout of fitted models, following metafor's ``print.rma.uni``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alsmeta.meta.model import MetaAnalysisResult


def format_p(p: float, digits: int = 4) -> str:
    """Format a p-value as metafor does: ``<.0001`` below 10^-digits."""
    if math.isnan(p):
        return "NA"
    if p < 10.0**-digits:
        return "<." + "0" * (digits - 1) + "1"
    return f"{p:.{digits}f}"


def format_number(x: float, digits: int = 4) -> str:
    """Fixed-point with ``digits`` decimals; ``NA`` for nan."""
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def significance_stars(p: float) -> str:
    """R's significance codes."""
    if math.isnan(p):
        return ""
    for cut, star in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return star
    return ""


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned columns separated by two spaces, as R prints a data frame."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def heterogeneity_block(res: MetaAnalysisResult) -> list[str]:
    """The tau^2 / I^2 / H^2 lines and the Q test, as metafor prints them."""
    lines: list[str] = []
    if res.random_effects:
        se = "" if math.isnan(res.tau2_se) else f" (SE = {res.tau2_se:.4f})"
        tau2 = "0" if res.tau2 == 0 else f"{res.tau2:.4f}"
        tau = "0" if res.tau2 == 0 else f"{res.tau:.4f}"
        lines.append(f"tau^2 (estimated amount of total heterogeneity): {tau2}{se}")
        if not math.isnan(res.tau2_ci_lower):
            lines[-1] += (
                f"; {100 * res.level:g}% CI [{res.tau2_ci_lower:.4f}, {res.tau2_ci_upper:.4f}]"
                " (Q-profile)"
            )
        lines.append(f"tau (square root of estimated tau^2 value):      {tau}")
    lines.append(f"I^2 (total heterogeneity / total variability):   {res.i2:.2f}%")
    lines.append(f"H^2 (total variability / sampling variability):  {res.h2:.2f}")
    lines += [
        "",
        "Test for Heterogeneity:",
        f"Q(df = {res.q_df}) = {res.q:.4f}, p-val {_p_phrase(res.q_p_value)}",
    ]
    return lines


def _p_phrase(p: float) -> str:
    text = format_p(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def format_summary(res: MetaAnalysisResult) -> str:
    """Summary of an intercept-only model laid out like metafor's print."""
    if res.random_effects:
        title = f"Random-Effects Model (k = {res.k}; tau^2 estimator: {res.method})"
    else:
        title = f"Equal-Effects Model (k = {res.k})"
    lines = ["", title, "", *heterogeneity_block(res), "", "Model Results:", ""]
    t_based = res.test != "z"
    header = ["estimate", "se", "tval" if t_based else "zval"]
    row = [format_number(res.estimate), format_number(res.se), format_number(res.statistic)]
    if t_based:
        header.append("df")
        row.append(f"{res.df:g}")
    header += ["pval", "ci.lb", "ci.ub", ""]
    row += [
        format_p(res.p_value),
        format_number(res.ci_lower),
        format_number(res.ci_upper),
        significance_stars(res.p_value),
    ]
    lines.append(format_table(header, [row]))
    lines += [
        "",
        f"Prediction interval ({100 * res.level:g}%): "
        f"[{format_number(res.pi_lower)}, {format_number(res.pi_upper)}]",
        "",
        "---",
        "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1",
    ]
    if res.test in ("knha", "adhoc"):
        lines.insert(
            -3,
            f"Knapp-Hartung variance factor s2w = {res.s2w:.4f}"
            + (" (truncated at 1)" if res.test == "adhoc" else ""),
        )
    if res.notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in res.notes]
    return "\n".join(lines) + "\n"
