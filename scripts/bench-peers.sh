#!/usr/bin/env bash
# Peer comparison: rebuilds the bundled 200-tree forest exactly in lleaves (LLVM), Treelite
# -> tl2cgen (gcc -O3) and ONNX Runtime (ai.onnx.ml TreeEnsemble), checks each against
# `legendary predict` (max |diff| <= 1e-15) on the rows of scripts/bench.sh and of the
# criterion bench, times each on one thread (pinned to CPU 0), then runs criterion's
# `predict/predict_batch` for the same batch sizes and prints `legendary / peer` ratios.
#
# Usage: scripts/bench-peers.sh [--skip-criterion] [--rows N]... [--repeats N]
#                               [--engines lleaves,tl2cgen,onnxruntime] [--cpu N|-1]
#                               [--no-build] [--bin PATH]
# Needs: cargo, gcc (tl2cgen compiles C), python3.11 (override with PYTHON=...). Creates
# and caches `.venv-bench` with the pinned packages below (PyPI must be reachable once);
# compiled models are cached under target/bench-peers/<model hash>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Exact pins (Python 3.11 wheels). llvmlite 0.45+ dropped the legacy pass manager that
# lleaves 1.3.0 uses; treelite 4.1.2 is the version tl2cgen 1.0.0 embeds (a newer one makes
# it warn about a model "from a newer Treelite version").
pins=(
    lleaves==1.3.0 llvmlite==0.44.0
    treelite==4.1.2 tl2cgen==1.0.0 scipy==1.17.1
    onnx==1.23.2 onnxruntime==1.32.0 protobuf==7.36.2 flatbuffers==25.12.19
    ml_dtypes==0.7.0 packaging==26.4 typing_extensions==4.16.0
    numpy==2.4.6
)

build=1
bin="$root/target/release/legendary"
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-build) build=0 ;;
    --bin) bin="$2"; build=0; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) args+=("$1") ;;
    esac
    shift
done

command -v gcc >/dev/null || { echo "bench-peers.sh needs gcc (tl2cgen compiles the trees to C)" >&2; exit 1; }

venv="$root/.venv-bench"
stamp="$venv/.pins"
want="${pins[*]}"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    "${PYTHON:-python3.11}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
    echo "$want" >"$stamp"
fi

if [ "$build" = 1 ]; then
    cargo build --release --quiet
fi

exec "$venv/bin/python" "$root/scripts/bench_peers.py" --bin "$bin" "${args[@]}"
