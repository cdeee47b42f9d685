"""Exceptions and warnings raised by alsmeta.

Every error a user can cause is an :class:`InputError` that lists *all* the problems
found, each naming the row, the study, the column and the rule that failed, so that a
file can be fixed in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "AlsmetaError",
    "ConvergenceError",
    "ConvergenceWarning",
    "FewStudiesWarning",
    "InputError",
    "Problem",
    "check_choice",
    "check_level",
]


class AlsmetaError(Exception):
    """Base class of every error raised by alsmeta."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the 1-based data row (the header is not counted), or ``None`` when the
    problem concerns the whole input or a parameter.
    """

    message: str
    row: int | None = None
    study: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.study is not None:
            where.append(f"study {self.study!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InputError(AlsmetaError, ValueError):
    """The input cannot be analysed; ``problems`` lists every reason found."""

    def __init__(self, problems: Problem | str | Iterable[Problem | str]) -> None:
        if isinstance(problems, Problem | str):
            problems = [problems]
        found = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        # Whole-input problems first, then by row, so a file can be fixed top to bottom.
        self.problems: tuple[Problem, ...] = tuple(
            sorted(found, key=lambda p: -1 if p.row is None else p.row)
        )
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems in the input:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class ConvergenceError(AlsmetaError, RuntimeError):
    """An iterative estimator did not converge within its iteration limit."""


class ConvergenceWarning(UserWarning):
    """An iterative estimator stopped at a boundary or needed a fallback."""


class FewStudiesWarning(UserWarning):
    """The number of studies is too small for the requested inference to be reliable."""


def check_choice(name: str, value: str, valid: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``valid``; raise an error listing them otherwise."""
    if value in valid:
        return value
    lowered = {v.lower(): v for v in valid}
    hint = ""
    if isinstance(value, str) and value.lower() in lowered:
        hint = f" (did you mean {lowered[value.lower()]!r}?)"
    raise InputError(
        Problem(f"{name}={value!r} is not valid{hint}; use one of {', '.join(map(repr, valid))}")
    )


def check_level(level: float) -> float:
    """Validate a confidence level given as a proportion in (0, 1)."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise InputError(Problem(f"level={level!r} is not a number")) from None
    if 1 < level < 100:
        raise InputError(Problem(f"level={level:g} looks like a percentage; use {level / 100:g}"))
    if not 0 < level < 1:
        raise InputError(Problem(f"level={level!r} must lie strictly between 0 and 1"))
    return level
