"""Small helpers shared by the synthesis modules (directions, JSON, text)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from alsmeta.errors import Problem

#: Direction codes: +1 benefit, -1 harm, 0 no clear direction (no change, mixed or
#: conflicting findings).
BENEFIT, HARM, NONE = 1, -1, 0

DIRECTION_LABELS: dict[int, str] = {BENEFIT: "benefit", HARM: "harm", NONE: "no clear direction"}
DIRECTION_SYMBOLS: dict[int, str] = {BENEFIT: "▲", HARM: "▼", NONE: "◄►"}

_DIRECTION_ALIASES: dict[str, int] = {
    "1": BENEFIT, "+1": BENEFIT, "+": BENEFIT, "benefit": BENEFIT, "up": BENEFIT,
    "positive": BENEFIT, "improvement": BENEFIT, "▲": BENEFIT,
    "-1": HARM, "-": HARM, "harm": HARM, "down": HARM, "negative": HARM,
    "deterioration": HARM, "▼": HARM,
    "0": NONE, "none": NONE, "no effect": NONE, "no_effect": NONE, "no change": NONE,
    "mixed": NONE, "conflicting": NONE, "no clear direction": NONE, "◄►": NONE, "<>": NONE,
}  # fmt: skip

VALID_DIRECTIONS_TEXT = "1/'benefit'/'▲', -1/'harm'/'▼' or 0/'none'/'no change'/'mixed'/'◄►'"


def parse_direction(value: Any) -> int | None:
    """The direction code of ``value``, or ``None`` when it is not a known direction."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer | float | np.floating):
        x = float(value)
        if math.isnan(x):
            return None
        return int(x) if x in (1.0, -1.0, 0.0) else None
    if isinstance(value, str):
        return _DIRECTION_ALIASES.get(value.strip().lower())
    return None


def parse_directions(
    values: Any, labels: Sequence[str], problems: list[Problem], column: str = "directions"
) -> np.ndarray:
    """Direction codes of ``values``; every unknown value becomes a :class:`Problem`."""
    out = np.zeros(len(labels), dtype=int)
    for i, value in enumerate(values):
        code = parse_direction(value)
        if code is None:
            problems.append(
                Problem(
                    f"direction {value!r} is not valid; use {VALID_DIRECTIONS_TEXT}",
                    row=i + 1,
                    study=labels[i],
                    column=column,
                )
            )
        else:
            out[i] = code
    return out


def as_list(values: Any, name: str) -> list[Any]:
    """A list from an array-like or a pandas Series (scalars are not accepted)."""
    if isinstance(values, str | bytes) or np.ndim(values) == 0:
        raise TypeError(name)
    return list(np.asarray(values, dtype=object).ravel())


def study_labels(study: Any, k: int, problems: list[Problem]) -> tuple[str, ...]:
    """Study labels: given ones (one per value, unique) or ``"1"`` .. ``"k"``."""
    if study is None:
        return tuple(str(i + 1) for i in range(k))
    labels = tuple(str(s) for s in np.asarray(study, dtype=object).ravel())
    if len(labels) != k:
        problems.append(Problem(f"study has {len(labels)} labels for {k} values"))
        return tuple(str(i + 1) for i in range(k))
    if len(set(labels)) != len(labels):
        problems.append(Problem("study labels must be unique"))
    return labels


def json_float(x: Any) -> float | None:
    """``float(x)``, or ``None`` when it is missing or not finite (JSON has no nan)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def readonly(values: Any, dtype: Any = float) -> np.ndarray:
    """A read-only copy of ``values``."""
    a = np.array(values, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


def fmt(x: float, digits: int = 4) -> str:
    """Fixed-point text; ``NA`` for nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"
