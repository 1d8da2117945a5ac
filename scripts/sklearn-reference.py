#!/usr/bin/env python3
"""Reference numbers: scikit-learn's random forest on the bundled data, by stratified 5-fold CV.

Usage: .venv/bin/python scripts/sklearn-reference.py [--seeds 42,7,123]
(the test venv has scikit-learn through mlflow; `scripts/mlflow-venv.sh` creates it).

Prints mean CV ROC AUC and F1 (threshold 0.5) per seed for three column sets:
the original demo's six stats, the six plus total/min/spread, and the columns of
legendary's `regularity` feature set. docs/model.md quotes these numbers.
"""

import argparse
import glob
import os

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "pokemon")


def load():
    frames = [pd.read_csv(f) for f in sorted(glob.glob(os.path.join(DATA, "generation-*.csv")))]
    df = pd.concat(frames, ignore_index=True)
    stats = df[STATS].astype(float).to_numpy()
    legendary = (df["legendary"].astype(str) == "True").astype(int).to_numpy()
    return stats, legendary


def column_sets(v):
    s = np.sort(v, axis=1)
    total = v.sum(axis=1)
    spread = s[:, -1] - s[:, 0]
    distinct = np.array([len(set(row)) for row in v])
    largest_tie = np.array([np.unique(row, return_counts=True)[1].max() for row in v])
    regularity = [
        total, s[:, 0], s[:, 1], spread,
        (v % 5 == 0).sum(axis=1), (v % 10 == 0).sum(axis=1), distinct, largest_tie,
        (total % 20 == 0).astype(int),
    ]
    return {
        "demo (six stats, defaults, 100 trees)": (v, {}),
        "six stats + total, min, spread (defaults, 100 trees)": (
            np.column_stack([v, total, s[:, 0], spread]), {}),
        "regularity columns (200 trees, max_features 4)": (
            np.column_stack([v] + regularity), {"n_estimators": 200, "max_features": 4}),
    }


def cross_validate(x, y, seed, params):
    aucs, f1s = [], []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        forest = RandomForestClassifier(random_state=seed, **{"n_estimators": 100, **params})
        proba = forest.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        aucs.append(roc_auc_score(y[test], proba))
        f1s.append(f1_score(y[test], proba >= 0.5))
    return np.mean(aucs), np.mean(f1s)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,7,123")
    seeds = [int(s) for s in parser.parse_args().seeds.split(",")]
    v, y = load()
    print(f"{len(y)} rows, {y.sum()} legendary; stratified 5-fold CV, threshold 0.5")
    for name, (x, params) in column_sets(v).items():
        results = [cross_validate(x, y, seed, params) for seed in seeds]
        per_seed = "  ".join(f"{seed}: {auc:.4f}/{f1:.4f}" for seed, (auc, f1) in zip(seeds, results))
        mean_auc = np.mean([r[0] for r in results])
        mean_f1 = np.mean([r[1] for r in results])
        print(f"{name}\n  ROC AUC/F1 by seed  {per_seed}\n  mean ROC AUC {mean_auc:.4f}  F1 {mean_f1:.4f}")


if __name__ == "__main__":
    main()
