#!/usr/bin/env python3
"""Write the promtool unit tests of the drift rules from the real data package.

    drift-rules-tests.py [--out DIR] [--rules NAME] [--source FILE] [--quiet]

The rules are deploy/kubernetes/components/drift-monitoring/prometheusrule.yaml
(--source; the alerts' annotation templates are read from it).
scripts/check-drift-rules.sh extracts its `spec` to a plain rule file,
rules.yaml, that the tests name beside themselves (--rules changes that name).
Without --quiet, prints PSI and JS per feature and replay, and the alerts.

Reference: generations 1-8 of data/pokemon (the rows a model is trained on).
Bin edges per feature, as the server computes them: e_k = sorted values[ceil(k
n / 10) - 1] for k = 1..9, duplicates removed; value v is in bin "number of
edges < v". PSI and the Jensen-Shannon distance are computed here with NumPy
and asserted in the tests, rounded to 1e-6 on both sides (promtool 2.42
compares sample values exactly), so the PromQL and this script must agree.

Replays (each minute the fleet scores the replay's rows, alternate rows on
pod a and pod b, so the fleet-wide sums are tested):
  A  half of each of generations 1-8 (seeded sample): training proportions;
     two hours, no alert, PSI far under 0.2. The same test checks that a
     version whose counters stand still (no traffic) has no PSI and no alert,
     and that a canary version with fewer rows than the alerts need has a PSI
     but no alert.
  B  an hour of A, then generation 9 alone (four times a minute, about A's
     rate).
  C  an hour of A, then generations 1-8 with special_attack x 1.25 (total is
     the sum of the six stats, so it moves too).
B and C are asserted at 60m (window all A), 120m (window all replay: the PSI
and JS of the replay itself) and 135m (15 minutes later): PSI and JS
of every feature, prediction PSI, positive rate, and exactly the alerts whose
condition has held for their `for:` by then (this script replays the minutes
to find them).

Predictions: the test cannot run the forest, so a stand-in model answers:
p = 1 / (1 + exp(-(total - 580) / 25)), "legendary" when p >= 0.5. Its
reference mix and positive rate are taken on generations 1-8, as the server
does on the training rows; the rate's interval (a number the server exports,
made up here) is the binomial 99.9 % band for 2,000 rows around it.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "pokemon"
RULES = ROOT / "deploy" / "kubernetes" / "components" / "drift-monitoring" / "prometheusrule.yaml"
STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
FEATURES = STATS + ["total"]
FLOOR = 1e-4
ROUND = 1e-6                 # assertions are on round(value, ROUND)
PSI_ALERT, JS_ALERT = 0.2, 0.1
MIN_ROWS = 500               # the alerts' minimum rows per window
FOR_MINUTES = 5              # the alerts' `for:`
WINDOW = 60                  # minutes, the rules' [1h]
SEED = 34
TARGET = {"namespace": "legendary", "job": "legendary"}
VERSION = "7"
PODS = [("legendary-7f9c6d-a", "10.0.0.11:8080"), ("legendary-7f9c6d-b", "10.0.0.12:8080")]


def load(generations) -> dict[str, np.ndarray]:
    cols = {k: [] for k in STATS}
    for g in generations:
        with open(DATA / f"generation-{g}.csv", newline="") as f:
            for row in csv.DictReader(f):
                for k in STATS:
                    cols[k].append(float(row[k]))
    data = {k: np.array(v) for k, v in cols.items()}
    data["total"] = sum(data[k] for k in STATS)
    return data


def take(data, idx):
    return {k: v[idx] for k, v in data.items()}


def edges(values: np.ndarray) -> np.ndarray:
    n = len(values)
    s = np.sort(values)
    return np.unique([s[(k * n + 9) // 10 - 1] for k in range(1, 10)])


def bin_of(e: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.searchsorted(e, values, side="left")   # number of edges < v


def counts(bins: np.ndarray, nbins: int) -> np.ndarray:
    return np.bincount(bins, minlength=nbins).astype(np.int64)


def psi(actual_counts: np.ndarray, reference: np.ndarray) -> float:
    a = np.maximum(actual_counts / actual_counts.sum(), FLOOR)
    r = np.maximum(reference, FLOOR)
    return float(np.sum((a - r) * np.log(a / r)))


def js(actual_counts: np.ndarray, reference: np.ndarray) -> float:
    """scipy.spatial.distance.jensenshannon(p, q) with the natural log."""
    p = actual_counts / actual_counts.sum()
    q = reference / reference.sum()
    m = (p + q) / 2

    def kl(x):
        nz = x > 0
        return np.sum(x[nz] * np.log(x[nz] / m[nz]))
    return float(math.sqrt(max(0.5 * kl(p) + 0.5 * kl(q), 0.0)))


def rounded(v: float) -> float:
    """PromQL's round(v, ROUND), same operations in the same order."""
    inv = 1.0 / ROUND
    return math.floor(v * inv + 0.5) / inv


