"""COINr's example index (ASEM Sustainable Connectivity), rebuilt with prosperity's functions.

Reference: COINr (R, MIT, github.com/bluefoxr/COINr), ``build_example_coin()`` in R/examples.R::

    new_coin(ASEM_iData, ASEM_iMeta, level_names = c("Indicator", "Pillar", "Sub-index", "Index"))
    Denominate(coin, dset = "Raw")                           # x / denominator named in iMeta
    Impute(coin, dset = "Denominated", f_i = "i_mean_grp", use_group = "EurAsia_group")
    Screen(coin, dset = "Imputed", dat_thresh = 0.9, unit_screen = "byNA")   # no NA left: no-op
    Treat(coin, dset = "Screened", global_specs = list(f1_para = list(winmax = 5)))
    Normalise(coin, dset = "Treated", global_specs = list(f_n = "n_minmax", f_n_para = list(c(0, 100))))
    Aggregate(coin, dset = "Normalised", f_ag = "a_amean")

Published result (COINr vignette "results", ``get_results(coin, "Aggregated", tab_type = "Aggs")``):
CHE 68.38, NLD 64.82, DNK 64.80, NOR 64.47, BEL 63.54, SWE 63.00; IND 39.79 (rank 45).

Every step uses an existing prosperity function:

* Impute ``i_mean_grp``  -> :func:`prosperity.index.prepare.impute` (``"mean"``, ``groups=``)
* Treat (defaults)       -> :func:`prosperity.index.prepare.treat_column` (``"coinr"``): fails if
  |skew| >= 2 and kurtosis >= 3.5 (type-2 moments); winsorise the skewed side, ties together, up
  to ``winmax`` points; if still failing, ``log_CT`` of the ORIGINAL column (COINr's
  ``combine_treat = FALSE``). Checked against COINr R/treat.R: COINr's counter
  ``nwin = length(imax) + length(imin)`` is reset each step, but because winsorised points stay
  tied with the value they were moved to, it equals prosperity's running count of distinct
  treated points, so the stopping rule is the same.
* Normalise ``n_minmax`` -> :func:`prosperity.index.normalise.minmax` (``low=0, high=100``),
  direction applied as COINr does (x * direction before min-max).
* Aggregate ``a_amean``  -> :func:`prosperity.index.aggregate.weighted_mean` (weights rescaled
  within each group, NAs dropped with their weights).

Known edge-case differences, none expected to matter for ASEM: a constant column normalises to
``high`` here and to NaN in COINr; a unit with a missing group label is imputed within a group
of its own here and left missing in COINr (``skip_f_na = TRUE``).

The ASEM data themselves are not bundled yet (COINr ships them only as binary .rda files; see
src/prosperity/data/coinr_asem/README.md). :func:`load_asem` raises ``FileNotFoundError`` until
the two CSVs are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .aggregate import weighted_mean
from .normalise import minmax
from .prepare import impute, treat_column

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "coinr_asem"
IDATA_CSV = DATA_DIR / "ASEM_iData.csv"
IMETA_CSV = DATA_DIR / "ASEM_iMeta.csv"

PUBLISHED_TOP6 = {"CHE": 68.38, "NLD": 64.82, "DNK": 64.80, "NOR": 64.47, "BEL": 63.54, "SWE": 63.00}


# --- the example -----------------------------------------------------------------------------------

@dataclass
class CoinrResult:
    index: pd.Series                       # Index score by uCode
    aggregates: pd.DataFrame               # every level-2..4 aggregate by uCode
    normalised: pd.DataFrame               # indicators after normalisation
    treatment: dict = field(default_factory=dict)   # iCode -> "none" | "winsorised" | "log"

    def ranking(self) -> pd.DataFrame:
        df = pd.DataFrame({"Index": self.index})
        df["Rank"] = df["Index"].rank(ascending=False, method="min").astype(int)
        return df.sort_values("Index", ascending=False)


def load_asem(data_dir: Path | str = DATA_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = Path(data_dir)
    i, m = d / IDATA_CSV.name, d / IMETA_CSV.name
    if not (i.exists() and m.exists()):
        raise FileNotFoundError(
            f"COINr ASEM data not bundled: expected {i.name} and {m.name} in {d} "
            "(see the README there for how to export them from COINr's .rda files)")
    return pd.read_csv(i), pd.read_csv(m)


def build_example(idata: pd.DataFrame, imeta: pd.DataFrame, *, winmax: int = 5,
                  low: float = 0.0, high: float = 100.0) -> CoinrResult:
    """Re-run ``build_example_coin()`` on COINr-format iData/iMeta data frames."""
    meta = imeta.set_index("iCode")
    ind = meta[meta["Type"] == "Indicator"]
    codes = list(ind.index)
    data = idata.set_index("uCode")
    X = data[codes].astype(float).copy()

    # Denominate: x / denominator column, where iMeta names one.
    if "Denominator" in ind.columns:
        for c in codes:
            den = ind.at[c, "Denominator"]
            if isinstance(den, str) and den:
                X[c] = X[c] / data[den].astype(float)

    # Impute: group mean within EurAsia_group.
    Xi, _ = impute(X.to_numpy(), "mean", groups=data["EurAsia_group"].to_numpy(dtype=object))
    X = pd.DataFrame(Xi, index=X.index, columns=codes)

    # Screen (dat_thresh 0.9, byNA): drop units with < 90% of indicators observed.
    keep = X.notna().mean(axis=1) >= 0.9
    X = X[keep]

    # Treat.
    treatment = {}
    for c in codes:
        X[c], rep = treat_column(X[c].to_numpy(), "coinr", name=c, winmax=winmax)
        treatment[c] = rep.action

    # Normalise: n_minmax to [low, high] with the direction applied.
    Z = pd.DataFrame({c: minmax(X[c].to_numpy(), int(ind.at[c, "Direction"]), low=low, high=high)
                      for c in codes}, index=X.index)

    # Aggregate level by level with a_amean (weights re-scaled within group, NAs skipped).
    scores = Z.copy()
    levels = sorted(int(v) for v in meta["Level"].dropna().unique() if v > 1)
    for lev in levels:
        for agg in meta.index[(meta["Level"] == lev) & (meta["Type"] == "Aggregate")]:
            kids = list(meta.index[meta["Parent"] == agg])
            w = meta.loc[kids, "Weight"].astype(float).to_numpy()
            scores[agg] = weighted_mean(scores[kids].to_numpy(), w)
    aggs = scores[[c for c in scores.columns if c not in codes]]
    top = meta.index[(meta["Type"] == "Aggregate") & meta["Parent"].isna()][0]
    return CoinrResult(index=aggs[top], aggregates=aggs, normalised=Z, treatment=treatment)


def build_example_coin(data_dir: Path | str = DATA_DIR) -> CoinrResult:
    return build_example(*load_asem(data_dir))
