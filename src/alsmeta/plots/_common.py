"""Helpers shared by the plot modules; matplotlib is imported inside the functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Points per inch, for layouts measured in text sizes.
POINTS_PER_INCH = 72.0

#: Approximate width of one character as a fraction of the font size (DejaVu Sans).
CHAR_WIDTH = 0.56


def require_matplotlib() -> Any:
    """Return the ``matplotlib`` module, or raise a ``ModuleNotFoundError`` with a hint.

    The error keeps ``name="matplotlib"`` so that the command line maps it to exit code 3
    (missing optional dependency).
    """
    try:
        import matplotlib
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "plotting needs matplotlib; install it with: pip install 'alsmeta[plot]'",
            name="matplotlib",
        ) from exc
    return matplotlib


def new_axes(width: float, height: float, rect: tuple[float, float, float, float]) -> Axes:
    """A new figure of ``width`` x ``height`` inches with one Axes at ``rect`` (inches).

    The figure is a plain :class:`matplotlib.figure.Figure`, not a pyplot figure: no
    global state, no GUI backend, safe in threads and in report builds.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    left, bottom, w, h = rect
    return fig.add_axes((left / width, bottom / height, w / width, h / height))


def text_width(n_chars: int, fontsize: float) -> float:
    """Approximate width in inches of ``n_chars`` characters at ``fontsize`` points."""
    return n_chars * fontsize * CHAR_WIDTH / POINTS_PER_INCH


def offset_transform(ax: Axes, dx_inches: float, dy_inches: float, *, x: str, y: str) -> Any:
    """A transform with x in ``x`` ("data" or "axes") and y in ``y`` coordinates, shifted
    by a fixed distance in inches, so that table columns keep their place whatever the
    axes' size."""
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    tx = ax.transData if x == "data" else ax.transAxes
    ty = ax.transData if y == "data" else ax.transAxes
    base = blended_transform_factory(tx, ty)
    return base + ScaledTranslation(dx_inches, dy_inches, ax.figure.dpi_scale_trans)


def format_p(p: float) -> str:
    """``p = 0.046`` or ``p < 0.001``; ``p = NA`` when not defined."""
    if p != p:  # nan
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


#: metafor measures analysed on the log scale.
RATIO_MEASURES: tuple[str, ...] = ("RR", "OR", "HR", "IRR", "ROM", "PETO", "CVR", "VR")


def measure_label(measure: str) -> str:
    """Name of the analysis scale of ``measure``: ``"log RR"``, ``"MD"``, ``"Effect size"``."""
    if measure == "GEN":
        return "Effect size"
    return f"log {measure}" if measure in RATIO_MEASURES else measure