def safe_round(v: float, what: str) -> float:
    # A value within 1e-12 of a rounding boundary could round either way in
    # PromQL and here (the sums add in another order, which moves the last
    # few bits, about 1e-16): refuse to assert it.
    r1, r2 = rounded(v - 1e-12), rounded(v + 1e-12)
    if r1 != r2:
        raise SystemExit(f"{what} = {v!r} is too close to a rounding boundary of {ROUND}")
    return r1


def prob(data) -> np.ndarray:
    """The stand-in model's probability of 'legendary'."""
    return 1.0 / (1.0 + np.exp(-(data["total"] - 580.0) / 25.0))


def prediction_bin(p: np.ndarray) -> np.ndarray:
    return np.minimum(np.floor(p * 10).astype(int), 9)


class Reference:
    def __init__(self, train):
        self.n = len(train["hp"])
        self.edges = {f: edges(train[f]) for f in FEATURES}
        self.nbins = {f: len(self.edges[f]) + 1 for f in FEATURES}
        self.ratio = {f: counts(bin_of(self.edges[f], train[f]), self.nbins[f]) / self.n for f in FEATURES}
        p = prob(train)
        self.prediction_ratio = counts(prediction_bin(p), 10) / self.n
        self.positive = float(np.mean(p >= 0.5))
        half = 3.29 * math.sqrt(self.positive * (1 - self.positive) / 2000)
        self.positive_lower = max(self.positive - half, 0.0)
        self.positive_upper = min(self.positive + half, 1.0)


class Replay:
    """Per-pod bin counts of one minute of the replay: its rows, `repeat` times."""

    def __init__(self, ref: Reference, rows, repeat: int = 1):
        n = len(rows["hp"])
        self.n = n * repeat
        self.repeat = repeat
        self.pod_rows = [np.arange(n)[i::2] for i in range(len(PODS))]
        self.features = {f: bin_of(ref.edges[f], rows[f]) for f in FEATURES}
        self.nbins = ref.nbins
        p = prob(rows)
        self.pred_bins = prediction_bin(p)
        self.positive = p >= 0.5

    def _rows(self, pod):
        return slice(None) if pod is None else self.pod_rows[pod]

    def feature_counts(self, f, pod=None):
        return counts(self.features[f][self._rows(pod)], self.nbins[f]) * self.repeat

    def prediction_counts(self, pod=None):
        return counts(self.pred_bins[self._rows(pod)], 10) * self.repeat

    def positives(self, pod=None):
        return int(self.positive[self._rows(pod)].sum()) * self.repeat


def labels(name: str, **kv) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in kv.items())
    return f"{name}{{{inner}}}"


def counter_values(per_minute: list[int]) -> str:
    """promtool's expanding notation for a counter that grows by per_minute[i] in minute i+1."""
    out, value, i = [], 0, 0
    out.append("0")
    while i < len(per_minute):
        j = i
        while j < len(per_minute) and per_minute[j] == per_minute[i]:
            j += 1
        step, run = per_minute[i], j - i
        first = value + step
        out.append(f"{first}+{step}x{run - 1}" if run > 1 else f"{first}")
        value += step * run
        i = j
    return " ".join(out)


def gauge_values(v: float, minutes: int) -> str:
    return f"{v!r}x{minutes}"


def pod_labels(pod: int, version: str) -> dict:
    name, instance = PODS[pod]
    return {**TARGET, "pod": name, "instance": instance, "version": version}


