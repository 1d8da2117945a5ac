#!/usr/bin/env bash
# Replays `docker build -t legendary .` and the Deployment's way of running the
# image, without a container engine (scripts/docker_build_test.py has the
# details):
#   1. self-check: scripts/testdata/Dockerfile.broken-copy-list (a Dockerfile
#      whose COPY list misses benches/) must fail at its first cargo build;
#   2. the build context as Docker sends it (.dockerignore applied), the
#      builder stage's COPY and RUN steps in a bubblewrap sandbox, and every
#      path the runtime stage copies from the builder must exist;
#   3. the runtime stage's command, as deploy/kubernetes/base/deployment.yaml runs
#      it (uid 65532, read-only root holding only the image's files, writable
#      emptyDir /tmp only), must answer /ping, /health and the README's two
#      demo requests, and refuse writes outside the emptyDir;
#   4. the training Job's and the Indexed Job's commands, the same way but
#      logging to a real mlflow server (.venv, scripts/mlflow-venv.sh), must
#      register a version and pass it through the gate.
#
#   scripts/docker-build-test.sh                   # 1 to 4
#   scripts/docker-build-test.sh --self-check-only # 1 (seconds)
#   scripts/docker-build-test.sh --no-self-check   # 2 to 4
#   ... --keep-binary PATH                         # also copy the image's binary to PATH
#                                                  # (scripts/test.sh's API contract runs it)
#
# The builder's `--mount=type=cache` directories (cargo's target/ among them)
# persist in $DOCKER_BUILD_TEST_CACHE, by default
# ${XDG_CACHE_HOME:-~/.cache}/legendary-docker-build-test: outside the
# repository, so that a fresh clone on the same machine (as CI uses) builds
# incrementally too. The first run compiles every dependency in release mode.
# Needs root (bubblewrap binds, setpriv to uid 65532); installs bubblewrap
# with apt-get and the Python docker SDK + PyYAML into .venv-tools if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER_SDK_VERSION=7.2.0
PYYAML_VERSION=6.0.3
VENV=.venv-tools
FIXTURE=scripts/testdata/Dockerfile.broken-copy-list
# What cargo says when the manifest names a bench the context lacks.
FIXTURE_FAILURE='benches/scoring\.rs'
CACHE=${DOCKER_BUILD_TEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/legendary-docker-build-test}

self_check=1 build=1 keep=()
usage() { echo "usage: $0 [--self-check-only | --no-self-check] [--keep-binary PATH]" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --self-check-only) build=0 ;;
    --no-self-check) self_check=0 ;;
    --keep-binary) [[ $# -ge 2 ]] || usage; keep=(--keep-binary "$2"); shift ;;
    *) usage ;;
  esac
  shift
done

die() { echo "docker-build-test: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (bubblewrap bind mounts and setpriv to the image's uid)"

if ! command -v bwrap >/dev/null 2>&1; then
  echo "==> installing bubblewrap"
  apt-get install -y -qq bubblewrap >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } ||
    die "could not install bubblewrap with apt-get"
fi
for tool in setpriv nsenter curl ldd nice; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: util-linux, curl, libc-bin, coreutils)"
done

tools_ok() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "$DOCKER_SDK_VERSION" "$PYYAML_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("docker"), version("PyYAML")) == tuple(sys.argv[1:3]) else 1)
PY
}
if ! tools_ok; then
  echo "==> installing the docker SDK (for .dockerignore matching) and PyYAML into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "docker==$DOCKER_SDK_VERSION" "PyYAML==$PYYAML_VERSION"
fi

mkdir -p "$CACHE"

# The Python driver cleans up its sandboxes itself; forward signals to it.
child=
trap '[[ -n $child ]] && kill -TERM "$child" 2>/dev/null; wait' INT TERM HUP
replay() {
  "$VENV/bin/python" scripts/docker_build_test.py --cache-dir "$CACHE" "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return "$rc"
}

if [[ $self_check -eq 1 ]]; then
  echo "==> self-check: $FIXTURE must fail"
  replay --dockerfile "$FIXTURE" --expect-build-failure "$FIXTURE_FAILURE" ||
    die "self-check failed: the replay no longer catches the broken COPY list of $FIXTURE"
fi
if [[ $build -eq 1 ]]; then
  scripts/mlflow-venv.sh >/dev/null
  echo "==> Dockerfile"
  replay --dockerfile Dockerfile "${keep[@]}" || die "the Dockerfile does not build or run as the Deployment runs it"
fi
