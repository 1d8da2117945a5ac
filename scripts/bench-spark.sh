#!/usr/bin/env bash
# MLflow's Spark client against `legendary predict` on the same rows: trains the default forest
# (no tracking server; `--cv-folds 0`, which changes only its evaluation), writes N rows of random
# stats (ints in [20, 160], NumPy seed 0), checks that `mlflow.pyfunc.spark_udf` (local[2]) and
# `mlflow.pyfunc.load_model(...).predict` answer every row exactly as `legendary predict` does,
# then times them in turn, ROUNDS times (scripts/bench_spark.py says what each times), and Spark
# alone. Not a test: docs/mlflow.md has its numbers.
#
# Usage: scripts/bench-spark.sh [--rows N] [--rounds N] [--also-loader FILE] [--no-build]
#                               [--bin PATH]
# --also-loader FILE times, in the same rounds, a copy of the model with another NumPy loader
# (e.g. an older commit's: `git show COMMIT:src/model/pyfunc/legendary_pyfunc.py > old.py`).
# Needs: cargo, Java 17+, and the PySpark venv of `scripts/mlflow-venv.sh spark` (made on demand;
# PyPI must be reachable once).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rows=1000000
rounds=3
loader=""
build=1
bin="$root/target/release/legendary"
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) rows="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --also-loader) loader="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift ;;
    --no-build) build=0 ;;
    --bin) bin="$2"; build=0; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$build" = 1 ]; then
    cargo build --release --quiet --bin legendary
fi
python="$(scripts/mlflow-venv.sh spark)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "==> training the default forest" >&2
env -u MLFLOW_TRACKING_URI "$bin" train --cv-folds 0 --output "$work/model" >"$work/train.log" 2>&1 ||
    { cat "$work/train.log" >&2; exit 1; }
models=("$work/model")
if [ -n "$loader" ]; then
    # Under a module name of its own: Python imports a module once per process, and both
    # models are loaded in the same processes (the driver, Spark's reused workers).
    other="$work/model-other"
    cp -r "$work/model" "$other"
    rm "$other/code/legendary_pyfunc.py"
    cp "$loader" "$other/code/legendary_pyfunc_other.py"
    sed -i 's/^    loader_module: legendary_pyfunc$/    loader_module: legendary_pyfunc_other/' \
        "$other/MLmodel"
    grep -q 'loader_module: legendary_pyfunc_other$' "$other/MLmodel"
    models+=("$other")
fi
"$python" - "$work/rows.csv" "$rows" <<'PY'
import sys
import numpy as np, pandas as pd
stats = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
rng = np.random.default_rng(0)
pd.DataFrame(rng.integers(20, 161, size=(int(sys.argv[2]), 6)), columns=stats).to_csv(
    sys.argv[1], index=False)
PY

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Spark's Python workers run the venv's Python too; the driver listens on loopback only.
PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python" SPARK_LOCAL_IP=127.0.0.1 \
    "$python" -W ignore "$root/scripts/bench_spark.py" "$bin" "$work/rows.csv" "$work/out" \
    "$rounds" "${models[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