def input_series(ref: Reference, phases, version=VERSION, pods=(0, 1), minutes=None):
    """Series for `phases`, a list of (minutes, Replay or None), per pod of `pods`."""
    total = minutes or sum(m for m, _ in phases)
    series = []

    def per_minute(fn):
        out = []
        for m, replay in phases:
            out += [fn(replay) if replay is not None else 0] * m
        return out + [0] * (total - len(out))

    for pod_index in pods:
        lab = pod_labels(pod_index, version)
        pod = pod_index if len(pods) > 1 else None   # a lone pod scores every row
        for f in FEATURES:
            for b in range(ref.nbins[f]):
                values = per_minute(lambda r: int(r.feature_counts(f, pod)[b]))
                series.append((labels("legendary_feature_bin_total", **lab, feature=f, bin=b), counter_values(values)))
                series.append((labels("legendary_feature_reference_ratio", **lab, feature=f, bin=b),
                               gauge_values(float(ref.ratio[f][b]), total)))
        for b in range(10):
            values = per_minute(lambda r: int(r.prediction_counts(pod)[b]))
            series.append((labels("legendary_prediction_bin_total", **lab, bin=b), counter_values(values)))
            series.append((labels("legendary_prediction_reference_ratio", **lab, bin=b),
                           gauge_values(float(ref.prediction_ratio[b]), total)))
        series.append((labels("legendary_prediction_positive_total", **lab),
                       counter_values(per_minute(lambda r: r.positives(pod)))))
        for name, v in [("legendary_training_positive_ratio", ref.positive),
                        ("legendary_training_positive_ratio_lower", ref.positive_lower),
                        ("legendary_training_positive_ratio_upper", ref.positive_upper)]:
            series.append((labels(name, **lab), gauge_values(v, total)))
    return series


def window_counts(phases, t: int, fn):
    """Sum of fn(replay) over the minutes of the window (t - WINDOW, t]."""
    acc, start = None, 0
    for m, replay in phases:
        lo, hi = max(start, t - WINDOW), min(start + m, t)
        if hi > lo and replay is not None:
            c = fn(replay) * (hi - lo)
            acc = c if acc is None else acc + c
        start += m
    return acc


def firing(phases, ref: Reference, at: int) -> list[tuple[str, str | None, float]]:
    """The alerts firing at minute `at`: condition true at every evaluation of the last FOR_MINUTES."""
    def conditions(t):
        out = {}
        rows = window_counts(phases, t, lambda r: r.n)
        if not rows:
            return out
        for f in FEATURES:
            c = window_counts(phases, t, lambda r: r.feature_counts(f))
            for alert, value, threshold in [("LegendaryFeatureDriftPSI", psi(c, ref.ratio[f]), PSI_ALERT),
                                            ("LegendaryFeatureDriftJS", js(c, ref.ratio[f]), JS_ALERT)]:
                if abs(value - threshold) < 1e-9:
                    raise SystemExit(f"{alert} {f} at {t}m: {value!r} is too close to its threshold")
                if value >= threshold and rows >= MIN_ROWS:
                    out[(alert, f)] = value
        rate = window_counts(phases, t, lambda r: r.positives()) / rows
        if (rate < ref.positive_lower or rate > ref.positive_upper) and rows >= MIN_ROWS:
            out[("LegendaryPositiveRateOutOfRange", None)] = rate
        return out

    now = conditions(at)
    result = []
    for key, value in now.items():
        # promtool evaluates every minute from 0: firing once active for FOR_MINUTES.
        if all(key in conditions(t) for t in range(at - FOR_MINUTES, at)):
            result.append((key[0], key[1], value))
    return result


def load_annotations(path: Path) -> dict[str, dict[str, str]]:
    """The alerts' annotation templates, from the PrometheusRule itself."""
    doc = yaml.safe_load(path.read_text())
    return {r["alert"]: r.get("annotations", {}) for g in doc["spec"]["groups"] for r in g["rules"] if "alert" in r}


TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render(template: str, lab: dict, value: float) -> str:
    """Prometheus's template expansion for the two forms the rules use:
    {{ $labels.NAME }} and {{ printf "FMT" $value }} (FMT a %.Nf, which Go and
    Python round alike)."""
    def one(m):
        expr = m.group(1)
        if expr.startswith("$labels."):
            return lab[expr[len("$labels."):]]
        fm = re.fullmatch(r'printf "(%\.\d+f)" \$value', expr)
        if fm:
            return fm.group(1) % value
        raise SystemExit(f"template {expr!r}: not rendered by this script; teach render() or simplify it")
    return TEMPLATE.sub(one, template)


def yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Test:
    """One entry of a promtool test file's `tests:`, written as YAML lines."""

    def __init__(self, ref: Reference, title: str, phases, minutes: int):
        self.ref, self.phases, self.minutes = ref, phases, minutes
        self.series = input_series(ref, phases, minutes=minutes)
        self.lines = [f"  # {title}"]
        self.exprs, self.alerts = [], []

    def samples(self, expr: str, at: int, expected: list[tuple[str, float]], note: str = ""):
        """expected: (series as `labels()` writes it, value) pairs; [] for no sample.
        round() drops the metric name: its series are written `{label="value", ...}`."""
        if note:
            self.exprs.append(f"      # {note}")
        self.exprs += [f"      - expr: {yaml_str(expr)}", f"        eval_time: {at}m"]
        if not expected:
            self.exprs.append("        exp_samples: []")
            return
        self.exprs.append("        exp_samples:")
        for series, value in expected:
            self.exprs += [f"          - labels: {yaml_str(series)}", f"            value: {value!r}"]

    def drift(self, at: int):
        """PSI and JS of every feature, prediction PSI and positive rate, version 7, at minute `at`."""
        ref, phases, lab = self.ref, self.phases, {**TARGET, "version": VERSION}
        for record, fn in [("legendary:feature_psi:1h", psi), ("legendary:feature_js:1h", js)]:
            expected = []
            for f in FEATURES:
                c = window_counts(phases, at, lambda r: r.feature_counts(f))
                expected.append((labels("", **lab, feature=f),
                                 safe_round(fn(c, ref.ratio[f]), f"{record} {f} at {at}m")))
            self.samples(f"round({record}{{version=\"{VERSION}\"}}, {ROUND!r})", at, expected)
        rows = window_counts(phases, at, lambda r: r.n)
        pos = window_counts(phases, at, lambda r: r.positives())
        pred = window_counts(phases, at, lambda r: r.prediction_counts())
        for record, value in [("legendary:prediction_positive:ratio1h", pos / rows),
                              ("legendary:prediction_psi:1h", psi(pred, ref.prediction_ratio))]:
            self.samples(f"round({record}{{version=\"{VERSION}\"}}, {ROUND!r})", at,
                         [(labels("", **lab), safe_round(value, f"{record} at {at}m"))])
        self.fired = getattr(self, "fired", {})
        self.fired[at] = firing(phases, ref, at)
        for alert in ALERTS:
            fired = sorted(((f, v) for a, f, v in self.fired[at] if a == alert), key=lambda x: x[0] or "")
            self.alerts += [f"      - alertname: {alert}", f"        eval_time: {at}m"]
            if not fired:
                self.alerts.append("        exp_alerts: []")
                continue
            self.alerts.append("        exp_alerts:")
            for f, v in fired:
                self.alerts += ["          - exp_labels:", "              severity: warning"]
                self.alerts += [f"              {k}: {yaml_str(val)}" for k, val in lab.items()]
                if f is not None:
                    self.alerts.append(f"              feature: {f}")
                self.alerts.append("            exp_annotations:")
                alert_labels = {**lab, **({"feature": f} if f else {})}
                self.alerts += [f"              {k}: {yaml_str(render(t, alert_labels, v))}"
                                for k, t in sorted(ANNOTATIONS[alert].items())]

    def text(self) -> str:
        out = self.lines + ["  - interval: 1m", "    input_series:"]
        for series, values in self.series:
            out += [f"      - series: {yaml_str(series)}", f"        values: {yaml_str(values)}"]
        out += ["    promql_expr_test:"] + self.exprs + ["    alert_rule_test:"] + self.alerts
        return "\n".join(out) + "\n"


ANNOTATIONS: dict[str, dict[str, str]] = {}
ALERTS = ["LegendaryFeatureDriftPSI", "LegendaryFeatureDriftJS", "LegendaryPositiveRateOutOfRange"]


