#!/usr/bin/env bash
# Check the drift-monitoring component (deploy/kubernetes/components/drift-monitoring):
#   - promtool check rules on the PrometheusRule's `spec` (a plain rule file once extracted);
#   - the unit tests in scripts/testdata/drift-rules must be what scripts/drift-rules-tests.py
#     writes from data/pokemon and the rules today (regenerate them with that script);
#   - promtool test rules on them: the PromQL's PSI, JS and positive rate must equal the
#     script's NumPy values (to 1e-6) and exactly the alerts it expects must fire;
#   - self-check: the same tests with one expected PSI moved by 1e-6 must fail, so a runner
#     that stopped comparing values fails this script;
#   - the Grafana dashboard: well-formed JSON with the fields Grafana needs, unique panel ids,
#     and every panel query accepted by promtool (as a rule expression, variables filled in).
# Called by scripts/lint-deploy.sh with PYTHON set to its venv's python (PyYAML and NumPy);
# promtool comes from scripts/install-prometheus.sh (Debian's package, cached outside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv-tools/bin/python}
COMPONENT=deploy/kubernetes/components/drift-monitoring
TESTS=scripts/testdata/drift-rules
if [[ ! -x $PYTHON ]]; then
  echo "check-drift-rules: no $PYTHON; run scripts/lint-deploy.sh (it makes the venv) or set PYTHON" >&2
  exit 1
fi
promtool=$(scripts/install-prometheus.sh)

status=0
fail() { echo "FAIL: $*" >&2; status=1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "==> $("$promtool" --version | head -1)"

# The rule file the tests name (rule_files: [rules.yaml]) is written beside copies of them.
"$PYTHON" - "$COMPONENT/prometheusrule.yaml" "$scratch/rules.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["kind"] == "PrometheusRule", doc["kind"]
yaml.safe_dump(doc["spec"], open(sys.argv[2], "w"), sort_keys=False)
PY
if "$promtool" check rules "$scratch/rules.yaml"; then
  echo "ok  promtool check rules $COMPONENT/prometheusrule.yaml"
else
  fail "promtool check rules $COMPONENT/prometheusrule.yaml"
fi

"$PYTHON" scripts/drift-rules-tests.py --quiet --out "$scratch/generated"
if diff -r "$TESTS" "$scratch/generated" >"$scratch/diff.txt"; then
  echo "ok  $TESTS is what scripts/drift-rules-tests.py writes"
else
  head -20 "$scratch/diff.txt" >&2
  fail "$TESTS is stale: run scripts/drift-rules-tests.py and commit the result"
fi

cp "$TESTS"/*.test.yaml "$scratch/"
if "$promtool" test rules "$scratch"/*.test.yaml >"$scratch/test.out" 2>&1; then
  echo "ok  promtool test rules: $(cd "$TESTS" && echo *.test.yaml)"
else
  cat "$scratch/test.out" >&2
  fail "promtool test rules $TESTS"
fi

# Self-check: the first expected PSI of replay C (hp at 60m) plus 1e-6 must fail.
mkdir "$scratch/broken"
cp "$scratch/rules.yaml" "$scratch/broken/"
"$PYTHON" - "$TESTS/replay-c.test.yaml" "$scratch/broken/replay-c.test.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
expr = text.index('- expr: "round(legendary:feature_psi:1h')
m = re.compile(r"value: (\S+)").search(text, expr)
broken = text[:m.start(1)] + repr(float(m.group(1)) + 1e-6) + text[m.end(1):]
open(sys.argv[2], "w").write(broken)
PY
if "$promtool" test rules "$scratch/broken/replay-c.test.yaml" >"$scratch/broken.out" 2>&1; then
  fail "promtool test rules passed a test whose expected PSI is off by 1e-6"
elif grep -q 'legendary:feature_psi:1h' "$scratch/broken.out"; then
  echo "ok  self-check: an expected PSI off by 1e-6 fails promtool test rules"
else
  cat "$scratch/broken.out" >&2
  fail "the self-check failed for another reason than the PSI it moved"
fi

# The dashboard: JSON Grafana imports, and queries promtool parses.
"$PYTHON" - "$COMPONENT/grafana-dashboard.json" "$scratch/dashboard-rules.yaml" <<'PY' || fail "dashboard $COMPONENT/grafana-dashboard.json"
import json, re, sys, yaml
path = sys.argv[1]
dash = json.load(open(path))
errors = []
for key, kind in [("title", str), ("uid", str), ("schemaVersion", int), ("panels", list), ("templating", dict)]:
    if not isinstance(dash.get(key), kind):
        errors.append(f"{key}: missing or not a {kind.__name__}")
if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", str(dash.get("uid", ""))):
    errors.append("uid: 1-40 letters, digits, - or _")
variables = {v.get("name") for v in (dash.get("templating") or {}).get("list", [])}
ids, exprs = set(), []
for p in dash.get("panels", []):
    where = f"panel {p.get('id')} {p.get('title')!r}"
    for key in ("id", "type", "title", "gridPos"):
        if key not in p:
            errors.append(f"{where}: no {key}")
    if p.get("id") in ids:
        errors.append(f"{where}: id used twice")
    ids.add(p.get("id"))
    grid = p.get("gridPos") or {}
    if not all(isinstance(grid.get(k), int) for k in "xywh") or grid.get("x", 0) + grid.get("w", 0) > 24:
        errors.append(f"{where}: gridPos needs integer x, y, w, h within 24 columns")
    if p.get("type") == "row":
        continue
    if not p.get("targets"):
        errors.append(f"{where}: no targets")
    for t in p.get("targets", []):
        expr = t.get("expr", "")
        if not expr or not t.get("refId"):
            errors.append(f"{where}: a target without expr or refId")
        for var in re.findall(r"\$\{?(\w+)", expr):
            if var not in variables | {"__rate_interval", "__interval", "__range"}:
                errors.append(f"{where}: ${var} is no dashboard variable")
        # Variables filled in as Grafana would, so promtool can parse the query.
        filled = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
        filled = re.sub(r"\$\{?(\w+)\}?", ".*", filled)
        exprs.append({"record": f"dashboard:panel_{p.get('id')}_{t.get('refId')}", "expr": filled})
for e in errors:
    print(f"ERROR {path}: {e}")
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": exprs}]}, open(sys.argv[2], "w"), sort_keys=False)
print(f"ok  {path}: {len(ids)} panels, {len(exprs)} queries")
sys.exit(1 if errors else 0)
PY
if "$promtool" check rules "$scratch/dashboard-rules.yaml" >"$scratch/dashboard.out" 2>&1; then
  echo "ok  every dashboard query parses (promtool check rules)"
else
  cat "$scratch/dashboard.out" >&2
  fail "a dashboard query does not parse"
fi

if [[ $status -ne 0 ]]; then
  echo "check-drift-rules: FAILED" >&2
  exit 1
fi
echo "check-drift-rules: all clean"
