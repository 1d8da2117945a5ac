#!/usr/bin/env python3
"""scikit-learn tree models saved by MLflow's Python client, with scikit-learn's own answers.

Usage: .venv/bin/python scripts/sklearn-fixtures.py OUT_DIR
(the test venv has scikit-learn and skops; `scripts/mlflow-venv.sh` creates it).

Writes one MLflow model directory per case under OUT_DIR (`mlflow.sklearn.save_model` in the
skops, pickle and cloudpickle formats, with and without a signature), plus a 0.24-layout pickle:
a modern forest rewritten with the 7-field node records, class counts in `value`, protocol 2
and `numpy.core` spellings, as a team's old Production model is. Each directory gets
`expected.json`: the rows (all 1,232 of `data/pokemon`, rows with fractional stats, and rows on
and just past the forest's thresholds) and scikit-learn's `predict` (and `predict_proba` for
classifiers) on them. legendary's ignored tests (`tests/sklearn.rs`) compare against it.
"""

import copyreg
import glob
import json
import os
import pickle
import shutil
import sys

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import Tree

STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "pokemon")
TRUSTED = ["sklearn.tree._tree.Tree"]


def load():
    frames = [pd.read_csv(f) for f in sorted(glob.glob(os.path.join(DATA, "generation-*.csv")))]
    return pd.concat(frames, ignore_index=True)


def thresholds(model):
    trees = getattr(model, "estimators_", [model])
    out = []
    for t in trees:
        tree = t.tree_
        for f, th in zip(tree.feature, tree.threshold):
            if f >= 0:
                out.append((int(f), float(th)))
    return out


def probe_rows(model, base, rng):
    """Rows with fractional stats, and rows exactly on a threshold and one f64 step past it
    (which float32 rounds back onto the threshold: scikit-learn sends those left)."""
    rows = [list(r) for r in rng.uniform(1, 255, size=(300, 6))]
    for f, th in thresholds(model)[:400]:
        for x in (th, np.nextafter(th, np.inf), th + 1e-9, np.nextafter(np.float32(th), np.float32(np.inf))):
            row = list(base[len(rows) % len(base)])
            row[f] = float(x)
            rows.append(row)
    return rows