def header(rules: str) -> str:
    return "\n".join([
        "# Generated by scripts/drift-rules-tests.py from data/pokemon: do not edit.",
        "# scripts/check-drift-rules.sh fails when this file is not what the script writes.",
        f"rule_files: [{rules}]",
        "evaluation_interval: 1m",
        # The recording rules first, then the alerts on what they just recorded, as the
        # expected annotations assume. Without an order promtool evaluates the groups in a
        # random one (a map's), and an alert evaluated first reads the previous minute's PSI:
        # its annotation then said 0.28 where 0.29 was expected, now and then.
        "group_eval_order: [legendary-drift.rules, legendary-drift.alerts]",
        "tests:",
    ]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "testdata" / "drift-rules")
    parser.add_argument("--rules", default="rules.yaml")
    parser.add_argument("--source", type=Path, default=RULES, help="the PrometheusRule (annotations are read from it)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    ANNOTATIONS.update(load_annotations(args.source))

    train = load(range(1, 9))
    ref = Reference(train)
    generation = np.concatenate([[g] * len(load([g])["hp"]) for g in range(1, 9)])

    # Replay A: half of each generation's rows, drawn without replacement.
    rng = np.random.default_rng(SEED)
    sample = []
    for g in range(1, 9):
        rows = np.flatnonzero(generation == g)
        sample += sorted(rng.choice(rows, size=len(rows) // 2, replace=False).tolist())
    replay_a = Replay(ref, take(train, np.array(sample)))
    # Replay B: generation 9, four times a minute (512 rows, about A's 551,
    # so the hour after the change is not outweighed by the hour before).
    replay_b = Replay(ref, load([9]), repeat=4)
    # Replay C: every training row with special_attack x 1.25; total is the
    # sum of the six stats, so it moves too; the other five do not at all.
    shifted = dict(train)
    shifted["special_attack"] = train["special_attack"] * 1.25
    shifted["total"] = sum(shifted[k] for k in STATS)
    replay_c = Replay(ref, shifted)

    args.out.mkdir(parents=True, exist_ok=True)

    # --- A: two hours of replay A; a stale version and a small canary beside it.
    test = Test(ref, "Replay A: half of generations 1-8 (training proportions), for two hours.",
                [(120, replay_a)], 120)
    # Version 6: counters exposed but standing still (a pod that hot-reloaded
    # away from it keeps exposing them): no rows, so no share, PSI or alert.
    for series, values in input_series(ref, [(120, None)], version="6", pods=(0,)):
        if "_bin_total{" in series or "_positive_total{" in series:
            values = "1000x120"
        test.series.append((series, values))
    # Version 8: a canary on pod b that scored generation 9 once, at minute
    # 30: 128 rows, a PSI like replay B's, under the 500 rows the alerts need.
    canary = Replay(ref, load([9]))
    test.series += input_series(ref, [(29, None), (1, canary), (90, None)], version="8", pods=(1,))
    for at in (60, 120):
        test.drift(at)
        canary_psi = [(labels("", **TARGET, version="8", feature=f),
                       safe_round(psi(canary.feature_counts(f), ref.ratio[f]), f"canary {f}")) for f in FEATURES]
        test.samples(f'round(legendary:feature_psi:1h{{version!="{VERSION}"}}, {ROUND!r})', at,
                     canary_psi if at == 60 else [],
                     "Only the canary has a PSI, and only while its 128 rows are in the window.")
        test.samples('legendary:feature_rows:increase1h{version!="7"}', at,
                     [(labels("legendary:feature_rows:increase1h", **TARGET, version=v, feature=f),
                       float(canary.n if (v, at) == ("8", 60) else 0)) for v in ("6", "8") for f in FEATURES])
    (args.out / "replay-a.test.yaml").write_text(header(args.rules) + "\n" + test.text())
    report = {"A": (replay_a, test)}

    # --- B and C: an hour of A, then the replay. Checked at 60m (window all
    # A), 120m (window all replay: the PSI of the replay itself) and 135m
    # (15 minutes later).
    for key, replay, title in [
            ("B", replay_b, "Replay B: an hour of replay A, then generation 9 alone."),
            ("C", replay_c, "Replay C: an hour of replay A, then generations 1-8 with special_attack x 1.25.")]:
        test = Test(ref, title, [(60, replay_a), (75, replay)], 135)
        for at in (60, 120, 135):
            test.drift(at)
        (args.out / f"replay-{key.lower()}.test.yaml").write_text(header(args.rules) + "\n" + test.text())
        report[key] = (replay, test)

    if not args.quiet:
        print(f"reference: generations 1-8, {ref.n} rows; stand-in positive rate {ref.positive:.4f}, "
              f"interval [{ref.positive_lower:.4f}, {ref.positive_upper:.4f}]")
        print("rows a minute: " + ", ".join(f"{k} {r.n}" for k, (r, _) in report.items()))
        print(f"{'':16}" + "".join(f"{'PSI ' + k:>9}{'JS ' + k:>8}" for k in report))
        for f in FEATURES:
            print(f"{f:16}" + "".join(f"{psi(r.feature_counts(f), ref.ratio[f]):9.4f}"
                                       f"{js(r.feature_counts(f), ref.ratio[f]):8.4f}" for r, _ in report.values()))
        print(f"{'predictions':16}" + "".join(f"{psi(r.prediction_counts(), ref.prediction_ratio):9.4f}{'':8}"
                                              for r, _ in report.values()))
        print(f"{'positive rate':16}" + "".join(f"{r.positives() / r.n:9.4f}{'':8}" for r, _ in report.values()))
        for k, (_, test) in report.items():
            for at, fired in test.fired.items():
                print(f"{k} firing at {at}m: " + (", ".join(
                    f"{a}{'(' + f + ')' if f else ''} {v:.3f}" for a, f, v in fired) or "none"))
            if k != "A":
                first = {}
                for t in range(60, 136):
                    for a, f, _ in firing(test.phases, ref, t):
                        first.setdefault((a, f), t)
                print(f"{k} first firing (minutes after the change at 60m): " + ", ".join(
                    f"{a}{'(' + f + ')' if f else ''} +{t - 60}" for (a, f), t in sorted(first.items(), key=lambda x: x[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
