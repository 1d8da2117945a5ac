#!/usr/bin/env bash
# Runs every check and every test, installing what the tests need on a fresh machine:
# a Python venv with a pinned mlflow and boto3 (real tracking server), another with the newest
# MLflow 2.x (the end-to-end suite runs against both server generations), a pinned Garage built
# once into a cache outside the repository (real S3 server), Chromium + ChromeDriver (browser
# test), hadolint + kubernetes-validate (deploy lint), bubblewrap + the Python docker SDK (the
# Dockerfile replay of scripts/docker-build-test.sh) and schemathesis (API contract).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints how long the one before it took, so a slow step shows in the CI log.
last_step=""
step_started=$SECONDS
step() {
    if [ -n "$last_step" ]; then
        printf '<== %s: %d s\n' "$last_step" $((SECONDS - step_started))
    fi
    last_step="$*"
    step_started=$SECONDS
    printf '\n==> %s\n' "$*"
}
trap 'step done' EXIT

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --locked --all-targets -- -D warnings
scripts/check-msrv.sh

step "build"
cargo build --locked --release
cargo test --locked --no-run

step "external tools"
scripts/mlflow-venv.sh
scripts/mlflow-venv.sh 2
LEGENDARY_GARAGE_BIN="$(scripts/install-garage.sh)"
export LEGENDARY_GARAGE_BIN
if [ -x scripts/install-browser.sh ]; then scripts/install-browser.sh; fi

step "deploy lint"
scripts/lint-deploy.sh

step "docker build context"
scripts/docker-build-test.sh

if [ -x scripts/schemathesis.sh ]; then
  step "API contract (schemathesis)"
  scripts/schemathesis.sh
fi

step "tests (unit, integration, end to end against a real mlflow server, Garage and Chromium)"
cargo test --locked -- --include-ignored

step "end to end against the previous server generation (MLflow 2.x)"
LEGENDARY_TEST_MLFLOW_VENV=.venv-mlflow2 cargo test --locked --test end_to_end -- --include-ignored
