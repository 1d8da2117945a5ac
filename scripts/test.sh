#!/usr/bin/env bash
# Full check: format, lints, unit + integration tests, then the end-to-end tests against a
# real `mlflow server` 3.17.2 (its venv is created on first use by scripts/mlflow-venv.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
scripts/mlflow-venv.sh >/dev/null
cargo test --test mlflow_e2e -- --include-ignored
