#!/usr/bin/env bash
# Idempotently create `.venv` in the repository root with a pinned MLflow
# server and Python client, used by the real-server end-to-end tests
# (`cargo test --test end_to_end -- --include-ignored`), and boto3, which MLflow's
# server and client need for `s3://` artifact roots, and shap (the explanation tests).
#
# Only PyPI needs to be reachable. Prints the venv's python path on stdout.
# Override the interpreter with PYTHON=python3.11.
set -euo pipefail

MLFLOW_VERSION="3.17.2"
BOTO3_VERSION="1.44.5"
# skops: what mlflow.sklearn.save_model writes by default (the sklearn-flavor fixtures).
SKOPS_VERSION="0.16.0"
# shap: the explanation tests compare POST /explain with shap.KernelExplainer (0.51.0 is
# the last release for Python 3.11).
SHAP_VERSION="0.51.0"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"

if [ -x "$venv/bin/mlflow" ] &&
    "$venv/bin/python" -c "import boto3, flask_wtf, mlflow, shap, skops, sklearn, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION' or boto3.__version__ != '$BOTO3_VERSION' or skops.__version__ != '$SKOPS_VERSION' or shap.__version__ != '$SHAP_VERSION')" 2>/dev/null; then
    echo "$venv/bin/python"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow[auth]==$MLFLOW_VERSION" "boto3==$BOTO3_VERSION" "skops==$SKOPS_VERSION" "shap==$SHAP_VERSION" >&2
"$venv/bin/mlflow" --version >&2
echo "$venv/bin/python"
