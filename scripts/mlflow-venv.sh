#!/usr/bin/env bash
# Idempotently create the Python venv of the real-server tests and print its python's path:
#
#   scripts/mlflow-venv.sh      `.venv`: the pinned MLflow 3 server and client (end to end,
#                               `cargo test --test end_to_end -- --include-ignored`), boto3
#                               (`s3://` artifact roots), skops (what mlflow.sklearn.save_model
#                               writes by default: the sklearn-flavor fixtures) and shap (the
#                               explanation tests compare POST /explain with KernelExplainer)
#   scripts/mlflow-venv.sh 2    `.venv-mlflow2`: the newest MLflow 2.x, against which the end-to-end
#                               tests that depend on the server generation run a second time
#                               (LEGENDARY_TEST_MLFLOW_VENV=.venv-mlflow2; tests/end_to_end.rs
#                               says which)
#   scripts/mlflow-venv.sh oip  `.venv-oip`: Open Inference Protocol clients nobody here wrote,
#                               tritonclient (HTTP and gRPC) and the KServe SDK, which
#                               tests/end_to_end/oip_clients.rs points at `legendary serve`
#   scripts/mlflow-venv.sh mlserver
#                               `.venv-mlserver`: MLServer with its scikit-learn runtime, the
#                               reference server the same test compares legendary with. Its own
#                               venv because kserve 0.21 and mlserver 1.7 pin incompatible
#                               FastAPI ranges.
#   scripts/mlflow-venv.sh evidently
#                               Evidently, whose default data drift tests
#                               tests/end_to_end/monitoring.rs compares legendary's drift
#                               verdicts with (scripts/evidently-drift.py). A venv of its own:
#                               Evidently 0.7.23 does not import with pandas 3, which `.venv` has
#                               (pandas 2 there would change what every MLflow test runs on). It
#                               is 1 GB (plotly, pyarrow, SciPy, statsmodels), so it lives outside
#                               the repository, made once per machine:
#                               ${LEGENDARY_EVIDENTLY_VENV:-${XDG_CACHE_HOME:-~/.cache}/legendary-evidently-venv}.
#   scripts/mlflow-venv.sh spark  PySpark 4 and the same MLflow client, for the Spark test
#                               (tests/end_to_end/spark.rs, `mlflow.pyfunc.spark_udf`) and
#                               scripts/bench-spark.sh; PySpark alone is 500 MB, so this venv
#                               lives outside the repository, made once per machine:
#                               ${LEGENDARY_SPARK_VENV:-${XDG_CACHE_HOME:-~/.cache}/legendary-spark-venv}.
#                               It needs Java 17 or later (`java` on PATH, or JAVA_HOME).
#
# Only PyPI needs to be reachable. Override the interpreter with PYTHON=python3.11.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
# The executable whose presence says the venv was made (then `satisfied` checks the versions).
probe=mlflow
case "${1:-3}" in
3)
    venv="$root/.venv"
    # shap 0.51.0 is the last release for Python 3.11.
    reqs=("mlflow[auth]==3.17.2" "flask-wtf" "boto3==1.44.5" "skops==0.16.0" "shap==0.51.0")
    ;;
2)
    venv="$root/.venv-mlflow2"
    # MLflow 2.22 does not start with SQLAlchemy 2.1, and its scoring server (`mlflow models
    # serve`) uses `app.route`, which Starlette 1.0 (FastAPI 0.116) removed.
    reqs=("mlflow[auth]==2.22.5" "flask-wtf" "sqlalchemy<2.1" "fastapi<0.116" "boto3==1.44.5")
    ;;
oip)
    venv="$root/.venv-oip"
    probe=python
    reqs=("tritonclient[http,grpc]==2.73.0" "kserve==0.21.0" "packaging")
    ;;
mlserver)
    venv="$root/.venv-mlserver"
    probe=mlserver
    reqs=("mlserver==1.7.1" "mlserver-sklearn==1.7.1" "scikit-learn==1.9.1" "packaging")
    ;;
evidently)
    venv="${LEGENDARY_EVIDENTLY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/legendary-evidently-venv}"
    probe=python
    # Evidently 0.7.23 imports pandas internals that pandas 3 removed (infer_dtype_from_object).
    reqs=("evidently==0.7.23" "pandas==2.3.3" "packaging")
    ;;
spark)
    probe=python
    venv="${LEGENDARY_SPARK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/legendary-spark-venv}"
    # The client only (mlflow-skinny: no server), NumPy and pandas as in `.venv`; pyarrow for
    # Spark's pandas UDFs, below 26 as MLflow wants.
    reqs=("mlflow-skinny==3.17.2" "pyspark==4.3.0" "numpy==2.4.6" "pandas==3.1.1" "pyarrow==25.0.1")
    if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
        echo "PySpark needs Java 17 or later: apt-get install openjdk-17-jre-headless" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: $0 [3|2|oip|mlserver|evidently|spark]" >&2
    exit 2
    ;;
esac

# Every requirement installed at a version it allows (packaging comes with MLflow; the other
# venvs ask for it).
satisfied() {
    "$venv/bin/python" - "${reqs[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
ok = all(version(r.name) in r.specifier for r in map(Requirement, sys.argv[1:]))
sys.exit(0 if ok else 1)
PY
}

if [ -x "$venv/bin/$probe" ] && satisfied; then
    echo "$venv/bin/python"
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv" >&2
fi
echo "==> installing ${reqs[*]} into $venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
# pip's own output goes to a log; a heartbeat line every 30 s says what it is fetching.
"$root/scripts/heartbeat.sh" "pip install into $(basename "$venv")" -- \
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "${reqs[@]}"
if [ "$probe" = mlflow ]; then
    "$venv/bin/mlflow" --version >&2
fi
echo "$venv/bin/python"
