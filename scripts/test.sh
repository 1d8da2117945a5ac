#!/usr/bin/env bash
# Runs every check and every test, installing what the tests need on a fresh machine:
# a Python venv with a pinned mlflow and boto3 (real tracking server), another with the newest
# MLflow 2.x (the end-to-end tests whose behaviour depends on the server generation run against
# both), two for the Open Inference Protocol clients (tritonclient and the KServe SDK) and the
# MLServer they compare legendary with, two made once into a cache outside the repository: one
# with Evidently (the monitoring test compares legendary's drift verdicts with its default drift
# tests) and one with PySpark (Spark's MLflow client); a pinned Garage built once into a cache
# outside the repository (real S3 server), Chromium + ChromeDriver (browser test), hadolint +
# kubernetes-validate + promtool (deploy lint), the Prometheus server (the retraining loop reads
# the fleet's alerts from it),
# bubblewrap + the Python docker SDK (the Dockerfile replay of scripts/docker-build-test.sh) and
# schemathesis (API contract).
#
# Every step runs even when an earlier one failed; each prints its wall and CPU time, a table of
# them closes the run, and the script exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every package of the workspace (the same as the one package when there is no workspace).
WS=(--workspace --locked)

# Compiled dependencies are a slow install like the venvs: the lint and test builds go to a
# target directory cached outside the repository (CARGO_TARGET_DIR, when set, wins), so a fresh
# clone compiles only this workspace's crates. Stale dependency versions pile up there as the
# lock file moves, so past 20 GB it starts over.
: "${CARGO_TARGET_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/legendary/cargo-target}"
if [[ -d $CARGO_TARGET_DIR ]] && (($(du -sm "$CARGO_TARGET_DIR" | cut -f1) > 20480)); then
  echo "==> $CARGO_TARGET_DIR is over 20 GB: starting it over"
  rm -rf "$CARGO_TARGET_DIR"
fi
export CARGO_TARGET_DIR

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

tick=$(getconf CLK_TCK)
# CPU time (user + system, in clock ticks) of the waited-for children of this (sub)shell.
cpu_ticks() {
  local stat
  read -r stat <"/proc/$BASHPID/stat"
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $stat
  CPU_TICKS=$((${14} + ${15}))
}

names=() walls=() cpus=() states=()
record() { # NAME STATUS WALL_S CPU_TICKS
  names+=("$1") states+=("$([[ $2 -eq 0 ]] && echo ok || echo "FAILED ($2)")") walls+=("$3")
  cpus+=("$(($4 / tick))")
  printf '<== %s: %s in %d s (CPU %d s)\n' "$1" "${states[-1]}" "$3" "$(($4 / tick))"
}

# step NAME COMMAND [ARGS...]: runs COMMAND (a function or a program) with errexit in a
# subshell, then records its status and times. A failure does not stop the run.
step() {
  local name=$1 started=$SECONDS c0 rc
  shift
  printf '\n==> %s\n' "$name"
  cpu_ticks
  c0=$CPU_TICKS
  (
    set -e
    "$@"
  )
  rc=$?
  cpu_ticks
  record "$name" "$rc" $((SECONDS - started)) $((CPU_TICKS - c0))
}

