"""Many independent meta-analyses in one call, vectorised across groups.

Groups are bucketed by their number of studies ``k``; each bucket is one dense
``(G, k)`` array fitted by the same kernels as :func:`alsmeta.meta_analysis`. The only
Python loop is over the distinct values of ``k``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alsmeta.errors import (
    ConvergenceWarning,
    InputError,
    Problem,
)
from alsmeta.meta import _kernels
from alsmeta.meta.model import FIT_KEYS, _as_table, _json_float, check_options

if TYPE_CHECKING:
    from alsmeta.effects import EffectSizeTable

__all__ = ["BatchResult", "meta_analysis_by"]

_ARRAY_KEYS = (
    "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "pi_lower",
    "pi_upper", "tau2", "tau2_se", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q",
    "q_p_value", "s2w",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BatchResult:
    """One row per group: every key of :data:`alsmeta.meta.model.FIT_KEYS` plus ``group``.

    ``table`` holds unrounded values; ``notes`` lists groups that needed attention
    (a single study, a tau^2 reset to 0, non-convergence).
    """

    table: pd.DataFrame
    method: str
    test: str
    level: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the per-group table."""
        return self.table.copy()

    def to_dict(self) -> list[dict[str, Any]]:
        """Return a JSON-safe list with one dict per group (``group`` first)."""
        columns = ["group", *FIT_KEYS]
        records = []
        for row in self.table[columns].itertuples(index=False):
            rec: dict[str, Any] = {}
            for key, value in zip(columns, row, strict=True):
                if isinstance(value, float | np.floating):
                    value = _json_float(float(value))
                elif isinstance(value, np.integer):
                    value = int(value)
                rec[key] = value
            records.append(rec)
        return records

    def __len__(self) -> int:
        return len(self.table)


def meta_analysis_by(
    es: EffectSizeTable | pd.DataFrame,
    by: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    weights: Any = None,
    tau2_ci: bool = True,
) -> BatchResult:
    """Fit one independent model per group, vectorised across groups.

    Parameters
    ----------
    es : EffectSizeTable or DataFrame
        All studies of all groups.
    by : str or array-like
        Group labels, one per study, or the name of a column of ``es.data``. Groups are
        returned in sorted order (as R's ``factor()`` levels).
    method, test, level, weights, tau2_ci
        As :func:`alsmeta.meta_analysis`; the same options apply to every group.

    Returns
    -------
    BatchResult
        ``to_frame()`` has one row per group with ``group`` and the keys of a single fit.

    Notes
    -----
    Each group gets exactly the numbers that ``meta_analysis`` gives it alone (the same
    kernels run on a ``(groups, k)`` array). A group whose fit does not converge gets
    ``nan`` and a :class:`~alsmeta.errors.ConvergenceWarning` naming it.

    Examples
    --------
    >>> import pandas as pd
    >>> from alsmeta import meta_analysis_by
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, -0.1, 0.0, 0.4],
    ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03],
    ...                    "outcome": ["a", "a", "a", "b", "b", "b"]})
    >>> res = meta_analysis_by(df, "outcome", method="DL")
    >>> res.to_frame()[["group", "k", "estimate"]].round(4)
      group  k  estimate
    0     a  3    0.1846
    1     b  3    0.0970
    """
    table = _as_table(es)
    method, test, level, user_weights = check_options(table, method, test, level, weights)

    if isinstance(by, str):
        if table.data is None or by not in table.data.columns:
            available = [] if table.data is None else list(table.data.columns)
            raise InputError(
                Problem(
                    f"no column {by!r} to group by; available: {', '.join(map(str, available))}"
                )
            )
        labels = table.data[by].to_numpy()
    else:
        labels = np.asarray(by)
    if labels.shape != (table.k,):
        raise InputError(Problem(f"by has {labels.size} labels for {table.k} studies"))
    missing = pd.isna(labels)
    if missing.any():
        raise InputError(
            [
                Problem("group label is missing", row=int(i) + 1, study=table.study[i])
                for i in np.flatnonzero(missing)
            ]
        )

    codes, uniques = pd.factorize(labels, sort=True)
    n_groups = len(uniques)
    sizes = np.bincount(codes, minlength=n_groups)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    y_all = np.asarray(table.yi, dtype=float)[order]
    v_all = np.asarray(table.vi, dtype=float)[order]
    a_all = None if user_weights is None else user_weights[order]

    out = {key: np.full(n_groups, np.nan) for key in _ARRAY_KEYS}
    tests = np.empty(n_groups, dtype=object)
    converged = np.ones(n_groups, dtype=bool)
    reset = np.zeros(n_groups, dtype=bool)
    for k in np.unique(sizes):
        gid = np.flatnonzero(sizes == k)
        index = starts[gid][:, None] + np.arange(k)[None, :]
        with np.errstate(all="ignore"):
            fit = _kernels.fit_model(
                y_all[index],
                v_all[index],
                method=method,
                test=test,
                level=level,
                weights=None if a_all is None else a_all[index],
                tau2_ci=tau2_ci,
            )
        for key in _ARRAY_KEYS:
            out[key][gid] = getattr(fit, key)
        tests[gid] = fit.test
        converged[gid] = fit.converged
        reset[gid] = fit.boundary_reset

    notes: list[str] = []
    group_names = [str(u) for u in uniques]
    if not converged.all():
        bad = [group_names[i] for i in np.flatnonzero(~converged)]
        for key in _ARRAY_KEYS:
            out[key][~converged] = np.nan
        msg = f"{method} did not converge for {len(bad)} group(s): {', '.join(bad)}; set to nan"
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    if reset.any():
        names = [group_names[i] for i in np.flatnonzero(reset)]
        msg = f"tau^2 reset to 0 (likelihood at 0 higher) for group(s): {', '.join(names)}"
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    single = sizes == 1
    if single.any():
        names = [group_names[i] for i in np.flatnonzero(single)]
        notes.append(
            f"k = 1 in group(s) {', '.join(names)}: tau^2 set to 0 and the z-test used (as metafor)"
        )

    frame = pd.DataFrame({"group": uniques})
    frame["k"] = sizes
    frame["method"] = method
    frame["test"] = tests
    frame["level"] = level
    for key in FIT_KEYS[4:]:
        if key == "q_df":
            frame[key] = sizes - 1
        else:
            frame[key] = out[key]
    frame["tau2_se"] = out["tau2_se"]
    return BatchResult(table=frame, method=method, test=test, level=level, notes=tuple(notes))
