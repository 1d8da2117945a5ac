#!/usr/bin/env bash
# Idempotently create `.venv-mlflow2` in the repository root with the newest MLflow 2.x
# (server and Python client), so the end-to-end suite also runs against the previous server
# generation: `LEGENDARY_TEST_MLFLOW_VENV=.venv-mlflow2 cargo test --test end_to_end --
# --include-ignored` (scripts/test.sh does). MLflow 2.22 does not start with SQLAlchemy 2.1,
# hence the pin. `[auth]` and boto3 (`s3://` artifact roots) as in scripts/mlflow-venv.sh.
#
# Only PyPI needs to be reachable. Prints the venv's python path on stdout.
set -euo pipefail

MLFLOW_VERSION="2.22.5"
SQLALCHEMY_PIN="sqlalchemy<2.1"
# Its scoring server (`mlflow models serve`) uses `app.route`, which Starlette 1.0 removed.
FASTAPI_PIN="fastapi<0.116"
BOTO3_VERSION="1.44.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-mlflow2"
py="${PYTHON:-python3}"

if [ -x "$venv/bin/mlflow" ] &&
    "$venv/bin/python" -c "import boto3, fastapi, flask_wtf, mlflow, sqlalchemy, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION' or boto3.__version__ != '$BOTO3_VERSION' or not sqlalchemy.__version__.startswith('2.0') or not fastapi.__version__.startswith('0.115'))" 2>/dev/null; then
    echo "$venv/bin/python"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow[auth]==$MLFLOW_VERSION" "$SQLALCHEMY_PIN" "$FASTAPI_PIN" "boto3==$BOTO3_VERSION" >&2
"$venv/bin/mlflow" --version >&2
echo "$venv/bin/python"
