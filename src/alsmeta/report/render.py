"""Render a :class:`~alsmeta.report.build.ReportModel` into one self-contained HTML file.

The HTML holds everything: CSS in a ``<style>`` element, figures as inline SVG drawn by
matplotlib's SVG backend, no JavaScript and no reference to anything outside the file
except hyperlinks to the sources. Text from the input (study names, citations, notes) is
autoescaped by Jinja2; the only markup inserted as is are the SVG figures, which
matplotlib escapes itself.

The output is byte-identical for a fixed ``generated_at``: the SVGs are saved without a
date and with a fixed ``svg.hashsalt`` per figure (the ids of clip paths and markers are
hashes, and distinct salts keep them unique within the page).
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

from alsmeta.report.build import FigureSpec, ReportModel

__all__ = ["render_figure", "render_report", "write_report"]

_TEMPLATE = "report.html.j2"


def _require_jinja2() -> Any:
    try:
        import jinja2
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "the report needs Jinja2; install it with: pip install 'alsmeta[report]'",
            name="jinja2",
        ) from exc
    return jinja2


def render_figure(spec: FigureSpec) -> str:
    """Draw one figure of the report and return it as an inline ``<svg>`` element.

    The figure is saved with ``metadata={"Date": None}`` and ``svg.hashsalt`` set to
    ``"alsmeta-<name>"``, so the same figure gives the same bytes on every run. Glyphs are
    drawn as paths (``svg.fonttype="path"``), so the figure looks the same in every browser
    whatever fonts it has; the same numbers are in the tables beside each figure.
    """
    from alsmeta.plots._common import require_matplotlib

    matplotlib = require_matplotlib()
    import alsmeta.plots as plots

    draw = getattr(plots, spec.function)
    params = {"svg.hashsalt": f"alsmeta-{spec.name}", "svg.fonttype": "path"}
    with matplotlib.rc_context(params):
        ax = draw(*spec.args, **spec.kwargs)
        buffer = io.StringIO()
        ax.figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = _prefix_ids(text[start:].strip(), f"{spec.name}-")
    label = html.escape(spec.caption, quote=True)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id of one inline SVG and every reference to it: several figures in one
    page would otherwise repeat ids (glyph definitions, artist gids), which HTML forbids."""
    seen: dict[str, int] = {}

    def rename(match: re.Match[str]) -> str:
        # Artists that share a gid (several header texts, say) repeat it; only glyph and
        # clip definitions are referenced, and each of those is defined once.
        name = match.group(1)
        seen[name] = seen.get(name, 0) + 1
        suffix = "" if seen[name] == 1 else f"-{seen[name]}"
        return f'id="{prefix}{name}{suffix}"'

    svg = re.sub(r'\bid="([^"]+)"', rename, svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return re.sub(
        r'((?:xlink:)?href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg
    )


def render_report(model: ReportModel) -> str:
    """Render the report model as one HTML document (a string).

    Parameters
    ----------
    model : ReportModel
        From :func:`~alsmeta.report.build_report`.

    Returns
    -------
    str
        The HTML; every number inside an element with a ``data-key`` attribute.

    Raises
    ------
    ModuleNotFoundError
        Without Jinja2 (``pip install 'alsmeta[report]'``) or matplotlib (``plot`` extra).
    """
    jinja2 = _require_jinja2()
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("alsmeta.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    figures = {spec.name: {"svg": Markup(render_figure(spec)), "caption": spec.caption}
               for spec in model.figures}  # fmt: skip
    css = env.loader.get_source(env, "style.css")[0] if env.loader is not None else ""
    html = env.get_template(_TEMPLATE).render(r=model.context, figures=figures, css=Markup(css))
    return str(html)


def write_report(model: ReportModel, path: str | Path) -> Path:
    """Render the report and write it to ``path`` (UTF-8, ``\\n`` line ends); return the path."""
    out = Path(path)
    html = render_report(model)
    out.write_bytes(html.encode("utf-8"))
    return out