# background NAME COMMAND [ARGS...]: like step, but in the background, its output kept in a
# file until `join NAME` prints it and records the step.
declare -A bg_pid bg_started
background() {
  local name=$1 key=${1// /_}
  shift
  printf '\n==> %s (in the background; its output follows when it is joined)\n' "$name"
  bg_started[$key]=$SECONDS
  (
    cpu_ticks
    c0=$CPU_TICKS
    (
      set -e
      "$@"
    ) >"$scratch/$key.log" 2>&1
    rc=$?
    cpu_ticks
    echo "$rc $SECONDS $((CPU_TICKS - c0))" >"$scratch/$key.done"
  ) &
  bg_pid[$key]=$!
}
join() {
  local name=$1 key=${1// /_} rc ended ticks
  printf '\n==> %s (joined; it started %d s ago)\n' "$name" $((SECONDS - bg_started[$key]))
  wait "${bg_pid[$key]}"
  cat "$scratch/$key.log"
  read -r rc ended ticks <"$scratch/$key.done" || { rc=1 ended=$SECONDS ticks=0; }
  record "$name (background)" "$rc" $((ended - bg_started[$key])) "$ticks"
}

summary() {
  local i failed=() width=4
  for i in "${!names[@]}"; do ((${#names[i]} > width)) && width=${#names[i]}; done
  printf '\n==> summary: wall and CPU (user + system) time of each step; a background step\n'
  printf '    overlaps the steps that ran beside it\n'
  printf '%-*s %7s %7s  %s\n' "$width" step wall CPU status
  for i in "${!names[@]}"; do
    printf '%-*s %5d s %5d s  %s\n' "$width" "${names[i]}" "${walls[i]}" "${cpus[i]}" "${states[i]}"
    [[ ${states[i]} == ok ]] || failed+=("${names[i]}")
  done
  printf '%-*s %5d s\n' "$width" total "$SECONDS"
  if ((${#failed[@]})); then
    printf '\nFAILED:\n'
    printf '  %s\n' "${failed[@]}"
  fi
  printf 'steps: %d passed, %d failed\n' $((${#names[@]} - ${#failed[@]})) "${#failed[@]}"
  ((${#failed[@]} == 0))
}

# --- what the steps do ---------------------------------------------------------------------

external_tools() {
  scripts/mlflow-venv.sh
  scripts/mlflow-venv.sh 2
  scripts/mlflow-venv.sh oip
  scripts/mlflow-venv.sh mlserver
  scripts/mlflow-venv.sh evidently >"$scratch/evidently-python"
  cat "$scratch/evidently-python"
  scripts/mlflow-venv.sh spark >"$scratch/spark-python"
  cat "$scratch/spark-python"
  scripts/install-garage.sh >"$scratch/garage-bin"
  cat "$scratch/garage-bin"
  scripts/install-browser.sh
  scripts/install-prometheus.sh prometheus >"$scratch/prometheus-bin"
  cat "$scratch/prometheus-bin"
}

lint() {
  cargo clippy "${WS[@]}" --all-targets -- -D warnings
  scripts/check-msrv.sh
}

# The release binary is built once, by the Dockerfile replay (in its cache outside the
# repository, so a fresh clone builds it incrementally too); the API contract runs that binary.
release_bin="$scratch/legendary-release"
docker_build() {
  scripts/docker-build-test.sh --keep-binary "$release_bin"
}
api_contract() {
  if [[ -x $release_bin ]]; then
    LEGENDARY_BIN=$release_bin scripts/schemathesis.sh
  else
    echo "no binary from the Dockerfile replay; schemathesis.sh builds its own"
    scripts/schemathesis.sh
  fi
}

# The end-to-end tests whose behaviour depends on the MLflow server generation (tests/end_to_end.rs
# says which): run a second time against MLflow 2.x.
mlflow2() {
  LEGENDARY_TEST_MLFLOW_VENV=.venv-mlflow2 cargo test --locked -p legendary --test end_to_end \
    --no-fail-fast -- --include-ignored "${MLFLOW2_FILTER[@]}"
}
MLFLOW2_FILTER=(end_to_end::mlflow:: end_to_end::models:: registry)

# --- the run -------------------------------------------------------------------------------

# Installs are network- and disk-bound (a cold Garage build is the exception): they overlap the
# format, lint and build steps.
background "external tools" external_tools
step "format" cargo fmt --all -- --check
step "lint" lint
step "build (debug, every test target)" cargo test "${WS[@]}" --no-run
join "external tools"
if [[ -s $scratch/garage-bin ]]; then
  LEGENDARY_GARAGE_BIN=$(cat "$scratch/garage-bin")
  export LEGENDARY_GARAGE_BIN
fi
if [[ -s $scratch/evidently-python ]]; then
  LEGENDARY_TEST_EVIDENTLY_PYTHON=$(cat "$scratch/evidently-python")
  export LEGENDARY_TEST_EVIDENTLY_PYTHON
fi
if [[ -s $scratch/prometheus-bin ]]; then
  LEGENDARY_PROMETHEUS_BIN=$(cat "$scratch/prometheus-bin")
  export LEGENDARY_PROMETHEUS_BIN
fi
if [[ -s $scratch/spark-python ]]; then
  LEGENDARY_TEST_SPARK_PYTHON=$(cat "$scratch/spark-python")
  export LEGENDARY_TEST_SPARK_PYTHON
fi
step "deploy lint" scripts/lint-deploy.sh
# The Dockerfile replay is mostly one core (the release build's single codegen unit and its
# link, then one container at a time): it overlaps the tests beside it, which use the other.
# The API contract needs its binary, so it runs once the replay is joined.
background "docker build context (release build)" docker_build
step "tests: all but end_to_end (unit, in_process with Chromium, process, sklearn, doc)" \
  cargo test "${WS[@]}" --no-fail-fast -- --include-ignored --skip end_to_end::
join "docker build context (release build)"
step "tests: end_to_end against MLflow 3, Garage and Spark" \
  cargo test --locked -p legendary --test end_to_end --no-fail-fast -- --include-ignored
# The API contract is one core (one server, one client) and so is most of the MLflow 2.x step
# (its tests wait on MLflow's Python server): they run side by side.
background "API contract (schemathesis)" api_contract
step "tests: end_to_end, the generation-dependent ones against MLflow 2.x" mlflow2
join "API contract (schemathesis)"
summary
