#!/usr/bin/env python3
"""Compare legendary's forest with scikit-learn's forest, HistGradientBoosting and XGBoost on
legendary's own cross-validation folds.

Run it through `scripts/compare-learners.sh`, which makes the pinned venv this needs.

For every seed, `legendary train --seed S --output TMP` writes a model directory whose
`cv_predictions.csv` holds, per Pokémon, the columns the forest sees, the row's test fold in the
row-level stratified 5-fold CV (`fold`) and in the grouped CV (`group_fold`, identical stat lines
in one fold), and legendary's out-of-fold probability and decision threshold in each. Every
other learner is then fitted on exactly those folds and columns, and every learner, legendary
included, is scored the same way:

- decision threshold: legendary's rule, for every learner. Inside each fold's training part, a
  stratified inner 5-fold gives out-of-fold probabilities; the threshold is the value of
  0.05, 0.10, ..., 0.95 with the best F1 on them (ties go to the one nearest 0.5), and a row is
  called legendary when its probability is strictly above it. Legendary's own probabilities and
  thresholds are the ones in the CSV (calibrated when the model is; its inner folds differ from
  scikit-learn's, the rule is the same); the other learners' probabilities are uncalibrated;
- ROC AUC, F1 and Brier score: computed per test fold, then averaged over the folds (as
  legendary reports CV metrics); ECE: expected calibration error over all out-of-fold
  probabilities of one CV, 10 equal-width bins;
- each table cell is the mean ± standard deviation (ddof 1) over the seeds of those values.

The scikit-learn forest runs with legendary's settings (read from the model directory) and, over
a small grid (max_features sqrt / 0.5 / all, min_samples_leaf 1 / 2 / 5, legendary's number of
trees), tuned by inner CV: in each outer fold, the grid setting whose inner out-of-fold F1 (at
its own best threshold) is highest is refitted on the fold's training part. Every grid setting is
also reported on its own; "scikit-learn's best forest" is, for each metric, the forest setting
with the best mean, picked on the test folds themselves: an optimistic bar for scikit-learn,
so a harder one for legendary.

Options: --seeds 10 (seeds 1..10) or a list "1,7,42" or a range "1-10"; --legendary PATH (else
target/release/legendary, built with cargo first unless --no-build); --extra-args "..." passed to
`legendary train`; --learners to run a subset; --jobs; --json PATH for every number as JSON
(rewritten after each seed); --from-json PATH prints the report of such a file again.
The training runs see no MLFLOW_* or LEGENDARY_* environment variable: nothing is logged to
MLflow, and only the defaults and --extra-args set the model.
"""

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
HEAD = ["number", "name", "generation", "legendary"]
TAIL = ["fold", "group_fold", "proba", "threshold", "proba_grouped", "threshold_grouped"]
# The two cross-validations: name -> (fold column, probability column, threshold column).
CVS = {
    "row": ("fold", "proba", "threshold"),
    "grouped": ("group_fold", "proba_grouped", "threshold_grouped"),
}
METRICS = ["roc_auc", "f1", "brier", "ece"]
# Candidate thresholds exactly as legendary computes them (k * 0.05, float noise included).
THRESHOLDS = np.array([k * 0.05 for k in range(1, 20)])
GRID = [(mf, leaf) for mf in ("sqrt", 0.5, None) for leaf in (1, 2, 5)]
LEARNER_GROUPS = ["rf", "rf-grid", "hgb", "xgb"]
# Asked for by name only: scikit-learn trees grown the way smartcore's forest differs (not
# counted among "scikit-learn's best forest").
OPTIONAL_GROUPS = ["rf-variants"]


class Fail(Exception):
    """An error with a message for the user; main() prints it and exits 2."""


# --------------------------------------------------------------------------------------------
# Running legendary and reading what it wrote


def parse_seeds(text):
    """`10` -> 1..10, `1-10` -> 1..10, `1,7,42` -> [1, 7, 42]."""
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        elif "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            seeds = list(range(int(lo), int(hi) + 1))
        else:
            seeds = list(range(1, int(text) + 1))
    except ValueError:
        raise Fail(f"--seeds {text!r}: expected a count (10), a list (1,7,42) or a range (1-10)")
    if not seeds:
        raise Fail(f"--seeds {text!r} names no seed")
    return seeds


