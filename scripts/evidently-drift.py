#!/usr/bin/env python3
"""Evidently's default data drift evaluation of a window of rows against reference rows.

    evidently-drift.py REFERENCE.csv WINDOW.csv [WINDOW.csv ...]

Every file is a CSV with a header that names at least the six stats (hp, attack, defense,
special_attack, special_defense, speed); other columns are ignored. The columns evaluated are
the ones legendary monitors: the six stats and `total`, their sum (computed here from the six,
as the server does, whatever a `total` column in the file says). Run it with the Python of
`scripts/mlflow-venv.sh evidently`. It prints a JSON list, one object per window in the
order given (several windows in one run spare Evidently's import, several seconds each):

    [{"evidently": "0.7.23", "reference_rows": 552, "window_rows": 1000,
     "columns": {"hp": {"method": "K-S p_value", "threshold": 0.05, "score": 0.0012,
                        "drifted": true}, ...},
     "drifted_columns": 5, "share_of_drifted_columns": 0.714, "drift_share": 0.5,
     "dataset_drift": true}, ...]

`drifted` and `dataset_drift` are Evidently's own verdicts (the status of the tests its
`DataDriftPreset` includes), not recomputed here.

What the default is, as read in the source of Evidently 0.7.23 (the version
scripts/mlflow-venv.sh pins):

- `DataDriftPreset()` makes one `ValueDrift` metric per column and a `DriftedColumnsCount`
  (evidently/presets/drift.py). With no method given, `ValueDrift` picks the test with
  `_get_default_stattest` (evidently/legacy/calculations/stattests/registry.py), from the
  number of REFERENCE rows and the number of distinct values in both datasets together:
  - reference ≤ 1000 rows, numerical: more than 5 distinct values → two-sample
    Kolmogorov–Smirnov (`scipy.stats.ks_2samp`), drift when p_value ≤ 0.05
    (ks_stattest.py: `p_value <= threshold`); 3 to 5 values → chi-square, 2 or fewer → Z-test;
  - reference > 1000 rows, numerical: more than 5 values → Wasserstein distance divided by
    the reference's standard deviation, drift when ≥ 0.1 (wasserstein_distance_norm.py);
    5 or fewer → Jensen–Shannon distance, drift when ≥ 0.1.
  Infinite values are dropped first, then missing ones (legacy/calculations/data_drift.py).
- Dataset drift: `DriftedColumnsCount`'s default test is "share of drifted columns < 0.5"
  (`lt(drift_share)`, drift_share = 0.5), so the dataset drifts when at least half of the
  columns do (the legacy `get_dataset_drift`: `share_drifted_columns >= drift_share`).

The report is asked for its tests (`Report([DataDriftPreset()], include_tests=True)`: without
it there are the scores but no verdicts) and the columns are declared numerical
(`DataDefinition(numerical_columns=...)`), which they are; the rest is Evidently's default.
`DO_NOT_TRACK` is set, which turns Evidently's usage telemetry off (evidently/telemetry.py).
"""

import json
import os
import sys

os.environ.setdefault("DO_NOT_TRACK", "1")

import pandas as pd  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently import __version__ as evidently_version  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
COLUMNS = STATS + ["total"]


def monitored(path):
    """The monitored columns of a CSV: the six stats as floats, then their sum."""
    frame = pd.read_csv(path)
    missing = [s for s in STATS if s not in frame.columns]
    if missing:
        sys.exit(f"{path}: no column {', '.join(missing)}")
    out = frame[STATS].astype(float)
    out["total"] = out[STATS].sum(axis=1)
    return out


def drift(reference, window):
    """Evidently's default drift report of `window` against `reference`, summed up."""
    definition = DataDefinition(numerical_columns=COLUMNS)
    preset = DataDriftPreset()
    snapshot = Report([preset], include_tests=True).run(
        Dataset.from_pandas(window, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()

    # Each metric's result and configuration (the method and threshold Evidently resolved),
    # and the status of the test bound to it, by the metric's id.
    metrics = {m["id"]: m for m in result["metrics"]}
    status = {t["metric_config"]["metric_id"]: t["status"] for t in result["tests"]}
    columns = {}
    count = None
    for metric_id, m in metrics.items():
        config = m["config"]
        kind = config["type"].rsplit(":", 1)[-1]
        if kind == "ValueDrift":
            columns[config["column"]] = {
                "method": config["method"],
                "threshold": config["threshold"],
                "score": m["value"],
                "drifted": status[metric_id] == "FAIL",
            }
        elif kind == "DriftedColumnsCount":
            count = (m["value"], status[metric_id] == "FAIL")
    if sorted(columns) != sorted(COLUMNS) or count is None:
        sys.exit(f"unexpected report: {json.dumps(result)[:2000]}")
    value, dataset_drift = count
    return {
        "evidently": evidently_version,
        "reference_rows": len(reference),
        "window_rows": len(window),
        "columns": {c: columns[c] for c in COLUMNS},
        "drifted_columns": int(value["count"]),
        "share_of_drifted_columns": value["share"],
        "drift_share": preset.drift_share,
        "dataset_drift": dataset_drift,
    }


def main():
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} REFERENCE.csv WINDOW.csv [WINDOW.csv ...]")
    reference = monitored(sys.argv[1])
    print(json.dumps([drift(reference, monitored(path)) for path in sys.argv[2:]]))


if __name__ == "__main__":
    main()
