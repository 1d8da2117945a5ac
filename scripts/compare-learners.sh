#!/usr/bin/env bash
# Runs scripts/compare-learners.py (legendary against scikit-learn's forest,
# HistGradientBoosting and XGBoost on legendary's own CV folds) in its own venv of pinned
# packages, made on first use outside the repository:
#   ${LEGENDARY_COMPARE_VENV:-${XDG_CACHE_HOME:-~/.cache}/legendary-compare-venv}
#
# Usage: scripts/compare-learners.sh [--seeds 10] [--legendary PATH] [--no-build]
#                                    [--extra-args "..."] [--learners rf,rf-grid,hgb,xgb]
#                                    [--jobs N] [--json PATH]
# Without --legendary it builds and uses target/release/legendary. `--help` says more.
# Needs python3.11 (override with PYTHON=...) and PyPI, once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# scikit-learn, numpy, pandas and scipy as in the MLflow venv (docs/mlflow-protocol.md);
# xgboost-cpu is XGBoost without the CUDA libraries. The rest are their dependencies, pinned
# so that the venv is the same everywhere.
pins=(
    scikit-learn==1.9.1 numpy==2.4.6 pandas==3.1.1 scipy==1.17.1 xgboost-cpu==3.2.0
    joblib==1.6.0 threadpoolctl==3.8.0 cloudpickle==3.1.3 narwhals==2.29.0
    python-dateutil==4.0.0 tzdata==2026.6
)

venv="${LEGENDARY_COMPARE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/legendary-compare-venv}"
stamp="$venv/.pins"
want="${pins[*]}"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "compare-learners.sh: installing ${pins[*]} into $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3.11}" -m venv "$venv"
    "$root/scripts/heartbeat.sh" "pip install into $(basename "$venv")" -- \
        "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
        "${pins[@]}"
    echo "$want" >"$stamp"
fi

exec "$venv/bin/python" "$root/scripts/compare-learners.py" "$@"