def legendary_binary(args):
    """The binary to train with: --legendary, or target/release/legendary (built first)."""
    if args.legendary:
        path = os.path.abspath(args.legendary)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Fail(f"--legendary {args.legendary}: no executable file there")
        return path
    # cargo runs in ROOT, so a relative CARGO_TARGET_DIR is relative to it.
    target = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR") or "target")
    path = os.path.join(target, "release", "legendary")
    if not args.no_build:
        if shutil.which("cargo") is None:
            if not os.path.exists(path):
                raise Fail(f"no cargo to build {path}; build it or pass --legendary PATH")
            print("compare-learners: no cargo on PATH, using the existing " + path, file=sys.stderr)
        else:
            print("compare-learners: cargo build --release", file=sys.stderr)
            if subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT).returncode:
                raise Fail("cargo build --release failed (see above)")
    if not os.path.exists(path):
        raise Fail(f"{path} does not exist: build it (cargo build --release) or pass --legendary")
    return path


def train(binary, seed, extra, workdir):
    """Runs `legendary train --seed SEED --output DIR EXTRA...` in the repo; returns DIR."""
    out = os.path.join(workdir, f"seed-{seed}")
    cmd = [binary, "train", "--seed", str(seed), "--output", out, *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LEGENDARY_"))}
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise Fail(f"{shlex.join(cmd)} exited with {proc.returncode}:\n{tail}")
    print(f"compare-learners: seed {seed}: legendary train {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    return out


def read_params(model_dir):
    """The forest settings recorded in the model directory (model.json, else metrics.json)."""
    for name, get in (("model.json", lambda d: d.get("params")),
                      ("metrics.json", lambda d: d.get("config", {}).get("params"))):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                params = get(json.load(f))
            if params:
                missing = {"n_trees", "min_samples_leaf", "min_samples_split"} - params.keys()
                if missing:
                    raise Fail(f"{path}: params lack {', '.join(sorted(missing))}")
                return params
    raise Fail(f"{model_dir} has no model.json or metrics.json with the forest's params")


@dataclass
class Run:
    """One seed's data as legendary exported it."""

    seed: int
    x: np.ndarray  # the forest's columns
    y: np.ndarray  # 1 = legendary
    features: list
    folds: dict  # cv name -> test fold index of every row (0..k-1)
    proba: dict  # cv name -> legendary's out-of-fold probability
    threshold: dict  # cv name -> threshold of the fold model that scored the row
    notes: list = field(default_factory=list)


def load_predictions(path, seed):
    """Reads and checks cv_predictions.csv: the columns, labels, folds and thresholds."""
    if not os.path.exists(path):
        raise Fail(f"{path} is missing: this legendary does not export cv_predictions.csv "
                   "(build one that does, or pass --legendary)")
    # pandas 3 reads back exactly the doubles legendary printed, so `proba > threshold`
    # decides here as it did there.
    df = pd.read_csv(path, dtype={"legendary": str}, keep_default_na=False)
    cols = list(df.columns)
    missing = [c for c in HEAD + TAIL if c not in cols]
    if missing:
        raise Fail(f"{path} lacks the column(s) {', '.join(missing)}; it has {', '.join(cols)}")
    start, end = cols.index("legendary") + 1, cols.index("fold")
    features = cols[start:end]
    if not features:
        raise Fail(f"{path}: no feature columns between 'legendary' and 'fold'")
    labels = df["legendary"].str.strip().str.lower()
    bad = sorted(set(labels) - {"true", "false"})
    if bad:
        raise Fail(f"{path}: 'legendary' must be true/false, found {bad[:5]}")
    y = (labels == "true").to_numpy().astype(int)
    try:
        x = df[features].astype(float).to_numpy()
        numeric = df[TAIL].astype(float)
    except ValueError as e:
        raise Fail(f"{path}: a feature or fold/probability column is not numeric ({e})")
    if np.isnan(x).any() or numeric.isna().any().any():
        raise Fail(f"{path}: empty or NaN values in the feature, fold or probability columns")
    run = Run(seed, x, y, features, {}, {}, {})
    for cv, (fold_col, proba_col, thr_col) in CVS.items():
        fold = numeric[fold_col].to_numpy()
        if not np.all(fold == np.round(fold)):
            raise Fail(f"{path}: '{fold_col}' is not an integer fold index")
        values = np.unique(fold)
        run.folds[cv] = np.searchsorted(values, fold)
        run.proba[cv] = numeric[proba_col].to_numpy()
        run.threshold[cv] = numeric[thr_col].to_numpy()
        for k in range(len(values)):
            test = run.folds[cv] == k
            if len(np.unique(y[test])) < 2 or len(np.unique(y[~test])) < 2:
                raise Fail(f"{path}: {fold_col} {values[k]:g} or its training part has one class")
            if len(np.unique(run.threshold[cv][test])) > 1:
                run.notes.append(f"{thr_col} varies within {fold_col} {values[k]:g}")
        if not ((run.proba[cv] >= 0) & (run.proba[cv] <= 1)).all():
            raise Fail(f"{path}: '{proba_col}' has values outside [0, 1]")
    if all(s in features for s in STATS):
        stats = df[STATS].astype(float)
        split = stats.assign(f=run.folds["grouped"]).groupby(STATS)["f"].nunique()
        if (split > 1).any():
            run.notes.append(f"{int((split > 1).sum())} identical stat line(s) span more than "
                             "one group_fold")
    return run


def check_against_metrics_json(run, model_dir, legendary_scores):
    """Notes (not errors) when the per-fold F1 / ROC AUC computed from cv_predictions.csv
    differ from those metrics.json reports (`cross_validation_rows`: the row-level CV,
    `cross_validation`: the grouped one)."""
    path = os.path.join(model_dir, "metrics.json")
    try:
        with open(path, encoding="utf-8") as f:
            metrics = json.load(f)
    except (OSError, ValueError):
        return
    for cv, key in (("row", "cross_validation_rows"), ("grouped", "cross_validation")):
        try:
            per_fold = metrics[key]["per_fold"]
            reported = {m: [fold[m] for fold in per_fold] for m in ("f1", "roc_auc")}
        except (KeyError, TypeError):
            continue
        for m, values in reported.items():
            ours = legendary_scores[cv]["per_fold"][m]
            if len(values) != len(ours) or not np.allclose(values, ours, rtol=0, atol=1e-9):
                run.notes.append(f"{cv} CV {m} from cv_predictions.csv differs from "
                                 f"metrics.json's {key}")


# --------------------------------------------------------------------------------------------
# Metrics and the threshold rule


def best_f1_threshold(y, proba):
    """Legendary's rule: the threshold of 0.05..0.95 (step 0.05) with the best F1 of
    `proba > t`; ties (within 1e-12) go to the one nearest 0.5. Rounded to 0.01 as it stores it."""
    pred = proba[None, :] > THRESHOLDS[:, None]
    tp = (pred & (y[None, :] == 1)).sum(axis=1)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(pred.sum(axis=1) + (y == 1).sum(), 1), 0.0)
    best_f1, best_t = -math.inf, 0.5
    for t, score in zip(THRESHOLDS, f1):
        if score > best_f1 + 1e-12 or (abs(score - best_f1) <= 1e-12
                                       and abs(t - 0.5) < abs(best_t - 0.5)):
            best_f1, best_t = score, t
    return round(best_t * 100) / 100, best_f1


def f1_score(y, pred):
    """F1 of boolean predictions (0 when nothing is predicted or nothing is positive)."""
    tp = int((pred & (y == 1)).sum())
    denominator = int(pred.sum()) + int((y == 1).sum())
    return 2 * tp / denominator if tp else 0.0


def ece(y, proba, bins=10):
    """Expected calibration error: 10 equal-width bins of the probability (1.0 in the last),
    the row-weighted mean of |mean probability - fraction legendary| over the bins."""
    index = np.minimum((proba * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.sum() * abs(proba[members].mean() - y[members].mean())
    return total / len(y)


def score_cv(y, folds, proba, threshold):
    """Per-fold ROC AUC, F1 and Brier (averaged over folds) and the pooled ECE of one CV."""
    per_fold = {"roc_auc": [], "f1": [], "brier": []}
    for k in range(folds.max() + 1):
        test = folds == k
        yt, pt = y[test], proba[test]
        per_fold["roc_auc"].append(float(roc_auc_score(yt, pt)))
        per_fold["f1"].append(f1_score(yt, pt > threshold[test]))
        per_fold["brier"].append(float(np.mean((pt - yt) ** 2)))
    scores = {m: float(np.mean(v)) for m, v in per_fold.items()}
    scores["ece"] = float(ece(y, proba))
    scores["per_fold"] = per_fold
    return scores


# --------------------------------------------------------------------------------------------
# The learners


def rf_settings(params, width):
    """scikit-learn RandomForestClassifier arguments equivalent to legendary's forest params
    (mtry = features tried per split, absent or 0 meaning floor(sqrt(columns)))."""
    mtry = params.get("mtry") or math.isqrt(width)
    return {
        "n_estimators": int(params["n_trees"]),
        "max_features": min(int(mtry), width),
        "min_samples_leaf": int(params["min_samples_leaf"]),
        "min_samples_split": int(params["min_samples_split"]),
        "max_depth": params.get("max_depth"),
    }


HGB_TUNED = {"learning_rate": 0.05, "max_iter": 300, "max_leaf_nodes": 15,
             "min_samples_leaf": 10, "l2_regularization": 1.0}
XGB_SETTINGS = {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 4, "subsample": 0.8,
                "colsample_bytree": 0.8, "min_child_weight": 1, "reg_lambda": 1.0,
                "tree_method": "hist"}


def describe(kwargs):
    """`a=1, b=2` for the table."""
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


class BootstrapForest:
    """A forest of scikit-learn trees with two of smartcore's choices as switches: a
    class-stratified bootstrap (each class resampled to its own size, as smartcore's
    `sample_with_replacement`) or scikit-learn's plain one, and hard votes (the share of trees
    voting legendary, as smartcore's forest) or soft ones (the mean of leaf probabilities).
    What is left between it and legendary is smartcore's tree growing itself."""

    def __init__(self, n_estimators, max_features, min_samples_leaf, stratified, hard, seed):
        self.n_estimators, self.max_features = n_estimators, max_features
        self.min_samples_leaf, self.stratified, self.hard = min_samples_leaf, stratified, hard
        self.seed = seed

    def fit(self, x, y):
        rng = np.random.default_rng(self.seed)
        n = len(y)
        self.trees = []
        for _ in range(self.n_estimators):
            counts = np.zeros(n)
            if self.stratified:
                for c in (0, 1):
                    idx = np.flatnonzero(y == c)
                    np.add.at(counts, idx[rng.integers(0, len(idx), len(idx))], 1)
            else:
                np.add.at(counts, rng.integers(0, n, n), 1)
            keep = counts > 0
            tree = DecisionTreeClassifier(max_features=self.max_features,
                                          min_samples_leaf=self.min_samples_leaf,
                                          random_state=int(rng.integers(1 << 31)))
            self.trees.append(tree.fit(x[keep], y[keep], sample_weight=counts[keep]))
        return self

    def predict_proba(self, x):
        p = np.zeros(len(x))
        for tree in self.trees:
            classes = list(tree.classes_)
            q = tree.predict_proba(x)[:, classes.index(1)] if 1 in classes else np.zeros(len(x))
            p += (q > 0.5) if self.hard else q
        p /= len(self.trees)
        return np.column_stack([1 - p, p])


def learner_configs(groups, params, width, seed):
    """(group, [(name, settings text, factory)]) for each selected learner group: the
    factories make fresh, seeded estimators."""
    rf = rf_settings(params, width)
    configs = []
    if "rf" in groups:
        configs.append(("rf", [("scikit-learn RF, legendary's settings", describe(rf),
                                lambda: RandomForestClassifier(**rf, random_state=seed, n_jobs=1))]))
    if "rf-grid" in groups:
        grid = []
        for mf, leaf in GRID:
            kw = {"n_estimators": rf["n_estimators"], "max_features": mf, "min_samples_leaf": leaf}
            grid.append((f"scikit-learn RF max_features={mf}, min_samples_leaf={leaf}", describe(kw),
                         lambda kw=kw: RandomForestClassifier(**kw, random_state=seed, n_jobs=1)))
        configs.append(("rf-grid", grid))
    if "hgb" in groups:
        configs.append(("hgb", [
            ("HistGradientBoosting, defaults", "scikit-learn defaults",
             lambda: HistGradientBoostingClassifier(random_state=seed)),
            ("HistGradientBoosting, tuned", describe(HGB_TUNED),
             lambda: HistGradientBoostingClassifier(**HGB_TUNED, random_state=seed)),
        ]))
    if "xgb" in groups:
        try:
            from xgboost import XGBClassifier
        except ImportError:
            raise Fail("xgboost is not installed: run through scripts/compare-learners.sh, "
                       "or leave xgb out of --learners")
        configs.append(("xgb", [("XGBoost", describe(XGB_SETTINGS),
                                 lambda: XGBClassifier(**XGB_SETTINGS, random_state=seed,
                                                       n_jobs=1, verbosity=0))]))
    if "rf-variants" in groups:
        variants = []
        for stratified in (False, True):
            for hard in (False, True):
                name = (f"sklearn trees, {'class-stratified' if stratified else 'plain'} "
                        f"bootstrap, {'hard' if hard else 'soft'} votes")
                kw = {"n_estimators": rf["n_estimators"], "max_features": rf["max_features"],
                      "min_samples_leaf": rf["min_samples_leaf"], "stratified": stratified,
                      "hard": hard}
                variants.append((name, describe(kw),
                                 lambda kw=kw: BootstrapForest(**kw, seed=seed)))
        configs.append(("rf-variants", variants))
    return configs


def fit_fold(factories, x, y, train, test, seed):
    """One outer fold for several estimators: for each, the inner stratified 5-fold over the
    training part gives out-of-fold probabilities and so the threshold, then the estimator is
    refitted on the whole training part and scores the test part.
    Returns [(test probabilities, threshold, inner out-of-fold F1 at that threshold)]."""
    xt, yt = x[train], y[train]
    inner = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(xt, yt))
    results = []
    for make in factories:
        oof = np.zeros(len(yt))
        for a, b in inner:
            oof[b] = make().fit(xt[a], yt[a]).predict_proba(xt[b])[:, 1]
        threshold, inner_f1 = best_f1_threshold(yt, oof)
        proba = make().fit(xt, yt).predict_proba(x[test])[:, 1]
        results.append((proba, threshold, inner_f1))
    return results


def evaluate_seed(run, params, groups, jobs):
    """Every learner's CV scores for one seed: {name: {"settings", "row", "grouped"}}."""
    configs = learner_configs(groups, params, run.x.shape[1], run.seed)
    tasks = []
    for g, (_, members) in enumerate(configs):
        for cv in CVS:
            for k in range(run.folds[cv].max() + 1):
                test = run.folds[cv] == k
                tasks.append((g, cv, k, np.flatnonzero(~test), np.flatnonzero(test)))
    outputs = Parallel(n_jobs=jobs)(
        delayed(fit_fold)([m[2] for m in configs[g][1]], run.x, run.y, train, test, run.seed)
        for g, _, _, train, test in tasks)

    n = len(run.y)
    arrays = {}  # (name, cv) -> (proba, threshold) over all rows
    tuned = {}  # cv -> (proba, threshold, chosen grid index per fold)
    for (g, cv, k, _, test), result in zip(tasks, outputs):
        group, members = configs[g]
        for (name, _, _), (proba, threshold, _) in zip(members, result):
            p, t = arrays.setdefault((name, cv), (np.zeros(n), np.zeros(n)))
            p[test], t[test] = proba, threshold
        if group == "rf-grid":
            p, t, chosen = tuned.setdefault(cv, (np.zeros(n), np.zeros(n), {}))
            best = max(range(len(result)), key=lambda i: (result[i][2], -i))
            p[test], t[test] = result[best][0], result[best][1]
            chosen[k] = members[best][0].removeprefix("scikit-learn RF ")

    scores = {}
    for group, members in configs:
        for name, settings, _ in members:
            scores[name] = {"settings": settings, "group": group}
            for cv in CVS:
                scores[name][cv] = score_cv(run.y, run.folds[cv], *arrays[(name, cv)])
        if group == "rf-grid":
            name = "scikit-learn RF, tuned by inner CV"
            scores[name] = {"settings": "grid below, chosen per outer fold by inner-CV F1",
                            "group": "rf-tuned"}
            for cv in CVS:
                p, t, chosen = tuned[cv]
                scores[name][cv] = score_cv(run.y, run.folds[cv], p, t)
                scores[name][cv]["chosen"] = [chosen[k] for k in sorted(chosen)]
    return scores


# --------------------------------------------------------------------------------------------
# Reporting


def mean_std(values):
    """Mean and sample standard deviation (0 for one value)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarise(per_seed, seeds):
    """{learner: {"settings", "group", "mean": {cv: {metric}}, "std": ..., "per_seed": ...}}."""
    summary = {}
    for name in per_seed[seeds[0]]:
        first = per_seed[seeds[0]][name]
        entry = {"settings": first["settings"], "group": first["group"],
                 "mean": {}, "std": {}, "per_seed": {}}
        for cv in CVS:
            entry["mean"][cv], entry["std"][cv] = {}, {}
            for m in METRICS:
                values = [per_seed[s][name][cv][m] for s in seeds]
                entry["mean"][cv][m], entry["std"][cv][m] = mean_std(values)
        entry["per_seed"] = {s: {cv: per_seed[s][name][cv] for cv in CVS} for s in seeds}
        summary[name] = entry
    return summary


def cell(entry, cv, metric):
    return f"{entry['mean'][cv][metric]:.4f} ± {entry['std'][cv][metric]:.4f}"


def main_table(summary, names):
    """One Markdown row per learner: the four metrics of each CV."""
    head = ["learner"] + [f"{cv} {label}" for cv in CVS
                          for label in ("ROC AUC", "F1", "Brier", "ECE")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in names:
        row = [f"**{name}**" if name == "legendary" else name]
        row += [cell(summary[name], cv, m) for cv in CVS for m in METRICS]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def chosen_counts(entry):
    """How often the inner-CV tuned forest chose each grid setting, over seeds and folds."""
    counts = {}
    for by_cv in entry["per_seed"].values():
        for cv in CVS:
            for setting in by_cv[cv].get("chosen", []):
                counts[setting] = counts.get(setting, 0) + 1
    total = sum(counts.values())
    return "; ".join(f"{setting} in {n} of {total} folds"
                     for setting, n in sorted(counts.items(), key=lambda kv: -kv[1]))


FOREST_GROUPS = ("rf", "rf-grid", "rf-tuned")
CLAIMS = [("row", "roc_auc"), ("row", "f1"), ("grouped", "roc_auc"), ("grouped", "f1")]


def best_forests(summary):
    """For each (cv, metric) of CLAIMS, the scikit-learn forest with the best mean."""
    forests = [n for n, e in summary.items() if e["group"] in FOREST_GROUPS]
    return {claim: max(forests, key=lambda n: summary[n]["mean"][claim[0]][claim[1]])
            for claim in CLAIMS} if forests else {}


def report(summary, seeds, data, params, best, notes):
    """The Markdown report. `data`: (rows, legendary rows, feature columns); `notes` maps a
    seed to what load_predictions noticed."""
    out = []
    rows, pos, features = data
    out.append(f"# legendary against other learners on legendary's folds\n\n"
               f"{rows} rows ({pos} legendary), {len(features)} columns "
               f"({', '.join(features)}); seeds {', '.join(map(str, seeds))}; "
               f"legendary's forest: {describe(params)}.\n\n"
               "Every learner is fitted on legendary's row-level folds (`fold`) and grouped "
               "folds (`group_fold`), with legendary's threshold rule: an inner stratified "
               "5-fold over each fold's training part, threshold = the value of 0.05..0.95 "
               "(step 0.05) with the best out-of-fold F1, ties nearest 0.5, legendary when "
               "probability > threshold. ROC AUC, F1 and Brier are per-fold values averaged "
               "over the folds; ECE is over all out-of-fold probabilities of the CV (10 "
               "equal-width bins). Each cell: mean ± sd over seeds.\n")
    main = ["legendary"] + [n for n, e in summary.items()
                            if n != "legendary" and e["group"] != "rf-grid"]
    out.append(main_table(summary, main) + "\n")
    settings = []
    for name in main:
        settings.append(f"- {name}: {summary[name]['settings']}")
        if summary[name]["group"] == "rf-tuned":
            settings[-1] += f" (chose {chosen_counts(summary[name])})"
    out.append("Settings (every scikit-learn and XGBoost model also gets random_state = the "
               "seed):\n\n" + "\n".join(settings) + "\n")
    grid = [n for n, e in summary.items() if e["group"] == "rf-grid"]
    if grid:
        trees = summary[grid[0]]["settings"].split(",")[0]
        out.append(f"scikit-learn RF grid, each setting on its own, {trees} (the inner-CV tuned "
                   "row chooses among these in every outer fold):\n")
        out.append(main_table(summary, grid) + "\n")
    if best:
        out.append("## legendary against scikit-learn's best forest\n\n"
                   "For each metric, the best scikit-learn forest setting above by mean over "
                   "seeds, chosen on the test folds themselves (optimistic for "
                   "scikit-learn).\n")
        lines = ["| metric | legendary | best scikit-learn forest | difference | seeds where "
                 "legendary >= it | not below |", "| --- | --- | --- | --- | --- | --- |"]
        for (cv, m), name in best.items():
            ours = [summary["legendary"]["per_seed"][s][cv][m] for s in seeds]
            theirs = [summary[name]["per_seed"][s][cv][m] for s in seeds]
            wins = sum(a >= b for a, b in zip(ours, theirs))
            diff = np.mean(ours) - np.mean(theirs)
            lines.append(f"| {cv} {m} | {np.mean(ours):.4f} | {np.mean(theirs):.4f} ({name}) | "
                         f"{diff:+.4f} | {wins}/{len(seeds)} | {'yes' if diff >= 0 else 'NO'} |")
        out.append("\n".join(lines) + "\n")
        out.append("Per seed, F1 of legendary minus F1 of that best forest:\n")
        f1_claims = [c for c in best if c[1] == "f1"]
        head = "| seed | " + " | ".join(
            f"{cv} F1 legendary | {cv} F1 best forest | difference" for cv, _ in f1_claims) + " |"
        lines = [head, "|" + " --- |" * (1 + 3 * len(f1_claims))]
        for s in seeds + ["mean"]:
            cells = [str(s)]
            for cv, m in f1_claims:
                if s == "mean":
                    a = np.mean([summary["legendary"]["per_seed"][t][cv][m] for t in seeds])
                    b = np.mean([summary[best[(cv, m)]]["per_seed"][t][cv][m] for t in seeds])
                else:
                    a = summary["legendary"]["per_seed"][s][cv][m]
                    b = summary[best[(cv, m)]]["per_seed"][s][cv][m]
                cells += [f"{a:.4f}", f"{b:.4f}", f"{a - b:+.4f}"]
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines) + "\n")
    lines = [f"seed {s}: {n}" for s, ns in notes.items() for n in ns]
    if lines:
        out.append("Notes on the export:\n\n" + "\n".join(f"- {n}" for n in lines) + "\n")
    return "\n".join(out)


def jsonable(value):
    """Turns numpy values and int dict keys into what json.dump takes."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_json(path, summary, seeds, run, params, extra, notes):
    """Every number of the report, per seed and fold too, as JSON."""
    best = best_forests(summary)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(jsonable({"seeds": seeds, "rows": len(run.y),
                            "legendary_positive": int(run.y.sum()), "features": run.features,
                            "legendary_params": params, "extra_args": extra,
                            "learners": summary,
                            "best_forest": {f"{cv} {m}": n for (cv, m), n in best.items()},
                            "notes": notes}), f, indent=1)


def report_from_json(path):
    """The report of a --json file, for the seeds it holds (all of them, or those a run that
    was stopped had finished)."""
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        seeds = [int(s) for s in saved["seeds"]]
        summary = saved["learners"]
        for entry in summary.values():
            entry["per_seed"] = {int(s): v for s, v in entry["per_seed"].items()}
        data = (saved["rows"], saved["legendary_positive"], saved["features"])
        notes = {int(s): v for s, v in saved.get("notes", {}).items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Fail(f"{path}: not a compare-learners --json file ({e})")
    return report(summary, seeds, data, saved["legendary_params"], best_forests(summary), notes)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--seeds", default="10", help="a count N (seeds 1..N), a list or a range")
    parser.add_argument("--legendary", help="the legendary binary (default: target/release/"
                        "legendary, built first)")
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build")
    parser.add_argument("--extra-args", default="", help="more arguments for legendary train")
    parser.add_argument("--learners", default=",".join(LEARNER_GROUPS),
                        help=f"a subset of {','.join(LEARNER_GROUPS)}, or also "
                        f"{','.join(OPTIONAL_GROUPS)} (scikit-learn trees with smartcore's "
                        "bootstrap and votes)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="folds fitted in parallel (default: the number of CPUs)")
    parser.add_argument("--json", metavar="PATH", help="also write every number to PATH")
    parser.add_argument("--from-json", metavar="PATH",
                        help="print the report of an earlier run's --json file (no training)")
    args = parser.parse_args()
    try:
        if args.from_json:
            print(report_from_json(args.from_json))
            return
        seeds = parse_seeds(args.seeds)
        groups = [g.strip() for g in args.learners.split(",") if g.strip()]
        unknown = sorted(set(groups) - set(LEARNER_GROUPS) - set(OPTIONAL_GROUPS))
        if unknown:
            raise Fail(f"--learners: unknown {', '.join(unknown)} (known: "
                       f"{', '.join(LEARNER_GROUPS + OPTIONAL_GROUPS)})")
        extra = shlex.split(args.extra_args)
        binary = legendary_binary(args)
        per_seed, params_seen, notes = {}, None, {}
        with tempfile.TemporaryDirectory(prefix="compare-learners-") as workdir:
            for seed in seeds:
                model_dir = train(binary, seed, extra, workdir)
                params = read_params(model_dir)
                run = load_predictions(os.path.join(model_dir, "cv_predictions.csv"), seed)
                ours = {"settings": describe({k: v for k, v in params.items() if k != "seed"}),
                        "group": "legendary"}
                for cv in CVS:
                    ours[cv] = score_cv(run.y, run.folds[cv], run.proba[cv], run.threshold[cv])
                check_against_metrics_json(run, model_dir, ours)
                started = time.monotonic()
                per_seed[seed] = {"legendary": ours,
                                  **evaluate_seed(run, params, groups, args.jobs)}
                notes[seed] = run.notes
                print(f"compare-learners: seed {seed}: other learners "
                      f"{time.monotonic() - started:.0f} s; legendary row F1 "
                      f"{ours['row']['f1']:.4f}, grouped F1 {ours['grouped']['f1']:.4f}",
                      file=sys.stderr)
                params_seen = {k: v for k, v in params.items() if k != "seed"}
                if args.json:  # after every seed, so that a long run leaves what it has
                    done = list(per_seed)
                    write_json(args.json, summarise(per_seed, done), done, run, params_seen,
                               extra, notes)
        summary = summarise(per_seed, seeds)
        data = (len(run.y), int(run.y.sum()), run.features)
        print(report(summary, seeds, data, params_seen, best_forests(summary), notes))
    except Fail as e:
        print(f"compare-learners: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