def expected(model, x_all, columns, path):
    frame = pd.DataFrame(x_all, columns=columns)
    has_names = hasattr(model, "feature_names_in_")
    x = frame if has_names else frame.to_numpy()
    out = {"columns": columns, "rows": [list(map(float, r)) for r in x_all]}
    pred = model.predict(x)
    out["predict"] = [p.item() if hasattr(p, "item") else p for p in pred]
    if hasattr(model, "predict_proba"):
        out["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        out["predict_proba"] = model.predict_proba(x).tolist()
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(out, f)


def save(model, path, fmt, x_frame, signature):
    if os.path.exists(path):
        shutil.rmtree(path)
    kwargs = {"serialization_format": fmt}
    if fmt == "skops":
        kwargs["skops_trusted_types"] = TRUSTED
    if signature:
        # Column-based, even for a model fitted on an array (it then has no feature_names_in_).
        kwargs["signature"] = infer_signature(x_frame, model.predict(x_frame.to_numpy()))
    mlflow.sklearn.save_model(model, path, **kwargs)


def legacy_state(tree):
    """Tree.__getstate__ as scikit-learn 0.24 wrote it: 7-field nodes, class counts."""
    state = tree.__getstate__()
    nodes = state["nodes"]
    old = np.dtype({
        "names": ["left_child", "right_child", "feature", "threshold", "impurity",
                  "n_node_samples", "weighted_n_node_samples"],
        "formats": [np.intp, np.intp, np.intp, np.float64, np.float64, np.intp, np.float64],
        "offsets": [0, 8, 16, 24, 32, 40, 48],
        "itemsize": 56,
    })
    rewritten = np.zeros(len(nodes), dtype=old)
    for name in old.names:
        rewritten[name] = nodes[name]
    counts = state["values"] * nodes["weighted_n_node_samples"][:, None, None]
    return {"max_depth": state["max_depth"], "node_count": state["node_count"],
            "nodes": rewritten, "values": counts}


def write_legacy(model, path):
    """`model.pkl` as MLflow 1.x wrote a scikit-learn 0.24 forest: protocol 2, no signature."""
    def estimator(obj):
        state = obj.__getstate__()
        state["_sklearn_version"] = "0.24.2"
        return (copyreg.__newobj__, (type(obj),), state)

    class Legacy(pickle.Pickler):
        dispatch_table = copyreg.dispatch_table.copy()
        dispatch_table[Tree] = lambda t: (Tree, (t.n_features, t.n_classes, t.n_outputs), legacy_state(t))
        dispatch_table[RandomForestClassifier] = estimator
        dispatch_table[DecisionTreeClassifier] = estimator

    import io
    buf = io.BytesIO()
    Legacy(buf, protocol=2).dump(model)
    # numpy 1.x spellings; protocol 2's GLOBAL names end in newlines, so lengths may change.
    data = buf.getvalue().replace(b"numpy._core.", b"numpy.core.")
    with open(os.path.join(path, "model.pkl"), "wb") as f:
        f.write(data)
    mlmodel = os.path.join(path, "MLmodel")
    with open(mlmodel) as f:
        text = f.read()
    text = text.replace(f"sklearn_version: {__import__('sklearn').__version__}", "sklearn_version: 0.24.2")
    with open(mlmodel, "w") as f:
        f.write(text)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    df = load()
    x_frame = df[STATS].astype(float)
    x = x_frame.to_numpy()
    legendary = (df["legendary"].astype(str) == "True").to_numpy()
    category = df["category"].astype(str).to_numpy()
    generation = df["generation"].astype(int).to_numpy()
    number = df["number"].astype(float).to_numpy()
    rng = np.random.default_rng(16)

    cases = [
        # name, estimator, target, fit on a DataFrame (feature_names_in_), format, signature
        ("rf-bool-skops", RandomForestClassifier(n_estimators=100, random_state=1), legendary, True, "skops", True),
        ("rf-bool-pickle", RandomForestClassifier(n_estimators=100, random_state=2), legendary, False, "pickle", False),
        ("rf-bool-cloudpickle", RandomForestClassifier(n_estimators=100, max_depth=8, random_state=3), legendary, True, "cloudpickle", True),
        ("rf-int-cloudpickle-nosig", RandomForestClassifier(n_estimators=30, random_state=4), legendary.astype(int), False, "cloudpickle", False),
        ("et-str-skops", ExtraTreesClassifier(n_estimators=50, random_state=5), category, True, "skops", True),
        ("et-str-pickle", ExtraTreesClassifier(n_estimators=50, random_state=6), category, False, "pickle", True),
        ("dt-int-skops", DecisionTreeClassifier(random_state=7), generation, True, "skops", False),
        ("dt-int-cloudpickle", DecisionTreeClassifier(max_depth=6, random_state=8), generation, False, "cloudpickle", True),
        ("rfr-skops", RandomForestRegressor(n_estimators=40, random_state=9), number, True, "skops", True),
        ("etr-pickle", ExtraTreesRegressor(n_estimators=40, random_state=10), number, False, "pickle", False),
        ("dtr-cloudpickle", DecisionTreeRegressor(random_state=11), number, True, "cloudpickle", True),
    ]
    for name, model, y, frame, fmt, signature in cases:
        x_train = x_frame if frame else x
        model.fit(x_train, y)
        path = os.path.join(out, name)
        save(model, path, fmt, x_frame, signature)
        rows = list(map(list, x)) + probe_rows(model, x, rng)
        expected(model, rows, STATS, path)
        print(name, file=sys.stderr)

    # The 0.24 layout: scikit-learn's answers come from the modern model it was rewritten from.
    model = RandomForestClassifier(n_estimators=100, random_state=12).fit(x, legendary)
    path = os.path.join(out, "rf-legacy-0.24-pickle")
    save(model, path, "pickle", x_frame, False)
    write_legacy(model, path)
    expected(model, list(map(list, x)) + probe_rows(model, x, rng), STATS, path)
    print("rf-legacy-0.24-pickle", file=sys.stderr)


if __name__ == "__main__":
    main()
