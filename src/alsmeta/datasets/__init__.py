"""Small published data sets used in examples and tests.

The CSV files carry no header comments; their provenance is recorded here. Both were
written from R's ``metadat`` package (version 1.2-0) with ``write.csv(row.names =
FALSE)``, all columns kept, in the package's row order.

``"bcg"`` — ``metadat::dat.bcg``
    13 trials of the BCG vaccine against tuberculosis. Columns: ``trial``, ``author``,
    ``year``, ``tpos``/``tneg`` (TB cases / non-cases among vaccinated), ``cpos``/
    ``cneg`` (cases / non-cases among controls), ``ablat`` (absolute latitude of the
    study location, degrees), ``alloc`` (allocation: random, alternate, systematic).
    Source: Colditz GA et al. Efficacy of BCG vaccine in the prevention of tuberculosis:
    meta-analysis of the published literature. JAMA 1994;271(9):698-702.
    doi:10.1001/jama.1994.03510330076038

``"normand1999"`` — ``metadat::dat.normand1999``
    9 studies of specialist versus routine stroke care; outcome is length of hospital
    stay (days). Columns: ``study``, ``source``, ``n1i``/``m1i``/``sd1i`` (specialist
    care: size, mean, SD), ``n2i``/``m2i``/``sd2i`` (routine care).
    Source: Normand SLT. Meta-analysis: formulating, evaluating, combining, and
    reporting. Stat Med 1999;18(3):321-359.
    doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P
"""

from __future__ import annotations

from importlib import resources
from types import MappingProxyType

import pandas as pd

from alsmeta.errors import check_choice

__all__ = ["DATASETS", "load_dataset"]

#: Data set name -> short description with its source.
DATASETS = MappingProxyType(
    {
        "bcg": "BCG vaccine trials, 2x2 counts (Colditz et al. 1994, "
        "doi:10.1001/jama.1994.03510330076038)",
        "normand1999": "stroke care and length of stay, means and SDs (Normand 1999, "
        "doi:10.1002/(SICI)1097-0258(19990215)18:3<321::AID-SIM28>3.0.CO;2-P)",
    }
)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled data set as a new data frame.

    Parameters
    ----------
    name : {"bcg", "normand1999"}
        The data set; see :data:`DATASETS` and the module docstring for sources.

    Returns
    -------
    pandas.DataFrame
        All columns of the ``metadat`` data set of the same name, in its row order.

    Raises
    ------
    InputError
        If ``name`` is not a bundled data set; the message lists the valid names.

    Notes
    -----
    The same rows as ``metadat::dat.bcg`` and ``metadat::dat.normand1999`` in R.

    Examples
    --------
    >>> from alsmeta.datasets import load_dataset
    >>> bcg = load_dataset("bcg")
    >>> bcg.shape
    (13, 9)
    >>> bcg.columns.tolist()
    ['trial', 'author', 'year', 'tpos', 'tneg', 'cpos', 'cneg', 'ablat', 'alloc']
    >>> bcg["tpos"].tolist()[:4]
    [4, 6, 3, 62]
    """
    check_choice("name", name, tuple(DATASETS))
    source = resources.files(__name__).joinpath(f"{name}.csv")
    with source.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)
